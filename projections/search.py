"""Search: which products, features, releases and decisions mention these words?

One full-text index (SQLite FTS5, in the views file) over ``search_documents``, whose rows
each belong to one entity and are of two sorts:

- the entity's **current text** (``entity_version`` 0): its title (a product's or a
  release's name) and its body: a product's vision, value proposition, target customers
  and strategy; a feature's problem, business value, benefit, and requirements with their
  acceptance criteria; a release's theme; a decision's context and options (names,
  descriptions, pros, cons). It is rewritten by each change that alters that text
  (:data:`TEXT_CHANGES`), so a renamed feature is found by its new title, not its old one.
- the **reason of each change** (``entity_version``: the change's): its rationale and
  evidence, kept for good, so what was said about an entity in the past stays findable
  ("which decisions mention the pilot?") under the entity's current title.

A query ranks documents with bm25, title words weighing most, then the body's, then the
reasons'; each entity is answered once, with the rank and snippet of its best document.

The documents follow the views: :func:`index` runs in the transaction that applies a batch
of changes, after the roadmap and the audit rows are written (it reads the entities'
current rows, and a decision's context and options from its proposal in the audit); a
rebuild writes the reasons with the other rows and the current texts at the end, then
builds the full-text index in one pass (:func:`finish_first_pass`). The index keeps no
copy of the text (``content=search_documents``): it is kept in step by hand, here.

In PostgreSQL the index is a ``tsvector`` column of ``search_documents``, made from the
row by the database, and ranking and snippets are :mod:`projections.pg_search`'s; the
documents, the query syntax and the answers' shape are the same.
"""

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from contract.changes import Change
from projections import audit, pg_search
from projections.dialect import POSTGRES, Connection, dialect
from projections.intervals import EntityTable, State, states
from projections.roadmap import CREATIONS, DECISIONS, FEATURES, PRODUCTS, RELEASES

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_documents (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    entity_version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS search_documents_key
    ON search_documents (entity_id, entity_version);
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    title, body, reason, content = 'search_documents', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
#: The tables of this module (the index's own tables go with it).
TABLES = ("search_documents", "search_index")

#: Kind of entity -> the table of its states, and the API path of one.
KINDS: dict[str, EntityTable] = {"product": PRODUCTS, "feature": FEATURES,
                                 "release": RELEASES, "decision": DECISIONS}
PATHS = {"product": "/products/{}", "feature": "/features/{}", "release": "/releases/{}",
         "decision": "/decisions/{}"}

#: Change types that alter an entity's searchable text: its current text is written anew.
#: Every change type in :data:`contract.changes.CHANGE_TYPES` is here or in :data:`IGNORED`
#: (``tests/projections/test_change_type_registries.py``).
TEXT_CHANGES = frozenset({
    "product.created", "product.vision_revised", "product.strategy_revised",
    "release.planned",
    "feature.proposed", "feature.details_revised", "feature.requirement_added",
    "feature.requirement_revised", "feature.requirement_removed",
    "decision.proposed",
})
#: Change types that alter no searchable text (statuses, dates, scheduling, priorities,
#: scope, a decision's outcome). Their rationale and evidence are indexed all the same:
#: every change's are, whatever its type.
IGNORED = frozenset({
    "product.retired",
    "release.target_date_changed", "release.shipped", "release.cancelled",
    "release.feature_added", "release.feature_removed",
    "feature.status_changed", "feature.scheduled", "feature.unscheduled",
    "feature.priority_changed", "feature.priority_scored",
    "decision.accepted", "decision.rejected", "decision.superseded", "decision.reversed",
})

#: bm25 weight of the index's columns: title, body, reason.
WEIGHTS = (10.0, 3.0, 1.0)
MAX_LIMIT = 100
#: Longest query text taken (longer is refused: no one types that much into a search box).
MAX_QUERY = 500
#: Words of context in a snippet, around the matches.
SNIPPET_WORDS = 16

_COLUMNS = ("kind", "entity_id", "product_id", "entity_version", "title", "body", "reason")
#: For a table known to hold none of the rows yet (a rebuild, before its indexes are made).
APPEND = (f"INSERT INTO search_documents ({', '.join(_COLUMNS)}) "
          f"VALUES ({', '.join('?' * len(_COLUMNS))})")
_INSERT = f"{APPEND} ON CONFLICT (entity_id, entity_version) DO NOTHING"
Document = tuple[str, str, str, int, str, str, str]


class InvalidQuery(ValueError):
    """A query with nothing to search for (no letter or digit), or too long."""


# Writing

def index(conn: Connection, changes: Sequence[Change]) -> None:
    """Index ``changes`` inside the caller's transaction, once the roadmap rows and the
    audit rows of the same changes are written: the reason of each change (once, however
    often it is applied), and the current text of each entity whose text they altered."""
    last = conn.execute("SELECT max(id) FROM search_documents").fetchone()[0] or 0
    altered: dict[str, dict[str, None]] = {}
    for change in changes:
        if change.type in TEXT_CHANGES:
            altered.setdefault(change.entity_type, {})[change.entity_id] = None
    texts = {document[1]: document for kind, entity_ids in altered.items()
             for document in current_texts(conn, kind, entity_ids)}
    # In the order of the changes, so that rows get the ids applying each change in turn
    # would give them: a new entity's text at its creation, then each reason.
    for change in changes:
        document = texts.get(change.entity_id) if change.type in TEXT_CHANGES else None
        if document is not None and _rewrite(conn, document,
                                             creates=change.type in CREATIONS):
            del texts[change.entity_id]
        for reason in reasons((change,)):
            conn.execute(_INSERT, reason)
    for document in texts.values():  # only if an entity's creation went missing
        _rewrite(conn, document, creates=True)
    # Rows added (new entities' texts, reasons) have ids past the last one: index them
    # (PostgreSQL's index is of a column made from the row: nothing to do).
    if dialect(conn) != POSTGRES:
        conn.execute("INSERT INTO search_index (rowid, title, body, reason) "
                     "SELECT id, title, body, reason FROM search_documents WHERE id > ?", (last,))


def reasons(changes: Iterable[Change]) -> list[Document]:
    """The reason documents of ``changes`` (none for a change without rationale or evidence)."""
    return [(change.entity_type, change.entity_id, change.product_id, change.entity_version,
             "", "", text)
            for change in changes if (text := _joined([change.rationale, *change.evidence]))]


def _rewrite(conn: Connection, document: Document, creates: bool) -> bool:
    """Store an entity's current text, replacing its index entry, if any (rows added are
    indexed by :func:`index`); a text not stored yet only by the change that ``creates``
    the entity. False when it is not stored yet, nor now."""
    old = conn.execute("SELECT id, title, body, reason FROM search_documents "
                       "WHERE entity_id = ? AND entity_version = 0", (document[1],)).fetchone()
    if old is None:
        if creates:
            conn.execute(APPEND, document)
        return creates
    title, body = document[4], document[5]
    if (old[1], old[2]) == (title, body):
        return True
    by_hand = dialect(conn) != POSTGRES  # PostgreSQL's index follows the row by itself
    if by_hand:
        conn.execute("INSERT INTO search_index (search_index, rowid, title, body, reason) "
                     "VALUES ('delete', ?, ?, ?, ?)", tuple(old))
    conn.execute("UPDATE search_documents SET title = ?, body = ? WHERE id = ?",
                 (title, body, old[0]))
    if by_hand:
        conn.execute("INSERT INTO search_index (rowid, title, body, reason) "
                     "VALUES (?, ?, ?, '')", (old[0], title, body))
    return True


def finish_first_pass(conn: Connection) -> None:
    """End a rebuild's first pass (its reasons were appended with the other rows, see
    :data:`APPEND`): write every entity's current text, then build the index in one pass.
    Run once the pass's other rows and indexes are made."""
    for kind in KINDS:
        conn.executemany(APPEND, list(current_texts(conn, kind, None)))
    conn.execute("INSERT INTO search_index (search_index) VALUES ('rebuild')")


def current_texts(conn: Connection, kind: str,
                  entity_ids: Collection[str] | None) -> Iterator[Document]:
    """The current-text documents of the ``kind`` entities ``entity_ids`` (None: all)."""
    for where, params in _chunks(entity_ids):
        rows = states(conn, KINDS[kind], where, params, None)
        proposals = _proposals(conn, where, params) if kind == "decision" else {}
        for row in rows:
            title, body = _TEXTS[kind](row, proposals.get(row["entity_id"], {}))
            yield (kind, row["entity_id"], row["product_id"], 0, title or "", _joined(body), "")


def _chunks(entity_ids: Collection[str] | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Conditions on ``entity_id`` that select ``entity_ids`` (None: every entity), a few
    hundred at a time."""
    if entity_ids is None:
        yield "1 = 1", ()
        return
    ids = list(entity_ids)
    for start in range(0, len(ids), 500):
        chunk = tuple(ids[start:start + 500])
        yield f"entity_id IN ({', '.join('?' * len(chunk))})", chunk


def _proposals(conn: Connection, where: str,
               params: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The data of the proposals of the decisions ``where`` selects (their context and
    options are in no roadmap table)."""
    rows = audit.rows(conn, f"type = 'decision.proposed' AND {where}", params)
    return {row["entity_id"]: row["data"] for row in rows}


def _product(row: State, _: dict[str, Any]) -> tuple[str, list[str]]:
    return row["name"], [row["vision"], row["value_proposition"], row["target_customers"],
                         row["strategy"]]


def _feature(row: State, _: dict[str, Any]) -> tuple[str, list[str]]:
    requirements = row["requirements"] or {}
    lines = [row["problem"], row["business_value"], row["benefit"]]
    for key in sorted(requirements, key=lambda k: (len(k), k)):  # R2 before R10
        lines += [requirements[key]["text"], *requirements[key]["acceptance_criteria"]]
    return row["title"], lines


def _release(row: State, _: dict[str, Any]) -> tuple[str, list[str]]:
    return row["name"], [row["theme"]]


def _decision(row: State, proposal: dict[str, Any]) -> tuple[str, list[str]]:
    lines = [proposal.get("context", "")]
    for option in proposal.get("options", []):
        lines += [option.get("name", ""), option.get("description", ""),
                  *option.get("pros", []), *option.get("cons", [])]
    return row["title"], lines


_TEXTS = {"product": _product, "feature": _feature, "release": _release,
          "decision": _decision}


def _joined(lines: Iterable[str | None]) -> str:
    return "\n".join(line for line in lines if line)


# Reading

def find(conn: Connection, text: str, *, product_id: str | None = None,
         kind: str | None = None, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """A page of the entities matching every word of ``text``, best first:
    ``{"items": [{kind, id, product_id, title, snippet, path, rank}], "next_offset"}``.

    Words are matched whole, in any form (``pilots`` finds ``pilot``), and ``"two words"``
    as a phrase; nothing else in ``text`` is query syntax. ``rank`` is the relevance
    (bm25, higher is better); ``snippet`` is plain text (see :func:`marked`).
    ``next_offset`` is the ``offset`` of the next page, None on the last.
    Raises :class:`InvalidQuery` for a text without words, too long, or an unknown ``kind``.
    """
    parts = query_parts(text)
    if kind is not None and kind not in KINDS:
        raise InvalidQuery(f"Unknown kind {kind!r}; kinds: {', '.join(KINDS)}.")
    size = max(1, min(limit, MAX_LIMIT))
    filters = {"d.product_id = ?": product_id, "d.kind = ?": kind}
    given = {condition: value for condition, value in filters.items() if value is not None}
    where = " AND ".join(given) or "1 = 1"
    ids: list[int]
    if dialect(conn) == POSTGRES:
        found = pg_search.ranked(conn, parts, where, tuple(given.values()), size + 1,
                                 max(0, offset))
        ids = [row[4] for row in found[:size]]
        snippets = {i: marked(s) for i, s in
                    pg_search.snippets(conn, parts, ids, SNIPPET_WORDS).items()}
    else:
        match = _quoted(parts)
        found = conn.execute(_RANKED.format(where=where),
                             (match, *given.values(), size + 1, max(0, offset))).fetchall()
        ids = [row[4] for row in found[:size]]
        snippets = _snippets(conn, match, ids)
    page = found[:size]
    titles = _titles(conn, [row[1] for row in page])
    items = [{"kind": of_kind, "id": entity_id, "product_id": product,
              "title": titles.get(entity_id, f"{of_kind} {entity_id}"),  # unknown: its id
              "snippet": snippets.get(best, ""), "path": PATHS[of_kind].format(entity_id),
              "rank": -score}
             for of_kind, entity_id, product, score, best in page]
    return {"items": items, "next_offset": max(0, offset) + size if len(found) > size else None}


#: Each entity's best document among those matching: bm25 is computed once per document
#: (it may not be used inside an aggregate), then the least (best) score per entity wins,
#: with its document's id (SQLite takes bare columns from the row of the ``min``).
_RANKED = f"""
WITH hits AS MATERIALIZED (
    SELECT rowid AS id, bm25(search_index, {', '.join(map(str, WEIGHTS))}) AS score
    FROM search_index WHERE search_index MATCH ?
)
SELECT d.kind, d.entity_id, d.product_id, min(h.score) AS score, d.id
FROM hits AS h JOIN search_documents AS d ON d.id = h.id
WHERE {{where}}
GROUP BY d.entity_id
ORDER BY score, d.entity_id
LIMIT ? OFFSET ?
"""

# Matches are marked with characters no stored text holds (text fields refuse control
# characters), then turned into brackets by :func:`marked`.
_START, _END = "\x02", "\x03"


def _snippets(conn: Connection, match: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT rowid, snippet(search_index, -1, char(2), char(3), '…', {SNIPPET_WORDS}) "
        f"FROM search_index WHERE search_index MATCH ? "
        f"AND rowid IN ({', '.join('?' * len(ids))})", (match, *ids))
    return {row[0]: marked(row[1]) for row in rows}


def _titles(conn: Connection, entity_ids: list[str]) -> dict[str, str]:
    if not entity_ids:
        return {}
    rows = conn.execute(
        "SELECT entity_id, title FROM search_documents WHERE entity_version = 0 "
        f"AND entity_id IN ({', '.join('?' * len(entity_ids))})", entity_ids)
    return {row[0]: row[1] for row in rows}


def marked(snippet: str) -> str:
    """A snippet as the API gives it: plain text where ``[`` and ``]`` enclose each match,
    and a bracket or backslash of the text itself comes escaped (``\\[``, ``\\]``,
    ``\\\\``), so the two never mix up (:func:`snippet_parts` reads it back)."""
    escaped = snippet.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return escaped.replace(_START, "[").replace(_END, "]")


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A snippet of :func:`find` as (text, is a match) parts, in order, escapes undone:
    what a page needs to show it (escaping each part for its own markup)."""
    parts: list[tuple[str, bool]] = []
    text, matching, escaped = [], False, False
    for char in snippet:
        if escaped:
            text.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "[]" and (char == "]") == matching:
            if text:
                parts.append(("".join(text), matching))
            text, matching = [], not matching
        else:
            text.append(char)
    if text:
        parts.append(("".join(text), matching))
    return parts


#: A phrase in double quotes, or a run of anything but spaces and quotes.
_PARTS = re.compile(r'"([^"]*)"|([^\s"]+)')
#: Control characters (SQLite would end a query at a NUL) and lone surrogates (which
#: cannot be sent to SQLite as UTF-8): none is part of a word.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
#: A letter or digit: what the index's tokenizer keeps.
_WORD = re.compile(r"[^\W_]")


def match_expression(text: str) -> str:
    """An FTS5 query matching every word (or quoted phrase) of ``text``, whatever it holds:
    each part is quoted, so operators (``AND``, ``NEAR``, ``*``, ``:``, ``^``) and stray
    quotes are plain words or nothing. Raises :class:`InvalidQuery` when nothing is left."""
    return _quoted(query_parts(text))


def query_parts(text: str) -> list[str]:
    """The words and quoted phrases of ``text`` that hold a letter or digit, each to match
    as a phrase (whatever else they hold is no query syntax). Raises :class:`InvalidQuery`
    when none is left, or ``text`` is too long."""
    if len(text) > MAX_QUERY:
        raise InvalidQuery(f"A search is at most {MAX_QUERY} characters long.")
    parts = [phrase or word for phrase, word in _PARTS.findall(_CONTROL.sub(" ", text))]
    kept = [part for part in parts if _WORD.search(part)]
    if not kept:
        raise InvalidQuery("Nothing to search for: give at least one word (letters or digits).")
    return kept


def _quoted(parts: list[str]) -> str:
    return " ".join(f'"{part}"' for part in parts)
