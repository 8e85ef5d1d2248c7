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

Saves are combined by :class:`services.store.combining.Combiner`: there is no committer thread; the
first waiting caller leads, commits the batch, and passes leadership on, so batches grow with
the load and a lone command is never delayed.

:meth:`GroupCommitRecorder.transaction` is the other way in: one thread holds a transaction
open and runs whole commands in it (see :mod:`services.store.command_batches`, which the application
uses by default on top of this recorder).
"""

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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

from services.store.combining import Combiner, Job

#: Topic for eventsourcing's ``APPLICATION_RECORDER_TOPIC`` setting.
TOPIC = "services.store.group_commit:GroupCommitRecorder"

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


_Row = tuple[str, int, str, bytes]  # originator_id, originator_version, topic, state
_Inserted = tuple[Sequence[int], BaseException | None]  # positions, or the conflict

#: Fewest one-row commands in a batch for which one ``executemany`` (plus a query for the
#: highest rowid before and the last one after) beats an ``INSERT`` each.
_MANY = 4


class _NotConsecutive(Exception):
    """A multi-row insert did not get consecutive rowids: redo the batch row by row."""


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

    Its batch bounds are set after construction (eventsourcing builds recorders from a
    topic, without arguments) on :attr:`saves`: see
    :func:`services.runtime.bootstrap.build_application`.
    """

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        #: Saves waiting for, or being, committed together (see :mod:`services.store.combining`).
        self.saves: Combiner[list[_Row], Sequence[int]] = Combiner(
            self._commit, _abandoned, max_batch=100, max_wait=0.0)
        self._open = threading.local()  # this thread's open transaction, if any
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

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert ``stored_events`` in the next group commit; return their positions.

        Inside :meth:`transaction` (on this thread) they are inserted into that transaction
        at once instead. (``kwargs``, e.g. ``tracking=None``, are ignored, as eventsourcing's
        SQLite application recorder ignores them.)
        """
        if not stored_events:
            return []
        # The rows are made here, by each caller: the leader only executes.
        rows = [
            (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
             s.originator_version, s.topic, s.state)
            for s in stored_events
        ]
        open_transaction: OpenTransaction | None = getattr(self._open, "transaction", None)
        if open_transaction is not None:
            return open_transaction.insert(rows)
        return self.saves.submit(rows)

    @contextmanager
    def transaction(self) -> Iterator["OpenTransaction"]:
        """One transaction for everything this thread saves inside the block.

        Inside it, ``insert_events`` on this thread inserts at once (a conflicting save has
        only its own rows undone and fails alone with ``IntegrityError``, as in a group
        commit) and ``select_events`` reads through the same connection, so each command
        sees the ones before it. The transaction commits when the block ends, or is rolled
        back if the block raises or a database error broke it: then nothing of it is stored.
        """
        if getattr(self._open, "transaction", None) is not None:
            raise ProgrammingError("this thread already holds a transaction open")
        with self._writer() as connection:
            cursor = connection.cursor()
            opened = OpenTransaction(self, cursor)
            try:
                cursor.execute("BEGIN IMMEDIATE")
                self._open.transaction = opened
                yield opened
                opened.check()
                connection.commit()
            except BaseException as error:
                if connection.in_transaction:
                    connection.rollback()
                translated = translate(error)
                if translated is error:
                    raise
                raise translated from error
            finally:
                self._open.transaction = None
                cursor.close()

    @contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        """This process's turn to write, and the connection to write on.

        The pool's writer connection is the turn (eventsourcing's writer lock); the writing is
        done on the recorder's own writer connection (statements stay compiled), or on the
        pool's for an in-memory database.
        """
        pool = self.datastore.pool
        pooled = pool.get_connection(is_writer=True)
        writers = self._writers
        own = None
        try:
            own = writers.get() if writers is not None else None
            yield own or pooled.cursor().sqlite_cursor.connection
        finally:
            if own is not None and writers is not None:
                writers.put(own)
            pool.put_connection(pooled)

    def _commit(self, batch: list[Job[list[_Row], Sequence[int]]]) -> None:
        """Commit the rows of ``batch`` in one transaction and settle each save.

        Raises if the transaction failed: then every save in it fails.
        """
        with self._writer() as connection:
            inserted = self._transaction(connection, [job.payload for job in batch])
        # Outcomes are handed out only now, after the commit: a command that lost a
        # race must not retry before the winner's events are visible.
        for job, (ids, conflict) in zip(batch, inserted, strict=True):
            if conflict is None:
                job.succeed(ids)
            else:
                job.fail(conflict)

    def _transaction(
        self, connection: sqlite3.Connection, saves: list[list[_Row]]
    ) -> list[_Inserted]:
        """Insert ``saves`` in one transaction on ``connection`` and commit it."""
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                inserted = self._insert_batch(cursor, saves)
            except _NotConsecutive:
                connection.rollback()
                cursor.execute("BEGIN IMMEDIATE")
                inserted = [self._insert_rows(cursor, rows) for rows in saves]
            connection.commit()
            return inserted
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def _insert_batch(self, cursor: sqlite3.Cursor, saves: list[list[_Row]]) -> list[_Inserted]:
        """Insert the saves in order: runs of one-row saves with one ``executemany`` each,
        saves of several rows one by one (see :meth:`_insert_rows`); a small batch one save
        at a time."""
        if len(saves) < _MANY or sum(len(rows) == 1 for rows in saves) < _MANY:
            # not worth the two extra queries
            return [self._insert_rows(cursor, rows) for rows in saves]
        results: list[_Inserted] = [([], None)] * len(saves)
        (last,) = cursor.execute(self._max_rowid_statement).fetchone()
        last = last or 0
        run: list[int] = []  # the indexes of consecutive one-row saves
        for k, rows in enumerate(saves):
            if len(rows) == 1:
                run.append(k)
                continue
            last = self._insert_run(cursor, saves, run, last, results)
            run = []
            results[k] = ids, conflict = self._insert_rows(cursor, rows)
            if conflict is None:
                last = max([last, *ids])
        self._insert_run(cursor, saves, run, last, results)
        return results

    def _insert_run(
        self, cursor: sqlite3.Cursor, saves: list[list[_Row]], run: list[int], last: int,
        results: list[_Inserted],
    ) -> int:
        """Insert the one row of each save in ``run``; a conflicting row fails its save alone.

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
                cursor.executemany(self.insert_events_statement, [saves[k][0] for k in run])
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
                for n in range(inserted):
                    results[run[n]] = ([last + 1 + n], None)
                last = newest
            if failure is None:
                break
            results[run[inserted]] = ([], translate(failure))
            run = run[inserted + 1:]
        return last

    def _insert_rows(self, cursor: sqlite3.Cursor, rows: list[_Row]) -> _Inserted:
        """Insert one save's rows; if they conflict, undo only them and fail only it.

        A failed ``INSERT`` undoes itself and leaves the transaction open, so a one-row
        save needs no savepoint; a save of several rows gets one, so that a conflict on its
        second row also takes back its first. Any other database error fails the whole
        transaction (the caller rolls it back).
        """
        several = len(rows) > 1
        if several:
            cursor.execute("SAVEPOINT command")
        ids: list[int] = []
        try:
            for row in rows:
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
        open_transaction: OpenTransaction | None = getattr(self._open, "transaction", None)
        readers = self._readers
        if readers is None and open_transaction is None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if self.datastore.pool.closed:
            if readers is not None:
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
        if open_transaction is not None:  # see what this transaction wrote so far
            rows = open_transaction.execute(statement, params)
        else:
            assert readers is not None
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


class OpenTransaction:
    """The transaction a thread holds open (:meth:`GroupCommitRecorder.transaction`)."""

    def __init__(self, recorder: GroupCommitRecorder, cursor: sqlite3.Cursor) -> None:
        self._recorder = recorder
        self._cursor = cursor
        #: The database error that ended the transaction early, if one did.
        self.broken: BaseException | None = None

    def insert(self, rows: list[_Row]) -> Sequence[int]:
        """Insert one save's rows now; a conflict undoes only them (``IntegrityError``)."""
        self.check()
        try:
            ids, conflict = self._recorder._insert_rows(self._cursor, rows)
        except sqlite3.Error as error:  # not a conflict: the transaction cannot go on
            self.broken = OperationalError(f"The database gave up the transaction: {error}")
            raise self.broken from error
        if conflict is not None:
            raise conflict
        return ids

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement in the transaction; the rows it returns."""
        self.check()
        try:
            return self._cursor.execute(statement, params).fetchall()
        except sqlite3.Error as error:
            raise translate(error) from error

    def check(self) -> None:
        """Raise if the transaction is over: nothing may be written outside it."""
        if self.broken is None and not self._cursor.connection.in_transaction:
            self.broken = OperationalError("the transaction was rolled back by the database")
        if self.broken is not None:
            raise self.broken


def _abandoned(error: BaseException | None) -> BaseException:
    if error is None:
        return OperationalError("group commit abandoned this save")
    return translate(error)
