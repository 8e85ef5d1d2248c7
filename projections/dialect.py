"""The databases the views can live in, and what the projection modules need of a connection.

The projections write and read through one connection interface, that of :mod:`sqlite3`
(``execute`` with ``?`` placeholders, rows readable by index and by column name), so their
SQL is written once. A PostgreSQL connection is wrapped to the same interface
(:class:`projections.pg.PgConnection`). The few statements that must differ (the full-text
index, an upsert's ``max``, a row's id) are chosen by :func:`dialect`, each in the module it
belongs to, as one constant per dialect.
"""

from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]
SQLITE: Dialect = "sqlite"
POSTGRES: Dialect = "postgres"


class Cursor(Protocol):
    """What the projections read of a statement's result."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside a transaction: ``?`` placeholders; rows read as ``row[0]`` or
    ``row["name"]`` (and ``dict(row)``)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...


def dialect(conn: Connection) -> Dialect:
    """The database ``conn`` talks to: a wrapper says so; a :mod:`sqlite3` connection does not."""
    found: Dialect = getattr(conn, "dialect", SQLITE)
    return found
