"""Idempotency keys: a retried POST returns the original response and has no second effect.

A request with an ``Idempotency-Key`` first claims the key (an *in-flight* row), then runs,
then stores its response. While the key is claimed, a concurrent request with the same key
is told to retry later. Keys are scoped to the token's name and kept for
:data:`RETENTION` (24 hours); only successful (2xx) responses are kept, because a refused
request changed nothing and may simply be sent again.

Crashes: the events of a command are committed before its response is stored here (they
live in different files). If the process dies in between, the key stays in flight until
:data:`IN_FLIGHT_LEASE` passes; a retry after that runs the request again, but its command
finds the outcome it recorded with its events under the same key
(:mod:`services.store.command_keys`) and is not applied twice: the retry gets the original answer.
"""

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from services.identity import service_db

RETENTION = 24 * 3600.0
IN_FLIGHT_LEASE = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL,
    status INTEGER,
    headers TEXT,
    body BLOB,
    PRIMARY KEY (owner, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);
"""


def fingerprint(method: str, path: str, body: bytes, owner: str) -> str:
    """What makes two requests "the same request" for one key."""
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), owner.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Claim(Enum):
    """What happened when a request tried to claim its key."""

    claimed = "claimed"  # first use: run the request
    in_flight = "in_flight"  # the same request is running right now
    mismatch = "mismatch"  # the key was used for a different request
    replay = "replay"  # done before: send the stored response


class WouldWait(Exception):
    """Asked not to wait, the store would have: another thread or process is writing to it.
    Nothing was written."""


class IdempotencyStore:
    """Keys and stored responses in a SQLite file (the service's own database)."""

    def __init__(self, path: Path, retention: float = RETENTION,
                 lease: float = IN_FLIGHT_LEASE, *, synced: bool = True) -> None:
        """``synced=False`` when commands record their outcomes under their keys with their
        events (:mod:`services.store.command_keys`): then a commit here need not wait for the disk
        (WAL, ``synchronous=NORMAL``: it survives the process being killed). A power cut
        may lose the last claims and responses; a retry then runs the request again, and
        its command answers from the outcome it recorded. Such writes are cheap enough for
        the HTTP middleware to make on the event loop, without a thread hop (measured on
        benchmark row 3: see "Figures behind design choices" in benchmarks/README.md)."""
        self.retention = retention
        self.lease = lease
        self.synced = synced
        self._db = service_db.connect(path, SCHEMA)
        if not synced:
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout = 0")  # a write that may wait raises it: _turn
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def claim(self, owner: str, key: str, print_: str, *,
              wait: bool = True) -> tuple[Claim, StoredResponse | None]:
        """Claim ``key`` for the request with fingerprint ``print_``, atomically (``wait``:
        see :meth:`_turn`)."""
        now = time.time()
        with self._turn(wait):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = self._claim(owner, key, print_, now)
            finally:
                self._db.execute("COMMIT")
        return result

    def _claim(self, owner: str, key: str, print_: str,
               now: float) -> tuple[Claim, StoredResponse | None]:
        self._db.execute("DELETE FROM idempotency_keys WHERE created_at < ?",
                         (now - self.retention,))
        row = self._db.execute(
            "SELECT fingerprint, created_at, status, headers, body FROM idempotency_keys "
            "WHERE owner = ? AND key = ?", (owner, key)).fetchone()
        abandoned = row is not None and row[2] is None and row[1] < now - self.lease
        if row is None or abandoned:
            self._db.execute(
                "INSERT OR REPLACE INTO idempotency_keys (owner, key, fingerprint, created_at) "
                "VALUES (?, ?, ?, ?)", (owner, key, print_, now))
            return Claim.claimed, None
        if row[0] != print_:
            return Claim.mismatch, None
        if row[2] is None:
            return Claim.in_flight, None
        headers = [(k, v) for k, v in json.loads(row[3])]
        return Claim.replay, StoredResponse(status=row[2], headers=headers, body=row[4])

    def complete(self, owner: str, key: str, response: StoredResponse, *,
                 wait: bool = True) -> None:
        """Store the response of the request that claimed ``key``."""
        with self._turn(wait):
            self._db.execute(
                "UPDATE idempotency_keys SET status = ?, headers = ?, body = ? "
                "WHERE owner = ? AND key = ?",
                (response.status, json.dumps(response.headers), response.body, owner, key))

    def release(self, owner: str, key: str, *, wait: bool = True) -> None:
        """Forget a claim whose request failed, so it can be sent again."""
        with self._turn(wait):
            self._db.execute(
                "DELETE FROM idempotency_keys WHERE owner = ? AND key = ? AND status IS NULL",
                (owner, key))

    @contextmanager
    def _turn(self, wait: bool) -> Iterator[None]:
        """This store's connection, for one write: waiting for this process's other writers
        and for the file's write lock (up to :data:`service_db.BUSY_TIMEOUT_S`); with
        ``wait=False``, raising :class:`WouldWait` instead of waiting for either (a caller
        on the event loop then writes from a worker thread)."""
        if not self._lock.acquire(blocking=wait):
            raise WouldWait
        try:
            if not wait:  # the common case (on the event loop): the connection's own timeout
                try:
                    yield
                except sqlite3.OperationalError as error:
                    # Only taking the write lock can be busy (BEGIN IMMEDIATE, or the single
                    # statement of an autocommit write): nothing was written. The code may be
                    # an extended one (e.g. SQLITE_BUSY_RECOVERY): its low byte is the
                    # primary code.
                    if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                        raise WouldWait from error
                    raise
                return
            self._db.execute(f"PRAGMA busy_timeout = {service_db.BUSY_TIMEOUT_S * 1000}")
            try:
                yield
            finally:
                self._db.execute("PRAGMA busy_timeout = 0")
        finally:
            self._lock.release()
