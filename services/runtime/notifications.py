"""Wake-ups from other replicas: PostgreSQL ``LISTEN`` on the event log's channel.

Every transaction that writes events sends ``NOTIFY`` on the log's channel
(:mod:`services.store.pg_group_commit`); PostgreSQL delivers it, at commit, to every session
listening. :class:`Listener` holds one such session per process and calls ``wake`` for each
notification, so a read with ``?after=`` on replica B, of a write made on replica A, waits
for B's catch-up to be woken, not for its next poll.

The listening connection may drop (the database restarts, a network blip): the listener
reconnects with a growing pause, and wakes the catch-up once it is back (writes made
meanwhile sent their notifications to nobody). The catch-up's own poll is the fallback.
"""

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from services.store import postgres

log = logging.getLogger(__name__)

FIRST_PAUSE_S = 0.2
MAX_PAUSE_S = 5.0


class Listener:
    """Calls ``wake`` whenever another session notifies ``channel`` (and after reconnecting)."""

    def __init__(self, dsn: str, channel: str, wake: Callable[[], None], *,
                 connect_timeout_s: float = 3.0) -> None:
        self.dsn = dsn
        self.channel = channel
        self.wake = wake
        self.connect_timeout_s = connect_timeout_s
        #: Set while the listening session is connected.
        self.listening = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # the thread sees it within a second (notifies' timeout)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        pause = FIRST_PAUSE_S
        while not self._stopping.is_set():
            try:
                self._listen()
                pause = FIRST_PAUSE_S
            except psycopg.Error as error:
                if self._stopping.is_set():
                    break
                if self.listening.is_set():
                    log.warning("Lost the PostgreSQL notifications (%s); reconnecting.", error)
                self.listening.clear()
                self._stopping.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_S)

    def _listen(self) -> None:
        kwargs = postgres.connect_kwargs(self.connect_timeout_s, 0)
        with psycopg.connect(self.dsn, autocommit=True, **kwargs) as conn:
            conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(self.channel)))
            if not self.listening.is_set():
                log.info("Listening for writes of other replicas on channel %s.",
                         self.channel)
            self.listening.set()
            self.wake()  # writes made while not listening notified nobody
            while not self._stopping.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    self.wake()
