"""Everything a running service holds, built from one :class:`Settings` and closed together."""

import contextlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.identity.idempotency import IdempotencyStore
from services.identity.pg_stores import PgIdempotencyStore, PgTokenStore
from services.identity.tokens import TokenStore
from services.runtime.bootstrap import (
    Identity,
    build_application,
    build_checkpointer,
    build_listener,
    build_relay,
    build_views,
    open_identity,
    written_files,
)
from services.runtime.notifications import Listener
from services.runtime.settings import Settings
from services.store.checkpoints import Checkpointer
from services.store.leadership import FileLease
from services.streaming.relay import Relay

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The application, its views and their catch-up, and the service's own stores.

    With a ``lease`` (several processes on one data folder), only the process holding it
    runs the work done once per store — the views' catch-up, the relay, WAL checkpoints;
    the others follow the position the leader's catch-up records in the views file, and
    take the lease over if its holder dies.
    """

    settings: Settings
    app: DecisionLog
    views: Views
    catchup: StoreCatchUp
    tokens: TokenStore | PgTokenStore
    idempotency: IdempotencyStore | PgIdempotencyStore
    #: Publishes the event log to Kafka; None when Kafka is not configured.
    relay: Relay | None = None
    #: Keeps the WAL of every SQLite file the service writes bounded.
    checkpointer: Checkpointer | None = None
    #: Held by the one process of a data folder that catches up, relays and checkpoints.
    lease: FileLease | None = None
    #: On PostgreSQL: wakes the catch-up when another replica writes.
    listener: Listener | None = None
    #: Closed last (the PostgreSQL pool the tokens and keys use).
    identity: Identity | None = None
    #: How often a follower looks for the leader's progress (and the leader for writes of
    #: other processes).
    follow_interval_s: float = 0.005
    _follower: threading.Thread | None = field(default=None, init=False, repr=False)
    _started: bool = field(default=False, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False,
                                       repr=False)

    @property
    def leading(self) -> bool:
        """Whether this process runs the catch-up, the relay and the checkpoints."""
        return self.lease is None or self.lease.held

    def start(self) -> None:
        """Start keeping the views caught up with the event log (and Kafka, if configured),
        and the WAL files bounded — or, if another process does that, following it.
        Started already (a test's runtime, then the app's lifespan): nothing more."""
        if self._started:
            return
        self._started = True
        self._stopping.clear()
        if self.settings.views.feed == "kafka":  # fed by `pdl project --source kafka`
            log.info("Serving views fed from Kafka by `pdl project --source kafka`%s.",
                     "; a relay candidate" if self.relay is not None else "")
            if self.relay is not None:
                self.relay.start()  # the lease elects one publisher whatever the processes
            self._follower = threading.Thread(target=self._read_only, name="views-follower",
                                              daemon=True)
            self._follower.start()
            return
        if self.lease is None or self.lease.try_acquire():
            self._lead()
        else:
            self._follower = threading.Thread(target=self._follow, name="views-follower",
                                              daemon=True)
            self._follower.start()

    def notify(self) -> None:
        """Something was written: wake the views' catch-up (and the relay) at once."""
        self.catchup.notify()
        if self.relay is not None:
            self.relay.notify()

    def stop(self) -> None:
        """Stop the background workers started by :meth:`start`; the stores stay open."""
        self._started = False
        self._stopping.set()
        if self._follower is not None:
            self._follower.join()
            self._follower = None
        if self.listener is not None:
            self.listener.stop()
        self.catchup.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()

    def close(self) -> None:
        """Stop the background workers and close every store."""
        self.stop()
        if self.relay is not None:
            self.relay.close()
        self.views.close()
        if self.identity is not None:
            self.identity.close()
        else:
            self.idempotency.close()
            self.tokens.close()
        self.app.close()
        if self.lease is not None:
            self.lease.release()

    def _lead(self) -> None:
        log.info("Leading %s: catching up the views%s.", self.settings.data_dir,
                 ", relaying to Kafka" if self.relay is not None else "")
        self.catchup.start()
        if self.listener is not None:
            self.listener.start()
        if self.relay is not None:
            self.relay.start()
        if self.checkpointer is not None:
            self.checkpointer.start()

    def _read_only(self) -> None:
        """Take up the position the Kafka feed records, every few milliseconds."""
        while not self._stopping.wait(KAFKA_FED_REFRESH_S):
            try:
                self.views.refresh()
            except Exception as error:  # the store is away: try again
                log.warning("Reading the views position failed: %s", error)
                self._stopping.wait(1.0)

    def _follow(self) -> None:
        """Take up the views position the leader records; take the lease if it is free."""
        assert self.lease is not None
        next_try = time.monotonic() + LEASE_RETRY_S
        while not self._stopping.wait(self.follow_interval_s):
            try:
                self.views.refresh()
            except sqlite3.Error as error:  # e.g. the file is being swapped: try again
                log.warning("Following the views failed: %s", error)
            if time.monotonic() >= next_try:
                next_try = time.monotonic() + LEASE_RETRY_S
                if self.lease.try_acquire():
                    self._lead()
                    return


#: How often an API serving Kafka-fed views reads their position (one indexed read).
KAFKA_FED_REFRESH_S = 0.02

#: How often a follower tries to take the lease over.
LEASE_RETRY_S = 1.0


def make_private(settings: Settings) -> None:
    """Make the data folder (if new: mode 0700) and the SQLite files the service writes
    (mode 0600, also if they exist) readable by their owner only. Each file is created
    before SQLite opens it (an empty file is an empty database), because SQLite gives a
    database's ``-wal`` and ``-shm`` files the database file's own mode."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in written_files(settings):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for file in (path, path.with_name(path.name + "-wal"),
                     path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):  # no -wal, or just removed
                file.chmod(0o600)


def build_runtime(settings: Settings, *, shared: bool = False) -> Runtime:
    """Open the event log, the views and the service database named by ``settings``.

    ``shared``: other server processes use the same data folder (``pdl serve --workers``):
    take part in the leader lease, and look for their writes every few milliseconds.
    """
    make_private(settings)
    app = build_application(settings)
    views = build_views(settings)
    if settings.postgres:
        # Everything is shared through PostgreSQL: each process catches the shared views up
        # (idempotent; woken by NOTIFY) and is a relay candidate; no file lease, no polling.
        shared = False
    # Synced unless commands record their outcomes with their events (command batches).
    identity = open_identity(settings, synced=app.commands.batches is None)
    catchup = (StoreCatchUp(app, views, poll_interval=Runtime.follow_interval_s) if shared
               else StoreCatchUp(app, views))
    return Runtime(
        settings=settings,
        app=app,
        views=views,
        catchup=catchup,
        tokens=identity.tokens,
        idempotency=identity.idempotency,
        identity=identity,
        listener=build_listener(app, settings, catchup.notify),
        relay=build_relay(app, settings) if settings.kafka.relay else None,
        checkpointer=build_checkpointer(settings, *written_files(settings)),
        lease=FileLease(settings.data_dir / "leader.lock") if shared else None,
    )
