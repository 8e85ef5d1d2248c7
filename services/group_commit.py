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
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ConnectionPoolClosedError,
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
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

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


#: Fewest one-row commands in a batch for which one ``executemany`` (plus a query for the
#: highest rowid before and the last one after) beats an ``INSERT`` each.
_MANY = 4


class _NotConsecutive(Exception):
    """A multi-row insert did not get consecutive rowids: redo the batch row by row."""


class _Pending:
    """One caller's rows waiting for a commit, and then its outcome.

    ``wake`` is held from creation; it is released once, by the leader that commits these rows
    (the outcome is then set) or by one that hands this caller the leadership (``lead``).
    """

    __slots__ = ("error", "ids", "lead", "rows", "wake")

    def __init__(self, rows: list[tuple[str, int, str, bytes]]) -> None:
        self.rows = rows
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.lead = False
        self.wake = threading.Lock()
        self.wake.acquire()

    @property
    def done(self) -> bool:
        return self.ids is not None or self.error is not None

    def outcome(self) -> Sequence[int]:
        if self.error is not None:
            raise self.error
        assert self.ids is not None
        return self.ids


class _Connections:
    """The recorder's own SQLite connections to the store's file, reused, one per user.

    They cache their prepared statements (eventsourcing's pooled connections keep only one,
    so alternating statements are compiled again each time). Readers are read-only, each read
    one ``SELECT`` in autocommit mode: its own read transaction, which in WAL mode sees
    everything committed before it started and never waits for the writer.
    """

    def __init__(self, db_name: str, timeout: float, *, read_only: bool) -> None:
        self.db_name = db_name
        self.timeout = timeout
        self.read_only = read_only
        self._free: list[sqlite3.Connection] = []
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> sqlite3.Connection:
        try:
            return self._free.pop()  # atomic: one thread per connection
        except IndexError:
            pass
        connection = sqlite3.connect(self.db_name, uri=True, check_same_thread=False,
                                     isolation_level=None, timeout=self.timeout,
                                     cached_statements=32)
        if self.read_only:
            connection.execute("PRAGMA query_only=ON")
            # Small page caches: another connection's commit empties a reader's cache anyway.
            connection.execute("PRAGMA cache_size=-256")
        with self._lock:
            if self.closed:
                connection.close()
                raise ConnectionPoolClosedError
            self._opened.append(connection)
        return connection

    def put(self, connection: sqlite3.Connection) -> None:
        self._free.append(connection)
        if self.closed:
            self.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            opened, self._opened = self._opened, []
            self._free.clear()
        for connection in opened:
            connection.close()


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
        self._arrived = threading.Condition(self._lock)  # a command joined the queue
        self._queue: deque[_Pending] = deque()
        self._leading = False
        #: Counters for benchmarks and diagnostics (written by the leader only).
        self.batches = 0
        self.commands = 0
        pool = datastore.pool
        self._readers: _Connections | None = None
        self._writers: _Connections | None = None
        if not pool.is_sqlite_memory_mode:  # (in memory, only the pool's connections share it)
            timeout = pool.lock_timeout or 5.0
            self._readers = _Connections(pool.db_name, timeout, read_only=True)
            self._writers = _Connections(pool.db_name, timeout, read_only=False)
            readers, writers = self._readers, self._writers
            weakref.finalize(self, readers.close)
            weakref.finalize(self, writers.close)
            close_datastore = datastore.close

            def close() -> None:  # the application closes its datastore: ours go with it
                readers.close()
                writers.close()
                close_datastore()

            datastore.close = close  # type: ignore[method-assign]
        self._select_statements: dict[tuple[bool, bool, bool, bool], str] = {}
        self._max_rowid_statement = f"SELECT MAX(rowid) FROM {self.events_table_name}"

    @property
    def queued(self) -> int:
        """Commands waiting for the next group commit."""
        with self._lock:
            return len(self._queue)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` in the next group commit; return their positions.

        (``kwargs``, e.g. ``tracking=None``, are ignored, as eventsourcing's SQLite
        application recorder ignores them.)
        """
        if not stored_events:
            return []
        # The rows are made here, by each caller: the leader only executes.
        pending = _Pending([
            (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
             s.originator_version, s.topic, s.state)
            for s in stored_events
        ])
        with self._lock:
            self._queue.append(pending)
            if self.max_wait > 0:
                self._arrived.notify()  # a leader may be waiting for the batch to fill
            lead = not self._leading
            self._leading = True
        if not lead:
            pending.wake.acquire()  # committed by a leader, or handed the leadership
            if not pending.lead:
                return pending.outcome()
        try:
            while not pending.done:
                self._commit(self._next_batch())
        finally:
            self._hand_over()
        return pending.outcome()

    def _hand_over(self) -> None:
        """Make the oldest waiting caller the leader, or leave no leader if none waits."""
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake.release()
            else:
                self._leading = False

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
            # The pool's writer connection is this process's turn to write (eventsourcing's
            # writer lock); the transaction runs on the recorder's own writer connection
            # (statements stay compiled), or on the pool's for an in-memory database.
            pool = self.datastore.pool
            pooled = pool.get_connection(is_writer=True)
            writers = self._writers
            own = None
            try:
                own = writers.get() if writers is not None else None
                connection = own or pooled.cursor().sqlite_cursor.connection
                inserted = self._transaction(connection, batch)
            finally:
                if own is not None and writers is not None:
                    writers.put(own)
                pool.put_connection(pooled)
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
            for pending in batch:
                pending.wake.release()

    def _transaction(
        self, connection: sqlite3.Connection, batch: list[_Pending]
    ) -> dict[int, tuple[Sequence[int], BaseException | None]]:
        """Insert ``batch`` in one transaction on ``connection`` and commit it."""
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._insert_batch(cursor, batch)
            except _NotConsecutive:
                connection.rollback()
                cursor.execute("BEGIN IMMEDIATE")
                inserted = {id(p): self._insert_rows(cursor, p) for p in batch}
            connection.commit()
            return inserted
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def _insert_batch(
        self, cursor: sqlite3.Cursor, batch: list[_Pending]
    ) -> dict[int, tuple[Sequence[int], BaseException | None]]:
        """Insert the batch in order: runs of one-row commands with one ``executemany``
        each, commands of several rows one by one (see :meth:`_insert_rows`); a small batch
        one command at a time."""
        if len(batch) < _MANY or sum(len(p.rows) == 1 for p in batch) < _MANY:
            # not worth the two extra queries
            return {id(p): self._insert_rows(cursor, p) for p in batch}
        results: dict[int, tuple[Sequence[int], BaseException | None]] = {}
        (last,) = cursor.execute(self._max_rowid_statement).fetchone()
        last = last or 0
        run: list[_Pending] = []
        for pending in batch:
            if len(pending.rows) == 1:
                run.append(pending)
                continue
            last = self._insert_run(cursor, run, last, results)
            run = []
            results[id(pending)] = self._insert_rows(cursor, pending)
            if results[id(pending)][1] is None:
                last = max([last, *results[id(pending)][0]])
        self._insert_run(cursor, run, last, results)
        return results

    def _insert_run(
        self, cursor: sqlite3.Cursor, run: list[_Pending], last: int,
        results: dict[int, tuple[Sequence[int], BaseException | None]],
    ) -> int:
        """Insert one row per command of ``run``; a conflicting row fails its command alone.

        A failed ``INSERT`` undoes only itself and leaves the transaction open, so the rows
        before it stay and ``executemany`` resumes after it. A table without AUTOINCREMENT
        gives each new row the highest rowid + 1, so the rows of one ``executemany`` have
        consecutive rowids ending at ``last_insert_rowid()`` (checked against the highest
        rowid before them, ``last``; if not, the batch is redone row by row). Returns the
        highest rowid after the run.
        """
        connection = cursor.connection
        while run:
            before = connection.total_changes
            failure: sqlite3.IntegrityError | None = None
            try:
                cursor.executemany(self.insert_events_statement, [p.rows[0] for p in run])
                inserted = len(run)
            except sqlite3.IntegrityError as error:
                if not connection.in_transaction:
                    raise  # SQLite gave up the whole transaction: fail the batch
                failure = error
                inserted = connection.total_changes - before
            if inserted:
                (newest,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
                if newest != last + inserted:
                    raise _NotConsecutive
                for k in range(inserted):
                    results[id(run[k])] = ([last + 1 + k], None)
                last = newest
            if failure is None:
                break
            results[id(run[inserted])] = ([], translate(failure))
            run = run[inserted + 1:]
        return last

    def _insert_rows(
        self, cursor: sqlite3.Cursor, pending: _Pending
    ) -> tuple[Sequence[int], BaseException | None]:
        """Insert one command's rows; if they conflict, undo only them and fail only it.

        A failed ``INSERT`` undoes itself and leaves the transaction open, so a one-row
        command needs no savepoint; a command of several rows gets one, so that a conflict
        on its second row also takes back its first. Any other database error fails the
        whole batch (the caller rolls it back).
        """
        several = len(pending.rows) > 1
        if several:
            cursor.execute("SAVEPOINT command")
        ids: list[int] = []
        try:
            for row in pending.rows:
                cursor.execute(self.insert_events_statement, row)
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        except sqlite3.IntegrityError as error:
            if several:
                cursor.execute("ROLLBACK TO command")
                cursor.execute("RELEASE command")
            if not cursor.connection.in_transaction:
                raise  # SQLite gave up the whole transaction: fail the batch
            return [], translate(error)
        if several:
            cursor.execute("RELEASE command")
        return ids, None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """eventsourcing's ``select_events``, on a reused read-only connection.

        The same query and result as the library's, minus its per-call connection-pool
        round trip and explicit transaction (a single ``SELECT`` is its own snapshot).
        """
        readers = self._readers
        if readers is None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if self.datastore.pool.closed:
            readers.close()
            raise ConnectionPoolClosedError
        key = (gt is None, lte is None, desc, limit is None)
        statement = self._select_statements.get(key)
        if statement is None:
            statement = self._select_statements[key] = self._select_statement(*key)
        params: list[Any] = [
            originator_id.hex if isinstance(originator_id, UUID) else originator_id
        ]
        if gt is not None:
            params.append(gt)
        if lte is not None:
            params.append(lte)
        if limit is not None:
            params.append(limit)
        connection = readers.get()
        try:
            rows = connection.execute(statement, params).fetchall()
        except sqlite3.Error as error:
            raise translate(error) from error
        finally:
            readers.put(connection)
        convert = self.convert_originator_id
        return [
            StoredEvent(originator_id=convert(row[0]), originator_version=row[1],
                        topic=row[2], state=row[3])
            for row in rows
        ]

    def _select_statement(self, no_gt: bool, no_lte: bool, desc: bool, no_limit: bool) -> str:
        statement = (f"SELECT originator_id, originator_version, topic, state "
                     f"FROM {self.events_table_name} WHERE originator_id=? ")
        if not no_gt:
            statement += "AND originator_version>? "
        if not no_lte:
            statement += "AND originator_version<=? "
        statement += "ORDER BY originator_version " + ("DESC " if desc else "ASC ")
        if not no_limit:
            statement += "LIMIT ? "
        return statement


def configure(recorder: object, *, max_batch: int, max_wait_ms: float) -> None:
    """Set the batch bounds of ``recorder`` if it is a :class:`GroupCommitRecorder`."""
    if isinstance(recorder, GroupCommitRecorder):
        recorder.max_batch = max_batch
        recorder.max_wait = max_wait_ms / 1000
