"""Entity states kept with validity intervals, so any past instant is one indexed lookup.

Each change to an entity closes its current row (``valid_to = occurred_at``) and inserts
the new state (``valid_from = occurred_at, valid_to = NULL``) with the entity's version.
A change whose version is not newer than the stored one is a duplicate and is ignored:
that is what makes at-least-once delivery (a replay, a Kafka redelivery) harmless.
Only the order of changes *within* one entity matters, which is all Kafka guarantees.

An entity's state at a past instant is one lookup: the entities come from their current
rows (an entity never changes product), and each is found in the ``_history`` index by
its last ``valid_from`` up to that instant. The cost depends on the number of entities
read, not on the length of their history.
"""

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from contract.changes import Change
from projections.dialect import POSTGRES, SQLITE, Connection, dialect
from projections.jsontext import dumps_sorted, loads

log = logging.getLogger(__name__)

State = dict[str, Any]
#: Computes an entity's new state from its previous state (``{}`` before creation).
Transition = Callable[[State, Change], State]

BOOKKEEPING = ("entity_id", "entity_version", "product_id", "valid_from", "valid_to")
#: Where ``valid_to`` is in a row (``BOOKKEEPING`` then the table's columns).
VALID_TO = BOOKKEEPING.index("valid_to")
#: What :func:`instant` gives (and ``isoformat()`` of a UTC instant with microseconds): text
#: of this shape that parses is already its own ``instant``.
FIXED_WIDTH_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", re.ASCII)


@dataclass(frozen=True)
class EntityTable:
    """A table of versioned entity states: bookkeeping columns plus ``columns``."""

    name: str
    columns: tuple[str, ...]
    #: Columns holding lists or dicts, stored as JSON text.
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def positions(self) -> tuple[tuple[int, str], ...]:
        """Each column with its position in a row (``BOOKKEEPING``, then ``columns``)."""
        return tuple(enumerate(self.columns, start=len(BOOKKEEPING)))

    @cached_property
    def json_positions(self) -> tuple[tuple[int, str], ...]:
        """:attr:`positions` of the JSON columns."""
        return tuple((i, c) for i, c in self.positions if c in self.json_columns)

    def schema(self, column_types: dict[str, str]) -> str:
        """DDL for the table and the indexes that make current and as-of reads lookups.

        An entity's version is unique by an index rather than a primary key, so that a
        rebuild can make it at the end, like the others: in one sort, rather than kept
        in order row by row as the rows are inserted."""
        state = ",\n    ".join(f"{c} {column_types.get(c, 'TEXT')}" for c in self.columns)
        return f"""
CREATE TABLE IF NOT EXISTS {self.name} (
    entity_id TEXT NOT NULL,
    entity_version INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    {state}
);
CREATE UNIQUE INDEX IF NOT EXISTS {self.name}_version
    ON {self.name} (entity_id, entity_version);
CREATE UNIQUE INDEX IF NOT EXISTS {self.name}_current
    ON {self.name} (entity_id) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS {self.name}_product_entities
    ON {self.name} (product_id, entity_id, valid_to) WHERE valid_to IS NULL;
CREATE INDEX IF NOT EXISTS {self.name}_history
    ON {self.name} (entity_id, valid_from, entity_version);
"""


def instant(value: str | datetime) -> str:
    """A UTC instant as fixed-width ISO text, so that text order is time order in SQL."""
    if type(value) is str and FIXED_WIDTH_UTC.fullmatch(value):
        datetime.fromisoformat(value)  # only to refuse what is not an instant, as below
        return value  # already what the conversion below gives
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive instants are taken as UTC
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def advance(conn: Connection, table: EntityTable, change: Change,
            transition: Transition, *, creates: bool) -> bool:
    """Apply ``change`` to its entity in ``table``; False when it was a duplicate or orphan."""
    current = _current_row(conn, table, change.entity_id)
    if current is not None and change.entity_version <= current["entity_version"]:
        return False
    if current is None and not creates:
        # Its creation has not been seen (e.g. a consumer that started mid-stream).
        log.warning("Ignoring %s for unknown %s %s", change.type, table.name, change.entity_id)
        return False
    state = transition(_state(table, current) if current else {}, change)
    at = instant(change.occurred_at)
    if current is not None:
        # Writers' clocks may disagree: an interval never ends before it starts, so that
        # exactly one version of an entity is valid at any instant after its creation.
        at = max(at, current["valid_from"])
        conn.execute(
            f"UPDATE {table.name} SET valid_to = ? WHERE entity_id = ? AND valid_to IS NULL",
            (at, change.entity_id),
        )
    _insert(conn, table, change, at, state)
    return True


class Batch:
    """The interval writes of one batch of changes, made together by :meth:`flush`.

    Equivalent to calling :func:`advance` for each change in turn: the current row of every
    entity the batch touches is read once (:meth:`load`, or on first use) and then kept in
    memory, so a later change of the same entity sees the state an earlier one left. A row
    both inserted and superseded within the batch is inserted already closed; rows current
    in the database before the batch are closed with one ``UPDATE`` each, before the
    inserts (the ``_current`` index allows one open row per entity).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        #: table name -> entity id -> [version, valid_from, state, pending row or None];
        #: None when the entity has no row.
        self._current: dict[str, dict[str, list[Any] | None]] = {}
        self._closes: dict[str, list[tuple[str, str]]] = {}
        self._rows: dict[str, list[list[Any]]] = {}
        self._tables: dict[str, EntityTable] = {}

    def load(self, table: EntityTable, entity_ids: Iterable[str]) -> None:
        """Read the current rows of ``entity_ids`` not read yet, a few hundred per query."""
        known = self._known(table)
        wanted = [e for e in dict.fromkeys(entity_ids) if e not in known]
        for start in range(0, len(wanted), _LOAD_CHUNK):
            chunk = wanted[start:start + _LOAD_CHUNK]
            for e in chunk:
                known[e] = None
            rows = self.conn.execute(
                f"SELECT * FROM {table.name} WHERE valid_to IS NULL AND entity_id IN "
                f"({', '.join('?' * len(chunk))})", chunk).fetchall()
            for row in rows:
                current = dict(row)
                known[current["entity_id"]] = [current["entity_version"], current["valid_from"],
                                               _state(table, current), None]

    def _known(self, table: EntityTable) -> dict[str, list[Any] | None]:
        known = self._current.get(table.name)
        if known is None:
            known = self._current[table.name] = {}
            self._closes[table.name] = []
            self._rows[table.name] = []
            self._tables[table.name] = table
        return known

    def advance(self, table: EntityTable, change: Change, transition: Transition, *,
                creates: bool, at: str | None = None) -> bool:
        """:func:`advance`, deferred to :meth:`flush`; ``at`` is ``instant(occurred_at)``."""
        known = self._known(table)
        entity_id = change.entity_id
        if entity_id not in known:
            self.load(table, (entity_id,))
        current = known[entity_id]
        if current is not None and change.entity_version <= current[0]:
            return False
        if current is None and not creates:
            log.warning("Ignoring %s for unknown %s %s", change.type, table.name, entity_id)
            return False
        previous = {} if current is None else self._previous(table, current)
        state = transition(previous, change)
        if at is None:
            at = instant(change.occurred_at)
        pending = None
        if current is not None:
            if current[1] > at:
                at = current[1]
            pending = current[3]
            self._close(table.name, entity_id, pending, at)
        row = _row(table, change, at, state, previous, pending)
        self._open(table.name, row, change)
        known[entity_id] = [change.entity_version, at, self._kept(state), row]
        return True

    def _kept(self, state: State) -> State | None:
        """What to remember of an entity's new state: all of it; None to decode it from its
        pending row when needed (see :meth:`_previous`)."""
        return state

    def _previous(self, table: EntityTable, current: list[Any]) -> State:
        """The state of an entity before a change, from its ``known`` entry."""
        state: State = current[2]
        return state

    def _close(self, name: str, entity_id: str, pending: list[Any] | None, at: str) -> None:
        """End the current row of ``entity_id`` at ``at``: in the row still to be inserted,
        or by an ``UPDATE`` of the stored one."""
        if pending is None:
            self._closes[name].append((at, entity_id))
        else:
            pending[VALID_TO] = at

    def _open(self, name: str, row: list[Any], change: Change) -> None:
        """Insert ``row``, the entity's new current row (opened by ``change``), when the
        batch is flushed."""
        self._rows[name].append(row)

    def flush(self) -> None:
        """Write what the batch changed: close superseded rows, insert the new ones."""
        conn = self.conn
        for name, closes in self._closes.items():
            if closes:
                conn.executemany(f"UPDATE {name} SET valid_to = ? "
                                 "WHERE entity_id = ? AND valid_to IS NULL", closes)
        for name, rows in self._rows.items():
            if rows:
                conn.executemany(_insert_sql(self._tables[name]), rows)
        # Rows written are now the database's; further changes close them by UPDATE.
        for known in self._current.values():
            for current in known.values():
                if current is not None:
                    current[3] = None
        for closes in self._closes.values():
            closes.clear()
        for rows in self._rows.values():
            rows.clear()


class FirstPass(Batch):
    """:class:`Batch` for tables that start empty and are fed the log in order (a rebuild):
    the same rows, each written once, by ``INSERT`` only.

    Every entity's current row stays in memory (a few thousand entities, not the history)
    and is inserted once a later change closes it; :meth:`finish` inserts the rows still
    open. Nothing is read back: the tables need no index while loading. Each row's row id
    is the log position of the change that opened it, so that several first passes, each
    fed the changes of its own entities, can fill one file (see :mod:`projections.feeding.rebuild`);
    row ids are only ever used to tell rows apart.
    """

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        #: JSON text -> its value, for :meth:`_previous`.
        self._decoded: dict[str, Any] = {}

    def load(self, table: EntityTable, entity_ids: Iterable[str]) -> None:
        """Nothing is stored yet: entities not seen in this pass have no row."""
        known = self._known(table)
        for entity_id in entity_ids:
            known.setdefault(entity_id, None)

    def _close(self, name: str, entity_id: str, pending: list[Any] | None, at: str) -> None:
        assert pending is not None, "a first pass keeps every current row"
        pending[VALID_TO] = at
        self._rows[name].append(pending)

    def _kept(self, state: State) -> None:
        # Every entity's row stays in memory until it is closed: its state is not kept as
        # well (that about halves the memory), but decoded from the row at its next change.
        return None

    def _previous(self, table: EntityTable, current: list[Any]) -> State:
        """The state the entity's pending row (``current[3]``) holds. Its JSON texts are
        decoded through a bounded memo: an unchanged value keeps its very text from row to
        row, so the next change of the entity finds it (states are never changed in place,
        so decoded values can be shared)."""
        row = current[3]  # ends with its row id, after the columns
        state = {column: row[i] for i, column in table.positions}
        decoded = self._decoded
        for i, column in table.json_positions:
            value = decoded.get(row[i])
            if value is None:  # not decoded yet (or JSON null, decoded again: harmless)
                if len(decoded) >= _DECODED_KEPT:
                    decoded.clear()
                value = decoded[row[i]] = loads(row[i])
            state[column] = value
        return state

    def _open(self, name: str, row: list[Any], change: Change) -> None:
        if change.log_position is None:
            raise ValueError(f"A first pass needs log positions; {change.event_id} has none")
        row.append(change.log_position)  # after the columns: see _insert_sql(with_rowid=True)

    def flush(self) -> None:
        """Insert the rows closed since the last flush; open ones stay in memory."""
        for name, rows in self._rows.items():
            if rows:
                self.conn.executemany(_insert_sql(self._tables[name], with_rowid=True), rows)
                rows.clear()

    def finish(self) -> None:
        """Insert every row still open: each entity's current row."""
        self.flush()
        for name, known in self._current.items():
            self._rows[name].extend(current[3] for current in known.values()
                                    if current is not None)
        self.flush()


_LOAD_CHUNK = 500


#: JSON values a first pass keeps decoded (then it starts afresh): enough for the entities
#: being changed around the same time, little memory (a feature's requirements: ~1 KB).
_DECODED_KEPT = 1024


def _row(table: EntityTable, change: Change, at: str, state: State, previous: State,
         pending: list[Any] | None) -> list[Any]:
    """The row of ``change``'s entity valid from ``at`` on, holding ``state``: the
    ``BOOKKEEPING`` columns, then the table's, JSON columns as text.

    A JSON value that is the very object of the ``previous`` state reuses the text in the
    entity's ``pending`` row, if any: states are never changed in place, and most changes
    leave a feature's requirements as they were.
    """
    row = [change.entity_id, change.entity_version, change.product_id, at, None,
           *[state.get(c) for c in table.columns]]
    for i, column in table.json_positions:
        if pending is not None and row[i] is previous.get(column):
            row[i] = pending[i]
        else:
            row[i] = dumps_sorted(row[i])
    return row


def _insert_sql(table: EntityTable, *, with_rowid: bool = False) -> str:
    names = (*BOOKKEEPING, *table.columns, *(("rowid",) if with_rowid else ()))
    return (f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})")


def states(conn: Connection, table: EntityTable, where: str, params: tuple[Any, ...],
           as_of: datetime | None, columns: Sequence[str] = ()) -> list[State]:
    """Rows of ``table`` as they were at ``as_of`` (None: now) that match ``where``, JSON
    decoded; only ``columns`` when given.

    ``where`` names unqualified columns and is applied to the rows valid at ``as_of``. A
    condition on ``entity_id`` or ``product_id`` narrows the lookup through the indexes;
    one on other columns only filters (it reads every entity's row at ``as_of``).
    """
    selected = ", ".join(columns) or "*"
    if as_of is None:
        rows = conn.execute(
            f"SELECT {selected} FROM {table.name} WHERE ({where}) AND valid_to IS NULL", params)
    else:
        at = instant(as_of)
        rows = conn.execute(
            f"SELECT {selected} FROM ({_AS_OF[dialect(conn)].format(t=table.name)}) AS a "
            f"WHERE ({where})", (at, *params))
    return [_decoded(table, dict(row)) for row in rows.fetchall()]


#: The row of each entity valid at an instant. The entities come from their current rows:
#: ``entity_id`` and ``product_id`` never change, so conditions on them narrow the current
#: rows through ``_product_entities`` / ``_current``, without touching the table. Each
#: entity's row is then its last one starting up to the instant (the last version, among
#: rows starting at the same instant): one probe of ``_history``, which holds the rowid.
#: Intervals never run backwards (see :func:`advance`), so that row is the one valid then.
#: CROSS JOIN keeps the current rows outside, so the lookups are per entity.
#: PostgreSQL has no rowid: each entity's row is read by a LATERAL probe of ``_history``
#: (the same index range, read backwards, one row); the join's equalities carry a
#: condition on ``entity_id`` or ``product_id`` to the current rows.
_AS_OF = {
    SQLITE: """
SELECT s.* FROM {t} AS c CROSS JOIN {t} AS s
WHERE c.valid_to IS NULL
  AND s.entity_id = c.entity_id AND s.product_id = c.product_id
  AND s.rowid = (SELECT h.rowid FROM {t} AS h
                 WHERE h.entity_id = c.entity_id AND h.valid_from <= ?
                 ORDER BY h.valid_from DESC, h.entity_version DESC LIMIT 1)
""",
    POSTGRES: """
SELECT s.* FROM {t} AS c CROSS JOIN LATERAL (
    SELECT h.* FROM {t} AS h
    WHERE h.entity_id = c.entity_id AND h.valid_from <= ?
    ORDER BY h.valid_from DESC, h.entity_version DESC LIMIT 1) AS s
WHERE c.valid_to IS NULL
  AND s.entity_id = c.entity_id AND s.product_id = c.product_id
""",
}


def _current_row(conn: Connection, table: EntityTable, entity_id: str) -> State | None:
    row = conn.execute(
        f"SELECT * FROM {table.name} WHERE entity_id = ? AND valid_to IS NULL", (entity_id,)
    ).fetchone()
    return dict(row) if row is not None else None


def _state(table: EntityTable, row: State) -> State:
    return {c: v for c, v in _decoded(table, row).items() if c in table.columns}


def _decoded(table: EntityTable, row: State) -> State:
    if not table.json_columns.intersection(row):
        return row
    return {c: json.loads(v) if c in table.json_columns else v for c, v in row.items()}


def _insert(conn: Connection, table: EntityTable, change: Change, at: str,
            state: State) -> None:
    values = [dumps_sorted(state.get(c)) if c in table.json_columns
              else state.get(c) for c in table.columns]
    names = (*BOOKKEEPING, *table.columns)
    conn.execute(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        (change.entity_id, change.entity_version, change.product_id, at, None, *values),
    )
