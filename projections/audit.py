"""Audit: who changed what, when, from what to what, and why?

One row per change, keyed by its entity and version (from which its stable ``event_id``
derives, see :func:`contract.changes.event_id_text`), so a change delivered twice is stored
once. Rows keep the change as published; the readable sentence and the
``{field, old, new}`` list are made when reading (see :mod:`projections.summaries`).

Order and cursor: ``seq`` is the change's log position when known (always, when fed
from the store), otherwise SQLite's next row id. Lists are oldest first; ``next_cursor``
is the ``seq`` of the last item returned, to pass back as ``cursor``.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contract.changes import Change, event_id_text
from projections.dialect import POSTGRES, SQLITE, Connection, dialect
from projections.intervals import instant
from projections.jsontext import dumps
from projections.summaries import EVER, Names, describe

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    position INTEGER,
    occurred_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    entity_version INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    type TEXT NOT NULL,
    rationale TEXT NOT NULL,
    evidence TEXT NOT NULL,
    decision_id TEXT,
    data TEXT NOT NULL,
    correlation_id TEXT,
    caused_by TEXT
);
CREATE INDEX IF NOT EXISTS audit_product ON audit (product_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS audit_entity ON audit (entity_id, entity_version);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
CREATE INDEX IF NOT EXISTS audit_type ON audit (type, seq);
CREATE INDEX IF NOT EXISTS audit_time ON audit (occurred_at, seq);
CREATE INDEX IF NOT EXISTS audit_product_time ON audit (product_id, occurred_at, seq);
CREATE INDEX IF NOT EXISTS audit_correlation ON audit (correlation_id, seq);
"""

MAX_LIMIT = 1000
COLUMNS = ("seq", "position", "occurred_at", "actor", "entity_type", "entity_id",
           "entity_version", "product_id", "type", "rationale", "evidence", "decision_id", "data",
           "correlation_id", "caused_by")


#: For a table known to hold none of the rows yet (a rebuild, before the unique index on
#: entity and version is made: making it then fails loudly on a repeated change).
APPEND = f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# Only a repeated change is a duplicate: any other conflict (e.g. on seq) must fail loudly.
INSERT = f"{APPEND} ON CONFLICT (entity_id, entity_version) DO NOTHING"
#: Per dialect. A change without a log position (from Kafka) takes the next ``seq``:
#: SQLite does that for a NULL row id by itself, PostgreSQL is told.
_INSERT = {
    SQLITE: INSERT,
    POSTGRES: INSERT.replace("VALUES (?", "VALUES (COALESCE(?, (SELECT coalesce(max(seq), 0) + 1 "
                                          "FROM audit))", 1),
}


def record(conn: Connection, change: Change) -> bool:
    """Store ``change`` once; False when it is already recorded."""
    return conn.execute(_INSERT[dialect(conn)], row(change)).rowcount > 0


def record_all(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store the :func:`row` of each change once, in order, in one statement."""
    conn.executemany(_INSERT[dialect(conn)], rows)


def row(change: Change, at: str | None = None) -> tuple[Any, ...]:
    """The audit row of ``change`` (``at``: ``instant(change.occurred_at)``, if known)."""
    return (change.log_position, change.log_position,
            instant(change.occurred_at) if at is None else at, change.actor,
            change.entity_type, change.entity_id, change.entity_version, change.product_id,
            change.type, change.rationale, dumps(change.evidence), change.decision_id,
            dumps(change.data), change.correlation_id,
            None if change.caused_by is None else dumps(change.caused_by))


def read_audit(conn: Connection, *, product_id: str | None = None,
               entity_id: str | None = None, actor: str | None = None,
               change_type: str | Sequence[str] | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int = 100, cursor: int | None = None, evidence: bool | None = None,
               decision_id: str | None = None,
               correlation: str | None = None) -> dict[str, Any]:
    """A page of changes matching every filter given, oldest first.

    ``change_type``: one type or several (a change of any of them matches). ``since`` is
    inclusive and ``until`` exclusive; ``limit`` is clamped to 1..1000. ``evidence``: True
    for the changes that cite evidence, False for those that cite none; ``decision_id``:
    the decision's own changes and the changes it made (accepting or reversing it);
    ``correlation``: the changes of one command (its ``correlation_id``), cascades included.
    """
    types = (change_type,) if isinstance(change_type, str) else tuple(change_type or ())
    filters = {"product_id = ?": product_id, "entity_id = ?": entity_id, "actor = ?": actor,
               "? IN (decision_id, entity_id)": decision_id,
               "(evidence <> '[]') = ?": evidence,  # stored compact: none is "[]"
               "correlation_id = ?": correlation,
               "seq > ?": cursor,
               "occurred_at >= ?": instant(since) if since else None,
               "occurred_at < ?": instant(until) if until else None}
    given = {condition: value for condition, value in filters.items() if value is not None}
    of_types = [f"type IN ({', '.join('?' * len(types))})"] if types else []
    where = " AND ".join([*given, *of_types]) or "1 = 1"
    size = max(1, min(limit, MAX_LIMIT))
    found = rows(conn, where, (*given.values(), *types), limit=size + 1)
    page = found[:size]
    more = len(found) > size
    return {"items": _items(conn, page), "next_cursor": page[-1]["seq"] if more else None}


def read_history(conn: Connection, entity_id: str,
                 as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every change of one entity, oldest first; only those up to ``as_of`` when given."""
    return _items(conn, rows(conn, "entity_id = ?", (entity_id,), order="entity_version",
                             as_of=as_of))


def read_product_history(conn: Connection, product_id: str,
                         as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every change of a product and of its features and releases, in log order."""
    # The entities named are the product's own: reading each one's rows up to as_of once
    # reads no more rows than the answer holds (see ``Names``).
    names = Names(conn, (EVER, instant(as_of) if as_of else None))
    return _items(conn, rows(conn, "product_id = ?", (product_id,), as_of=as_of), names)


def read_history_page(conn: Connection, entity_id: str, as_of: datetime | None = None,
                      *, limit: int | None = None, cursor: int | None = None,
                      newest_first: bool = False) -> dict[str, Any]:
    """A page of one entity's changes (up to ``as_of`` when given), by entity version, oldest
    or newest first. ``cursor``: the ``entity_version`` of the last item of the page before
    (``next_cursor``). ``entity_type`` is the entity's kind, None if it had no change by then.
    A page costs what its items do, whatever the length of the history."""
    first = rows(conn, "entity_id = ?", (entity_id,), order="entity_version", as_of=as_of,
                 limit=1)
    if not first:
        return {"entity_type": None, "items": [], "next_cursor": None}
    where = "entity_id = ?"
    params: tuple[Any, ...] = (entity_id,)
    if cursor is not None:
        where, params = f"{where} AND entity_version {'<' if newest_first else '>'} ?", (
            entity_id, cursor)
    order = "entity_version DESC" if newest_first else "entity_version"
    items, more = _paged(conn, where, params, order, as_of, limit)
    return {"entity_type": first[0]["entity_type"], "items": items,
            "next_cursor": items[-1]["entity_version"] if more else None}


def read_product_history_page(conn: Connection, product_id: str,
                              as_of: datetime | None = None, *, limit: int | None = None,
                              cursor: int | None = None,
                              newest_first: bool = False) -> dict[str, Any]:
    """A page of :func:`read_product_history`, in log order, oldest or newest first.
    ``cursor``: the ``position`` of the last item of the page before (``next_cursor``);
    ``exists``: whether the product had any change by ``as_of``."""
    exists = bool(rows(conn, "product_id = ?", (product_id,), as_of=as_of, limit=1))
    where = "product_id = ?"
    params: tuple[Any, ...] = (product_id,)
    if cursor is not None:
        where, params = f"{where} AND seq {'<' if newest_first else '>'} ?", (product_id, cursor)
    # Whole, it names each entity from its rows up to as_of read once (as
    # read_product_history); a page looks up each name it shows.
    whole = Names(conn, (EVER, instant(as_of) if as_of else None)) if limit is None else None
    items, more = _paged(conn, where, params, "seq DESC" if newest_first else "seq", as_of,
                         limit, whole)
    return {"exists": exists, "items": items,
            "next_cursor": items[-1]["position"] if more else None}


def _paged(conn: Connection, where: str, params: tuple[Any, ...], order: str,
           as_of: datetime | None, limit: int | None,
           names: Names | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The described rows of one page (all of them without ``limit``), and whether more
    follow. By default names are looked up per item: a page reads what it shows."""
    size = None if limit is None else max(1, min(limit, MAX_LIMIT))
    found = rows(conn, where, params, order=order, as_of=as_of,
                 limit=None if size is None else size + 1)
    page = found if size is None else found[:size]
    return _items(conn, page, names), size is not None and len(found) > size


def count(conn: Connection) -> int:
    """How many changes the audit holds."""
    return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def occurred_at(conn: Connection, seq: int) -> str | None:
    """When the change at log position ``seq`` happened (its ``occurred_at`` text); None
    when no change holds that position."""
    found = conn.execute("SELECT occurred_at FROM audit WHERE seq = ?", (seq,)).fetchone()
    return None if found is None else str(found[0])


def rows(conn: Connection, where: str, params: tuple[Any, ...], *,
         order: str = "seq", as_of: datetime | None = None,
         limit: int | None = None) -> list[dict[str, Any]]:
    """Audit rows matching ``where`` (only those up to ``as_of`` when given), in ``order``,
    with their ``data`` and ``evidence`` decoded and their ``event_id``: what every
    audit-based view reads."""
    if as_of is not None:
        where, params = f"{where} AND occurred_at <= ?", (*params, instant(as_of))
    statement = f"SELECT * FROM audit WHERE {where} ORDER BY {order}"
    if limit is not None:
        statement, params = f"{statement} LIMIT ?", (*params, limit)
    return [{**dict(row), "event_id": event_id_text(row["entity_id"], row["entity_version"]),
             "data": json.loads(row["data"]), "evidence": json.loads(row["evidence"]),
             "caused_by": None if row["caused_by"] is None else json.loads(row["caused_by"])}
            for row in conn.execute(statement, params).fetchall()]


def _items(conn: Connection, found: list[dict[str, Any]],
           names: Names | None = None) -> list[dict[str, Any]]:
    """``found`` described; names are read at each change's instant, by default one
    indexed lookup each (see ``Names``), so a page costs what its items do."""
    names = Names(conn) if names is None else names
    return [_item(row, names) for row in found]


def _item(row: dict[str, Any], names: Names) -> dict[str, Any]:
    summary, changes = describe(row, names)
    return {
        "event_id": row["event_id"], "position": row["position"],
        "occurred_at": row["occurred_at"], "actor": row["actor"],
        "entity_type": row["entity_type"], "entity_id": row["entity_id"],
        "entity_version": row["entity_version"], "product_id": row["product_id"],
        "type": row["type"], "summary": summary, "changes": changes,
        "rationale": row["rationale"], "evidence": row["evidence"],
        "decision_id": row["decision_id"],
        # What the change was part of: the command (correlation) and, in a cascade, its cause.
        "correlation_id": row["correlation_id"], "caused_by": row["caused_by"],
    }
