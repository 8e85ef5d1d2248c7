"""Whether this process should be sent traffic (``/readyz``), and how it stops taking it.

Ready means: not shutting down; every SQLite file of the service answers within
``PDL_API__READY_TIMEOUT_S``; the views at most ``PDL_API__READY_MAX_LAG`` events behind the
log; and, only if ``PDL_API__READY_MAX_RELAY_LAG`` is set, the Kafka relay at most that far
behind. The stores are asked from a thread of their own, with a deadline: a store that hangs
makes the probe answer "not ready" in time rather than hang it, and while such a look is
still running, later probes wait for it instead of starting another.

On SIGTERM (or Ctrl-C) readiness fails at once; the server keeps serving for
``PDL_API__SHUTDOWN_DRAIN_S`` (so a load balancer takes it out of rotation first), then stops
accepting and lets requests in flight finish (:func:`fail_readiness_on_signals`).
"""

import asyncio
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from services.runtime.bootstrap import written_files
from services.runtime.service import Runtime

log = logging.getLogger(__name__)


class StoresUnavailable(Exception):
    """A store did not answer, or answered with an error."""


@dataclass(frozen=True)
class Positions:
    """Where the log ends, and (with Kafka) how far the relay recorded it published."""

    log: int
    relay: int | None


@dataclass
class Report:
    """The answer of a readiness probe: ready or not, why not, and the figures behind it."""

    ready: bool
    reasons: list[str]
    figures: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "unready", "reasons": self.reasons,
                **self.figures}


class StoreLook:
    """One look at the stores, in a daemon thread of its own (it may never return)."""

    def __init__(self, look: Callable[[], Positions]) -> None:
        self.started = time.monotonic()
        self.future: Future[Positions] = Future()
        threading.Thread(target=self._run, args=(look,), name="readiness-look",
                         daemon=True).start()

    def _run(self, look: Callable[[], Positions]) -> None:
        try:
            self.future.set_result(look())
        except BaseException as error:
            self.future.set_exception(error)


class Readiness:
    """Answers ``/readyz`` for one process's :class:`Runtime`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.api
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._look: StoreLook | None = None

    @property
    def shutting_down(self) -> bool:
        return self._stopping.is_set()

    def shut_down(self) -> None:
        """From now on, never ready."""
        if not self._stopping.is_set():
            self._stopping.set()
            log.info("Shutting down: /readyz answers 503 from now on")

    async def check(self) -> Report:
        """Ready or not, within about ``ready_timeout_s``."""
        if self.shutting_down:
            return Report(False, ["shutting down"], {"leader": self.runtime.leading})
        try:
            positions = await self._positions()
        except StoresUnavailable as error:
            return Report(False, [str(error)], {"leader": self.runtime.leading})
        return self._judge(positions)

    async def _positions(self) -> Positions:
        with self._lock:
            look = self._look
            if look is None or look.future.done():
                look = self._look = StoreLook(self.look)
        waiting = asyncio.wrap_future(look.future)
        timeout = self.settings.ready_timeout_s
        done, _ = await asyncio.wait({waiting}, timeout=timeout)
        if not done:
            raise StoresUnavailable(f"the stores have not answered for "
                                    f"{time.monotonic() - look.started:.1f} s (timeout "
                                    f"{timeout:g} s: PDL_API__READY_TIMEOUT_S)")
        return waiting.result()

    def look(self) -> Positions:
        """Open each SQLite file afresh and read it; the log's end; the relay's position.
        Blocking: run by :class:`StoreLook`."""
        runtime = self.runtime
        for path in written_files(runtime.settings):
            answer(path, self.settings.ready_timeout_s)
        try:
            end = runtime.app.recorder.max_notification_id() or 0
            relay = runtime.relay.recorded_position() if runtime.relay is not None else None
        except Exception as error:
            raise StoresUnavailable(f"the event log: {error}") from error
        return Positions(end, relay)

    def _judge(self, positions: Positions) -> Report:
        runtime, limit = self.runtime, self.settings.ready_max_lag
        views = runtime.views.position
        lag = max(0, positions.log - views)
        reasons = []
        if lag > limit:
            reasons.append(f"the views are {lag} events behind the log (limit {limit}: "
                           "PDL_API__READY_MAX_LAG)")
        figures: dict[str, Any] = {"leader": runtime.leading, "log_position": positions.log,
                                   "views_position": views, "views_lag": lag}
        if runtime.relay is not None and positions.relay is not None:
            relay = max(positions.relay, runtime.relay.position)
            relay_lag = max(0, positions.log - relay)
            leading = runtime.leading and runtime.relay.leading
            state = ("run by another process" if not leading
                     else "kafka unreachable" if runtime.relay.failing else "publishing")
            held = runtime.relay.leadership()
            figures["relay"] = {"state": state, "position": relay, "lag": relay_lag,
                                "leading": leading, "leader": held.holder,
                                "since": held.since.isoformat() if held.since else None}
            relay_limit = self.settings.ready_max_relay_lag
            if relay_limit is not None and relay_lag > relay_limit:
                reasons.append(f"the Kafka relay is {relay_lag} events behind the log "
                               f"({state}; limit {relay_limit}: PDL_API__READY_MAX_RELAY_LAG)")
        return Report(not reasons, reasons, figures)


def answer(path: Path, timeout: float) -> None:
    """Open ``path`` (never creating it) and read its schema, waiting at most ``timeout``
    for a lock; raise :class:`StoresUnavailable` saying what failed."""
    try:
        connection = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True,
                                     timeout=timeout)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StoresUnavailable(f"{path.name}: {error}") from error


def fail_readiness_on_signals(readiness: Readiness, drain_s: float) -> None:
    """Put ourselves before the handlers the server installed for SIGTERM and SIGINT: the
    first signal fails readiness at once and, ``drain_s`` later, reaches the server's handler
    (which stops accepting, lets requests in flight finish, and shuts down); another signal
    reaches it at once. Only in the main thread, where signals are handled (a test client
    runs the app in another thread: nothing is done there)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        server_handler = signal.getsignal(signum)
        if callable(server_handler):
            signal.signal(signum, partial(_on_signal, readiness, server_handler, drain_s))


def _on_signal(readiness: Readiness, server_handler: Callable[[int, FrameType | None], Any],
               drain_s: float, signum: int, frame: FrameType | None) -> None:
    draining = readiness.shutting_down
    readiness.shut_down()
    if drain_s > 0 and not draining:
        log.info("Serving for %g s more before stopping (PDL_API__SHUTDOWN_DRAIN_S)", drain_s)
        timer = threading.Timer(drain_s, server_handler, args=(signum, None))
        timer.daemon = True
        timer.start()
    else:
        server_handler(signum, frame)
