"""Keeps the views up to date with the event store, in a background thread.

Each batch of stored events is applied together with its store position in ONE views
transaction, so a crash at any point resumes exactly where the views say they are.
The thread wakes at once when :meth:`StoreCatchUp.notify` is called after a write in
this process, and otherwise polls, because other processes may write to the same store.
"""

import logging
import threading

from projections.feeding.decode import ChangeDecoder
from projections.feeding.event_log import EventLog
from projections.views import Views

log = logging.getLogger(__name__)

BATCH_SIZE = 500
POLL_INTERVAL_S = 0.2
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


class StoreCatchUp:
    """Applies stored events to :class:`Views`, from the position the views reached."""

    def __init__(self, app: EventLog, views: Views, *, batch_size: int = BATCH_SIZE,
                 poll_interval: float = POLL_INTERVAL_S) -> None:
        self.app = app
        self.views = views
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._batch_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._decode = ChangeDecoder(app.mapper)

    def start(self) -> None:
        """Start following the store in a daemon thread."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="views-catch-up", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it; a batch in progress finishes first."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def notify(self) -> None:
        """Something was written: catch up now rather than at the next poll."""
        self._wake.set()

    def run_until_caught_up(self) -> int:
        """Apply everything stored so far, synchronously; returns the position reached."""
        while self.step() == self.batch_size:
            pass
        return self.views.position

    def step(self) -> int:
        """Apply the next batch of stored events; returns how many notifications it read."""
        with self._batch_lock:
            if self.views.shared:  # another replica may have applied the next batch already
                self.views.refresh()
            notifications = self.app.recorder.select_notifications(
                start=self.views.position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            decode = self._decode
            changes = [decode(n, n.id) for n in notifications]
            self.views.apply([c for c in changes if c is not None], notifications[-1].id)
            return len(notifications)

    def _run(self) -> None:
        backoff = FIRST_BACKOFF_S
        failing = False
        self._log_start()
        while not self._stopping.is_set():
            try:
                read = self.step()
            except Exception:
                # Never skip a batch: log, wait, and retry the same position.
                log.exception("Catching up the views failed at position %d; retrying in "
                              "%.1f s", self.views.position, backoff)
                failing = True
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if failing:
                log.info("Catching up the views works again, at position %d",
                         self.views.position)
            failing, backoff = False, FIRST_BACKOFF_S
            if read < self.batch_size:
                self._idle()
        log.info("Views catch-up stopped at position %d", self.views.position)

    def _log_start(self) -> None:
        try:
            end = self.app.recorder.max_notification_id() or 0
        except Exception as error:  # the loop will say more, and retry
            log.warning("Views catch-up starting; the log's end is unknown (%s)", error)
            return
        log.info("Views catch-up starting at position %d; the log ends at %d (%d behind)",
                 self.views.position, end, max(0, end - self.views.position))

    def _idle(self) -> None:
        """Sleep until notified, stopped, or the poll interval passes."""
        self._wake.wait(self.poll_interval)
        self._wake.clear()
