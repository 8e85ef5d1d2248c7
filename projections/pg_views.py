"""The views in PostgreSQL, shared by every replica of the service: :class:`PgViews`.

The same projections, read and written through the same methods as :class:`Views` (the
SQLite file), in tables of the database the event log lives in (or any other). What differs:

- several processes may hold the views at once. Each write transaction takes an advisory
  lock, so writers (replicas, projector processes) take turns; applying is idempotent per
  entity version and the tracked position never moves backwards, so a batch applied twice,
  by two writers, changes nothing the second time;
- a process sees the position another process's writes reached when it calls
  :meth:`PgViews.refresh` (one indexed read: the runtime calls it when woken by a NOTIFY,
  or on a short poll); its own writes wake its waiters at once, as on SQLite;
- each read is one ``REPEATABLE READ`` transaction: one snapshot, as on SQLite.
"""

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from contract.changes import Change
from projections import pg
from projections.dialect import Connection
from projections.feeding import tracking
from projections.views import OWN_TABLES, SCHEMA, VIEWS_VERSION, Views, apply_changes

log = logging.getLogger(__name__)


class PgViews(Views):
    """The projections in PostgreSQL tables, and the store position they reflect.

    ``dsn``: a libpq connection string. ``pool_size``: connections at most (reads run in
    parallel, one write at a time per process). A connection waits at most
    ``connect_timeout_s`` for the database; a statement runs at most ``statement_timeout_s``
    (0: no limit). Opening makes or migrates the tables (see :func:`projections.pg.migrate`),
    so it needs the database.
    """

    shared = True  # every replica's catch-up may write them

    def __init__(self, dsn: str, *, pool_size: int = 4, connect_timeout_s: float = 3,
                 statement_timeout_s: float = 10) -> None:
        self.dsn = dsn
        options = {"connect_timeout": max(1, round(connect_timeout_s))}
        settings = {"options": f"-c statement_timeout={int(statement_timeout_s * 1000)}"}
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=max(2, pool_size), open=False, name="pdl-views",
            timeout=connect_timeout_s, reconnect_timeout=0,  # never give up reconnecting
            kwargs={"autocommit": True, **options, **(settings if statement_timeout_s else {})},
            configure=_configure, check=ConnectionPool.check_connection)
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
            with self._pool.connection() as conn:
                pg.migrate(conn, VIEWS_VERSION, SCHEMA, OWN_TABLES)
                position = tracking.tracked(pg.PgConnection(conn))
        except BaseException:
            self._pool.close()
            raise
        self._write_lock = threading.Lock()
        self._start_at(position)

    def close(self) -> None:
        """Close every connection (the pool); stop the catch-up feeding these views first."""
        self._pool.close()

    def refresh(self) -> int:
        """Take up the position recorded by any process's writes; returns it. One read."""
        with self._pool.connection() as conn:
            position = tracking.tracked(pg.PgConnection(conn))
        self._advance_to(position)
        return position

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, the writers of every process taking turns; waiters in
        this process are woken after it commits."""
        with self._write_lock, self._pool.connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            conn.read_only = False
            with conn.transaction():
                db = pg.PgConnection(conn)
                db.execute("SELECT pg_advisory_xact_lock(?)", (pg.WRITE_LOCK,))
                yield db
                position = tracking.tracked(db)
        self._advance_to(position)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A pooled connection inside one read-only ``REPEATABLE READ`` transaction: a
        consistent snapshot, for answers assembled from several reads."""
        with self._pool.connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                yield pg.PgConnection(conn)

    def rebuild(self, pages: Iterable[list[Change]], position: int) -> None:
        """Replace every row with those of ``pages`` (the whole log in order, up to
        ``position``), in one transaction: readers see the old views until it commits,
        and other writers wait for it."""
        with self.transaction() as conn:
            for name in (*OWN_TABLES, "tracking"):
                if name != "search_index":
                    conn.execute(f"DELETE FROM {name}")
            for changes in pages:
                apply_changes(conn, changes)
            tracking.track(conn, position)


def _configure(conn: "psycopg.Connection[Any]") -> None:
    conn.row_factory = pg.rows


def open_views(location: Path | str, **options: Any) -> Views:
    """The views at ``location``: in the SQLite file at a :class:`~pathlib.Path`; in
    PostgreSQL for a libpq connection string (``postgresql://…`` or ``host=… dbname=…``),
    with ``options`` for :class:`PgViews`."""
    if isinstance(location, Path):
        return Views(location)
    return PgViews(location, **options)
