"""Who publishes: exactly one relay per store, elected by a lease.

Any replica (a ``pdl serve`` with Kafka configured, or a ``pdl relay``) may run the relay
loop; only the holder of the store's relay lease publishes. The others are candidates: they
try to take the lease every second, and take it over once its holder stops renewing it.

- On PostgreSQL (:class:`PgRelayLease`) the lease is a row with a holder, an **epoch** and an
  expiry, all judged by the database's clock. The holder renews it on every round; a holder
  that has not managed to renew within ``ttl_s`` (measured on its own monotonic clock from
  before its last successful renewal) no longer counts itself leader. A candidate takes the
  lease once it has expired, and the epoch goes up.
- On SQLite (one host) it is an exclusive ``flock`` on ``<data>/relay.lock``
  (:class:`FileRelayLease`): the operating system releases it when the holder dies.

A lease alone cannot stop a leader that was paused (SIGSTOP, a long GC, a VM migration) after
checking it: it resumes believing it still leads. The relay therefore also publishes in Kafka
transactions under one ``transactional.id`` per store and target (see
:class:`services.streaming.kafka_io.Publisher`): a new leader's producer fences every older
one at the broker, so a deposed leader that wakes up late cannot publish a single message.
"""

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from services.store.leadership import FileLease

log = logging.getLogger("pdl.relay")


@dataclass(frozen=True)
class Leadership:
    """Who holds a lease, since when, and the epoch of the holding (for logs and probes)."""

    holder: str | None
    since: datetime | None = None
    epoch: int | None = None


class RelayLease(Protocol):
    """The lease a relay must hold to publish."""

    #: This candidate's name (host, process, and a random part).
    me: str

    def try_acquire(self) -> bool:
        """Take the lease, or renew it if held; whether it is held now."""
        ...

    @property
    def held(self) -> bool:
        """Whether this candidate holds the lease at this moment (no round trip)."""
        ...

    def release(self) -> None:
        """Give the lease up at once (a clean stop: no need to wait for it to expire)."""
        ...

    def leadership(self) -> Leadership:
        """Who holds the lease now, as far as this candidate can tell."""
        ...


def candidate_name() -> str:
    """A name for this process as a candidate: unique even across restarts on one host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class FileRelayLease:
    """The relay lease on one host: a ``flock`` (see :class:`FileLease`)."""

    def __init__(self, lease: FileLease) -> None:
        self._lease = lease
        self.me = candidate_name()
        self._since: datetime | None = None

    def try_acquire(self) -> bool:
        if not self._lease.held and self._lease.try_acquire():
            self._since = datetime.now().astimezone()
        return self._lease.held

    @property
    def held(self) -> bool:
        return self._lease.held

    def release(self) -> None:
        self._lease.release()
        self._since = None

    def leadership(self) -> Leadership:
        if self._lease.held:
            return Leadership(self.me, self._since)
        pid = self._lease.holder()
        return Leadership(f"pid {pid}" if pid is not None else None)


class PgRelayLease:
    """The relay lease in PostgreSQL: a row per store and target, renewed by its holder."""

    COMPONENT = "relay_leases"
    MIGRATIONS = [[
        """CREATE TABLE IF NOT EXISTS relay_leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
    ]]
    #: Take the lease if it is free or expired, or renew it if this candidate holds it; the
    #: epoch goes up, and ``since`` moves, only when the holder changes hands.
    _TAKE = """
        INSERT INTO relay_leases AS l (name, holder, epoch, since, expires_at)
        VALUES (%(name)s, %(me)s, 1, clock_timestamp(),
                clock_timestamp() + make_interval(secs => %(ttl)s))
        ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder,
            epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
            since = CASE WHEN l.holder = excluded.holder THEN l.since ELSE clock_timestamp() END,
            expires_at = clock_timestamp() + make_interval(secs => %(ttl)s)
        WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp()
        RETURNING epoch, since"""

    def __init__(self, pool: ConnectionPool, name: str, *, ttl_s: float) -> None:
        self._pool = pool
        self.name = name
        self.ttl_s = ttl_s
        self.me = candidate_name()
        self._lock = threading.Lock()
        #: Until when (monotonic) the lease is certainly held: ``ttl_s`` after the start of
        #: the last renewal the database accepted.
        self._valid_until = 0.0
        self._held = Leadership(None)

    @property
    def held(self) -> bool:
        return time.monotonic() < self._valid_until

    def try_acquire(self) -> bool:
        started = time.monotonic()
        try:
            with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
                row = cursor.execute(self._TAKE, {"name": self.name, "me": self.me,
                                                  "ttl": self.ttl_s}).fetchone()
        except psycopg.Error as error:
            log.warning("Could not renew or take the relay lease (%s).", error)
            return self.held
        with self._lock:
            if row is None:
                self._valid_until = 0.0
            else:
                self._valid_until = started + self.ttl_s
                self._held = Leadership(self.me, row[1], row[0])
        return row is not None

    def release(self) -> None:
        with self._lock:
            if self._valid_until:
                self._valid_until = 0.0
                try:
                    with self._pool.connection() as conn:
                        conn.execute("UPDATE relay_leases SET expires_at = clock_timestamp() "
                                     "WHERE name = %s AND holder = %s",
                                     (self.name, self.me))
                except psycopg.Error as error:
                    log.warning("Could not give the relay lease up (%s); it expires in %.0f s.",
                                error, self.ttl_s)

    def leadership(self) -> Leadership:
        if self.held:
            return self._held
        try:
            with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
                row = cursor.execute(
                    "SELECT holder, since, epoch FROM relay_leases WHERE name = %s "
                    "AND expires_at > clock_timestamp()", (self.name,)).fetchone()
        except psycopg.Error:
            return Leadership(None)
        return Leadership(row[0], row[1], row[2]) if row else Leadership(None)
