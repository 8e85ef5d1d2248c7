"""Replicas of ``pdl serve`` sharing one PostgreSQL database, as production runs them: each its
own process and data folder (its views), the database their only common ground."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.api.driver import Api
from tests.api.processes import Server, pdl, serving

#: The longest a read with ``?after=`` waits for a replica's views (the tests' own bound).
CATCH_UP_S = "10"


def on_postgres(dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a replica (or of the CLI) on the database at ``dsn``."""
    return {"PDL_STORE__KIND": "postgres", "PDL_STORE__DSN": dsn,
            "PDL_API__READ_YOUR_WRITES_TIMEOUT_S": CATCH_UP_S, **extra}


def first_admin(dsn: str, somewhere: Path) -> str:
    """The first admin token, made once for every replica with ``pdl token create``."""
    made = pdl("--data-dir", str(somewhere), "token", "create", "--role", "admin",
               "--name", "admin", **on_postgres(dsn))
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@contextmanager
def replica(tmp_path: Path, name: str, dsn: str, **env: str) -> Iterator[Server]:
    """``pdl serve --workers 1`` on the data folder ``tmp_path/name`` and the shared database."""
    with serving(tmp_path / name, tmp_path / "logs", workers=1, **on_postgres(dsn, **env)) \
            as server:
        yield server


@contextmanager
def clients(token: str, *servers: Server) -> Iterator[list[Api]]:
    """One API driver per server, as the holder of ``token``."""
    https = [httpx.Client(base_url=server.url, timeout=30) for server in servers]
    try:
        yield [Api(http, token) for http in https]
    finally:
        for http in https:
            http.close()


def whole_audit(api: Api, after: int) -> list[dict[str, Any]]:
    """Every page of ``/audit``, once the views have reached ``after``."""
    items: list[dict[str, Any]] = []
    page = api.read("/audit", after=after, limit=500)
    items += page["items"]
    while page["next_cursor"] is not None:
        page = api.read("/audit", after=after, limit=500, cursor=page["next_cursor"])
        items += page["items"]
    return items


def stored_events(dsn: str) -> set[tuple[str, int]]:
    """Every (entity, version) in the shared event log."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT originator_id::text, originator_version FROM decisionlog_events").fetchall()
    return {(str(entity), int(version)) for entity, version in rows}


def log_position(dsn: str) -> int:
    """The position of the last event in the shared log."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT max(notification_id) FROM decisionlog_events").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def in_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(0)`` ... ``work(count - 1)`` at once, each on its own thread; re-raise the
    first failure."""
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as failure:  # re-raised on the test's thread
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def eventually(check: Callable[[], bool], within_s: float, every_s: float = 0.2) -> bool:
    """Whether ``check()`` holds at some moment within ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every_s)
    return check()
