"""PostgreSQL for the benchmarks: a durable server, a fresh database per log, raw psycopg.

The server is, in this order: the one ``BENCH_POSTGRES_DSN`` names; in ``--smoke`` runs, the
test command's throwaway one (``PDL_TEST_POSTGRES_DSN``, fsync off: fine for checking shapes,
never for figures); else a durable cluster started for the run with ``deploy/postgres.sh`` in
a temporary folder, and stopped after it. Each log gets a database of its own
(``CREATE DATABASE``), dropped when the benchmark ends. The server's durability settings are
recorded with every result.
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks.harness import Mode, log
from benchmarks.http import free_port

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "deploy/postgres.sh"
#: A server to run the benchmarks on (its maintenance database), instead of starting one.
SERVER_ENV = "BENCH_POSTGRES_DSN"
#: The test command's server (deploy/test.sh): used by ``--smoke`` runs only.
TEST_ENV = "PDL_TEST_POSTGRES_DSN"

#: The columns and indexes of eventsourcing's PostgreSQL events table, for raw baselines.
RAW_TABLE = (
    "CREATE TABLE stored_events (originator_id uuid NOT NULL, "
    "originator_version bigint NOT NULL, topic text, state bytea, "
    "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))",
    "CREATE UNIQUE INDEX stored_events_notification_id ON stored_events (notification_id)",
)
RAW_INSERT = ("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
              "VALUES (%s, %s, %s, %s) RETURNING notification_id")
RAW_INSERT_MANY = ("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                   "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
                   "RETURNING notification_id")
RAW_AFTER = ("SELECT notification_id, state FROM stored_events WHERE notification_id > %s "
             "ORDER BY notification_id LIMIT %s")
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")


def unavailable() -> str | None:
    """Why no PostgreSQL can be had here, or None."""
    if os.environ.get(SERVER_ENV) or os.environ.get(TEST_ENV) or _installable():
        return None
    return (f"no PostgreSQL: set {SERVER_ENV}, or install the server (Debian's postgresql) "
            "for deploy/postgres.sh")


def _installable() -> bool:
    binaries = any(Path(p).exists() for p in map(str, Path("/usr/lib/postgresql").glob(
        "*/bin/pg_ctl")))
    return binaries or (os.getuid() == 0 and shutil.which("apt-get") is not None)


@contextmanager
def server(mode: Mode) -> Iterator[str]:
    """The DSN of the server's maintenance database (see the module docstring)."""
    configured = os.environ.get(SERVER_ENV) or (
        os.environ.get(TEST_ENV) if mode == "smoke" else None)
    if configured:
        yield database_dsn(configured, "postgres")
        return
    run_dir = tempfile.mkdtemp(prefix="pdl-bench-pg-", dir="/tmp")
    env = {**os.environ, "PG_RUN_DIR": run_dir, "PG_PORT": str(free_port()), "PG_FAST": "0"}
    log(f"starting a durable PostgreSQL in {run_dir}")
    try:
        started = subprocess.run([str(SCRIPT), "start"], env=env, check=True,
                                 capture_output=True, text=True, timeout=300)
        yield database_dsn(started.stdout.strip().splitlines()[-1], "postgres")
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, check=False, capture_output=True,
                       timeout=120)
        shutil.rmtree(run_dir, ignore_errors=True)


def database_dsn(dsn: str, name: str) -> str:
    """``dsn`` with its database replaced by ``name``."""
    params: dict[str, Any] = {**conninfo_to_dict(dsn), "dbname": name}
    return make_conninfo(**params)


class Databases:
    """Fresh databases on one server, each dropped by :meth:`drop_all`."""

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.names: list[str] = []

    def create(self, label: str) -> str:
        """A new empty database; its DSN."""
        name = f"pdl_bench_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.names.append(name)
        return database_dsn(self.server_dsn, name)

    def drop_all(self) -> None:
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            for name in self.names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
        self.names.clear()

    def durability(self) -> dict[str, str]:
        """The server's settings that decide what a commit costs."""
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            return {f"pg_{name}": str(conn.execute(sql.SQL("SHOW {}").format(
                sql.Identifier(name))).fetchone()[0])  # type: ignore[index]
                for name in DURABILITY}


class RawPostgres:
    """The raw baseline on PostgreSQL: psycopg on a table with the events table's columns,
    one connection writing (autocommit off: each :meth:`insert` is one transaction)."""

    label = "psycopg, 1 connection"
    batch_insert = "INSERT … SELECT FROM unnest(…)"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = psycopg.connect(dsn)
        for statement in RAW_TABLE:
            self.conn.execute(statement)
        self.conn.commit()
        self._reader: psycopg.Connection[Any] | None = None

    @staticmethod
    def row(topic: str, state: bytes) -> tuple[Any, ...]:
        """A new event row: a fresh originator, version 1."""
        return (uuid.uuid4(), 1, topic, state)

    def insert(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert ``rows`` and commit; the last row's position."""
        if len(rows) == 1:
            found = self.conn.execute(RAW_INSERT, rows[0], prepare=True).fetchone()
        else:
            columns = [list(column) for column in zip(*rows, strict=True)]
            found = self.conn.execute(RAW_INSERT_MANY, columns, prepare=True).fetchall()[-1]
        self.conn.commit()
        assert found is not None
        return int(found[0])

    def after(self, position: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` rows after ``position`` (on a connection of their own)."""
        if self._reader is None:
            self._reader = psycopg.connect(self.dsn, autocommit=True)
        rows = self._reader.execute(RAW_AFTER, (position, limit), prepare=True).fetchall()
        return [(int(p), bytes(state)) for p, state in rows]

    def close(self) -> None:
        self.conn.close()
        if self._reader is not None:
            self._reader.close()
