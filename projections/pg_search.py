"""The full-text index of :mod:`projections.search` in PostgreSQL: a ``tsvector`` per document.

Made to answer as the SQLite index does (FTS5, ``porter unicode61 remove_diacritics 2``):

- words are runs of letters and digits, whatever separates them (``pilot-notes`` is two
  words, ``1.0`` is ``1`` then ``0``), so the text is cut into words before PostgreSQL's
  parser sees it, which would otherwise keep URLs, hyphenated words and versions whole;
- each word is matched in any form and case (the Snowball English stemmer, with no stop
  words: ``the`` is a word like any other), and without its accents when the ``unaccent``
  extension can be had;
- title words weigh most, then the body's, then the reasons' (``ts_rank`` with weights
  A, B, C); each quoted part of a query is a phrase (``phraseto_tsquery``) and all must match.

The ``document`` column is generated from the text, so the index follows every write by
itself. Snippets are made here, not by ``ts_headline`` (which marks only what its own parser
splits): the words of the best column are marked when their stem is one of the query's.
"""

import re
from collections.abc import Sequence
from typing import Any

from projections.dialect import Connection

#: The text search configuration of the documents, made by :func:`setup`.
CONFIG = "pdl_search"
#: ``text`` with every run of characters that are not letters or digits made one space.
_WORDS_OF = "regexp_replace({}, '[^[:alnum:]]+', ' ', 'g')"


def _vector(column: str, weight: str) -> str:
    return f"setweight(to_tsvector('{CONFIG}', {_WORDS_OF.format(column)}), '{weight}')"


#: Run after the ``search_documents`` table exists (see :func:`setup`).
SCHEMA = f"""
ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS document tsvector
    GENERATED ALWAYS AS ({_vector('title', 'A')} || {_vector('body', 'B')}
                         || {_vector('reason', 'C')}) STORED;
CREATE INDEX IF NOT EXISTS search_documents_document ON search_documents USING GIN (document);
"""

#: ``ts_rank`` weights of D, C, B, A: reasons, bodies, titles (as :data:`search.WEIGHTS`).
WEIGHTS = "{0, 0.1, 0.3, 1}"


def setup(conn: Connection) -> None:
    """Make the text search configuration, once per database (inside a migration)."""
    if conn.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = ?", (CONFIG,)).fetchone():
        return
    unaccent = _unaccent(conn)
    conn.execute("CREATE TEXT SEARCH DICTIONARY pdl_english_stem "
                 "(TEMPLATE = snowball, Language = english)")  # no stop words
    conn.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)")
    conn.execute(f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR asciiword, word, "
                 f"numword, asciihword, hword, numhword, hword_asciipart, hword_part, "
                 f"hword_numpart WITH {'unaccent, ' if unaccent else ''}pdl_english_stem")


def _unaccent(conn: Connection) -> bool:
    """Whether accents can be removed: the ``unaccent`` extension is there or can be made
    (it is trusted: the database's owner may); a savepoint keeps a refusal harmless."""
    conn.execute("SAVEPOINT unaccent")
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except Exception:
        conn.execute("ROLLBACK TO SAVEPOINT unaccent")
        return False
    conn.execute("RELEASE SAVEPOINT unaccent")
    return True


def _query(parts: Sequence[str]) -> str:
    """A ``tsquery`` expression matching every part (``?`` each) as a phrase."""
    return " && ".join([f"phraseto_tsquery('{CONFIG}', {_WORDS_OF.format('?')})"] * len(parts))


def ranked(conn: Connection, parts: Sequence[str], where: str, params: Sequence[Any],
           limit: int, offset: int) -> list[Any]:
    """Each matching entity once, with its best document: (kind, entity_id, product_id,
    score, document id) rows, best (least score) first, as :data:`search._RANKED` gives."""
    return conn.execute(f"""
WITH q AS (SELECT {_query(parts)} AS q),
hits AS (
    SELECT d.id, d.kind, d.entity_id, d.product_id,
           -ts_rank('{WEIGHTS}', d.document, q.q) AS score
    FROM search_documents AS d, q
    WHERE d.document @@ q.q AND {where}
)
SELECT kind, entity_id, product_id, score, id FROM (
    SELECT DISTINCT ON (entity_id) * FROM hits ORDER BY entity_id, score, id) AS best
ORDER BY score, entity_id
LIMIT ? OFFSET ?""", (*parts, *params, limit, offset)).fetchall()


#: A word, as the documents are cut into words.
_WORD = re.compile(r"[^\W_]+")


def snippets(conn: Connection, parts: Sequence[str], ids: Sequence[int],
             words: int) -> dict[int, str]:
    """The snippet of each document ``ids``: about ``words`` words of its column with the
    most matches, each match between ``\\x02`` and ``\\x03`` (see :func:`search.marked`)."""
    if not ids:
        return {}
    rows = conn.execute("SELECT id, title, body, reason FROM search_documents "
                        f"WHERE id IN ({', '.join('?' * len(ids))})", tuple(ids)).fetchall()
    texts = {row[0]: [row[1], row[2], row[3]] for row in rows}
    query_words = {w for part in parts for w in _WORD.findall(part)}
    every_word = query_words | {w for columns in texts.values() for text in columns
                                for w in _WORD.findall(text)}
    stems = _stems(conn, every_word)
    wanted = set().union(*(stems[w] for w in query_words))
    return {id_: _snippet(columns, lambda w: bool(stems[w] & wanted), words)
            for id_, columns in texts.items()}


def _stems(conn: Connection, words: set[str]) -> dict[str, set[str]]:
    """The lexemes of each of ``words``, as the index makes them."""
    rows = conn.execute(f"SELECT w, tsvector_to_array(to_tsvector('{CONFIG}', w)) "
                        "FROM unnest(?::text[]) AS w", (sorted(words),)).fetchall()
    return {row[0]: set(row[1]) for row in rows}


def _snippet(columns: list[str], matches: Any, size: int) -> str:
    """FTS5's ``snippet()``, near enough: the column with the most matching words, whole if
    it has at most ``size`` words, else the ``size`` words holding the most matches, with
    ``…`` where text was cut; matching words marked."""
    found = [[(m.start(), m.end(), matches(m.group())) for m in _WORD.finditer(text)]
             for text in columns]
    best = max(range(len(columns)), key=lambda i: (sum(w[2] for w in found[i]), -i))
    text, spans = columns[best], found[best]
    first = 0
    if len(spans) > size:
        counts = [sum(w[2] for w in spans[i:i + size]) for i in range(len(spans) - size + 1)]
        first = counts.index(max(counts))
    shown = spans[first:first + size]
    start = 0 if first == 0 else shown[0][0]
    end = len(text) if first + size >= len(spans) else shown[-1][1]
    pieces, at = [], start
    for word_start, word_end, matching in shown:
        if matching:
            pieces += [text[at:word_start], "\x02", text[word_start:word_end], "\x03"]
            at = word_end
    pieces.append(text[at:end])
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else "")
