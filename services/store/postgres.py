"""PostgreSQL, the production store: connections, and the project's own tables.

Several replicas share one database. Everything here is safe to run from all of them at
once:

- :func:`connection_pool` gives a process its pool of connections for the service's own
  tables (tokens, idempotency keys, relay positions). Getting a connection waits at most the
  connect timeout, so with the database down a request fails fast (and is answered 503),
  and the pool reconnects by itself when the database returns.
- :func:`migrate` creates or migrates each component's tables under a transaction-level
  advisory lock, and records the component's schema version in ``pdl_schema``: replicas
  that start together take turns, and a replica of a newer release migrates forward once.
- :func:`application_env` configures eventsourcing's PostgreSQL persistence from the same
  settings (its tables are created by :func:`migrate` too, never by each replica).
"""

import logging
import time
import weakref
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

#: Each component's schema version; created by the first ``migrate`` of any component.
SCHEMA_TABLE = """CREATE TABLE IF NOT EXISTS pdl_schema (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    migrated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""

#: One migration: the statements taking a component from the version before to this one.
Migration = Sequence[str]


def parameters(dsn: str) -> dict[str, Any]:
    """The connection parameters of a libpq URL (``ValueError`` if it is not one)."""
    try:
        return conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise ValueError(f"not a valid PostgreSQL URL: {error}") from None


def connect_kwargs(connect_timeout_s: float, statement_timeout_s: float) -> dict[str, Any]:
    """libpq parameters every connection of ours gets: a connect timeout (whole seconds,
    at least 1), and the statement timeout as a session setting."""
    kwargs: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout_s))}
    if statement_timeout_s:
        kwargs["options"] = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    return kwargs


#: A connection back in the pool for less than this is handed out again without a ping.
PING_WHEN_IDLE_S = 1.0


class PingWhenIdle:
    """A pool's connection check (``check=``, with ``reset=``): ping a connection before
    handing it out only if it sat in the pool for ``idle_s`` or longer.

    A ping costs a round trip on every checkout (a request's token lookup, a command's
    transaction): under load, connections come back and go out again within milliseconds,
    and one that worked a moment ago fails its next statement no more often than a pinged
    one fails right after its ping. After an outage every connection has been idle for
    longer than ``idle_s``, so each is pinged (and replaced if dead) before use."""

    def __init__(self, idle_s: float = PING_WHEN_IDLE_S) -> None:
        self.idle_s = idle_s
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def returned(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's ``reset`` hook: ``conn`` is back in the pool."""
        self._returned[conn] = time.monotonic()

    def check(self, conn: psycopg.Connection[Any]) -> None:
        """The pool's ``check`` hook: raise if ``conn`` is idle and does not answer."""
        returned = self._returned.get(conn)
        if returned is None or time.monotonic() - returned >= self.idle_s:
            ConnectionPool.check_connection(conn)


def connection_pool(dsn: str, *, size: int, connect_timeout_s: float,
                    statement_timeout_s: float, name: str) -> ConnectionPool:
    """An open pool of autocommit connections to ``dsn`` (the service's own tables).

    Opening does not wait for the database: a replica starts, and reports itself unready,
    while PostgreSQL is down; a request that needs a connection waits at most
    ``connect_timeout_s`` for one, then gets ``psycopg_pool.PoolTimeout``.
    """
    ping = PingWhenIdle()
    pool = ConnectionPool(
        dsn, min_size=1, max_size=size, open=False, name=name,
        timeout=connect_timeout_s, reconnect_timeout=0,  # never give up reconnecting
        kwargs={"autocommit": True, **connect_kwargs(connect_timeout_s, statement_timeout_s)},
        check=ping.check, reset=ping.returned)
    pool.open(wait=False)
    return pool


def advisory_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for ``name``."""
    return zlib.crc32(name.encode())


def migrate(conn: psycopg.Connection[Any], component: str,
            migrations: Sequence[Migration | Callable[[psycopg.Connection[Any]], None]]) -> int:
    """Bring ``component``'s tables to version ``len(migrations)``: run each migration the
    database has not had yet, in order, in one transaction holding the component's advisory
    lock (concurrent starts wait for it, then find nothing left to do). A migration is a list
    of statements, or a function of the connection. Returns the version the database was
    at before. Refuses a database migrated by a newer release."""
    with conn.transaction():
        cursor = conn.cursor(row_factory=tuple_row)
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("pdl_schema"),))
        cursor.execute(SCHEMA_TABLE)
        row = cursor.execute("SELECT version FROM pdl_schema WHERE component = %s",
                             (component,)).fetchone()
        found = int(row[0]) if row else 0
        if found > len(migrations):
            raise RuntimeError(
                f"The database's {component} tables are at version {found}, newer than this "
                f"release knows ({len(migrations)}): run the newer release, or a database of "
                "this one.")
        for version in range(found + 1, len(migrations) + 1):
            migration = migrations[version - 1]
            if callable(migration):
                migration(conn)
            else:
                for statement in migration:
                    cursor.execute(statement)
            log.info("Migrated the %s tables to version %d.", component, version)
        if found != len(migrations):
            cursor.execute(
                "INSERT INTO pdl_schema (component, version) VALUES (%s, %s) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version, "
                "migrated_at = now()", (component, len(migrations)))
    return found


def migrate_pool(pool: ConnectionPool, component: str,
                 migrations: Sequence[Migration | Callable[[psycopg.Connection[Any]], None]]
                 ) -> int:
    """:func:`migrate` on a connection of ``pool``."""
    with pool.connection() as conn:
        return migrate(conn, component, migrations)
