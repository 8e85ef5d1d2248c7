"""Group commit: saves that arrive together are committed in one SQLite transaction.

SQLite in WAL mode with ``synchronous=FULL`` pays one fsync per commit, so one transaction per
command caps a busy server at a few thousand commands a second. :class:`GroupCommitRecorder`
lets concurrent ``Application.save`` calls share a commit, without weakening anything:

- **Durability**: ``insert_events`` returns only after the transaction holding its events
  has committed; a failed commit fails every command in it.
- **Concurrency checks**: a command that conflicts (same aggregate version already stored) has
  only its own inserts undone (its failed statement, or its ``SAVEPOINT`` if it wrote several
  events) and fails alone with eventsourcing's ``IntegrityError``; the rest of the batch
  commits. Any other database error fails (and rolls back) the whole batch.
- **Positions**: each command gets the rowids of its own inserts, so ``Recording``
  notification ids (and ``Outcome.position``) are exactly what a solo commit would give.

There is no committer thread. The first waiting caller becomes the *leader*: it takes up to
``max_batch`` queued commands (its own among them), optionally waits up to ``max_wait`` seconds
for the batch to fill, commits, hands each caller its outcome, and passes leadership on. While
a leader's fsync runs, the next batch queues up by itself, so batches grow with the load and a
lone command is never delayed.
"""

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

#: Topic for eventsourcing's ``APPLICATION_RECORDER_TOPIC`` setting.
TOPIC = "services.group_commit:GroupCommitRecorder"

_TRANSLATIONS: tuple[tuple[type[sqlite3.Error], type[PersistenceError]], ...] = (
    (sqlite3.InterfaceError, InterfaceError),
    (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
)


def translate(error: BaseException) -> BaseException:
    """eventsourcing's exception for an ``sqlite3`` error, as its own transactions raise."""
    for sqlite_error, persistence_error in _TRANSLATIONS:
        if isinstance(error, sqlite_error):
            return persistence_error(error)
    if isinstance(error, sqlite3.Error):
        return PersistenceError(error)
    return error


class _Pending:
    """One caller's events waiting for a commit, and then its outcome."""

    __slots__ = ("error", "events", "ids", "kwargs")

    def __init__(self, events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> None:
        self.events = events
        self.kwargs = kwargs
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.ids is not None or self.error is not None

    def outcome(self) -> Sequence[int]:
        if self.error is not None:
            raise self.error
        assert self.ids is not None
        return self.ids


class GroupCommitRecorder(SQLiteApplicationRecorder):
    """An SQLite application recorder whose concurrent ``insert_events`` share commits.

    Configure after construction (eventsourcing builds recorders from a topic, without
    arguments): see :func:`configure`.
    """

    #: Most commands committed in one transaction.
    max_batch: int = 100
    #: How long a leader waits for a batch to fill (seconds); 0 commits whatever has queued.
    max_wait: float = 0.0

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)  # outcomes ready / leadership free
        self._arrived = threading.Condition(self._lock)  # a command joined the queue
        self._queue: deque[_Pending] = deque()
        self._leading = False
        #: Counters for benchmarks and diagnostics (written by the leader only).
        self.batches = 0
        self.commands = 0

    @property
    def queued(self) -> int:
        """Commands waiting for the next group commit."""
        with self._lock:
            return len(self._queue)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` in the next group commit; return their positions."""
        pending = _Pending(stored_events, kwargs)
        with self._lock:
            self._queue.append(pending)
            self._arrived.notify()
            while self._leading and not pending.done:
                self._turn.wait()
            if pending.done:
                return pending.outcome()
            self._leading = True
        try:
            while not pending.done:
                self._commit(self._next_batch())
        finally:
            with self._lock:
                self._leading = False
                self._turn.notify_all()
        return pending.outcome()

    def _next_batch(self) -> list[_Pending]:
        with self._lock:
            if self.max_wait > 0 and len(self._queue) < self.max_batch:
                deadline = time.monotonic() + self.max_wait
                while len(self._queue) < self.max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._arrived.wait(remaining):
                        break
            take = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(take)]

    def _commit(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction and give each command its outcome; never raises."""
        try:
            with self.datastore.get_connection(commit=True) as connection:
                cursor = connection.cursor()
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    inserted = {id(p): self._insert_one(cursor, p) for p in batch}
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
                finally:
                    cursor.sqlite_cursor.close()
        except BaseException as error:
            failure = translate(error)
            for pending in batch:
                pending.error = failure
        else:
            # Outcomes are handed out only now, after the commit: a command that lost a
            # race must not retry before the winner's events are visible.
            for pending in batch:
                ids, conflict = inserted[id(pending)]
                if conflict is None:
                    pending.ids = ids
                else:
                    pending.error = conflict
        finally:
            for pending in batch:  # whatever happened, no caller is left waiting
                if not pending.done:
                    pending.error = OperationalError("group commit abandoned this command")
            self.batches += 1
            self.commands += len(batch)
            with self._lock:
                self._turn.notify_all()

    def _insert_one(
        self, cursor: SQLiteCursor, pending: _Pending
    ) -> tuple[Sequence[int], BaseException | None]:
        """Insert one command's events; if they conflict, undo only them and fail only it.

        A failed ``INSERT`` undoes itself and leaves the transaction open, so a one-event
        command needs no savepoint; a command of several events gets one, so that a conflict
        on its second event also takes back its first. Any other database error fails the
        whole batch (the caller rolls it back).
        """
        several = len(pending.events) > 1
        if several:
            cursor.execute("SAVEPOINT command")
        try:
            ids = self._insert_events(cursor, pending.events, **pending.kwargs) or []
        except sqlite3.IntegrityError as error:
            if several:
                cursor.execute("ROLLBACK TO command")
                cursor.execute("RELEASE command")
            if not cursor.sqlite_cursor.connection.in_transaction:
                raise  # SQLite gave up the whole transaction: fail the batch
            return [], translate(error)
        if several:
            cursor.execute("RELEASE command")
        return ids, None


def configure(recorder: object, *, max_batch: int, max_wait_ms: float) -> None:
    """Set the batch bounds of ``recorder`` if it is a :class:`GroupCommitRecorder`."""
    if isinstance(recorder, GroupCommitRecorder):
        recorder.max_batch = max_batch
        recorder.max_wait = max_wait_ms / 1000
