"""The event log on PostgreSQL, with the same guarantees as on SQLite (:mod:`.group_commit`).

eventsourcing's PostgreSQL recorder commits each save in a transaction of its own, under an
exclusive lock on the events table (so that positions commit in order: a reader tailing the
log never passes a position that commits later). Writers are therefore serialised, and the
way to throughput is to put many commands in one transaction. :class:`PgGroupCommitRecorder`
does that exactly as the SQLite recorder does:

- **Group commit**: concurrent ``insert_events`` calls are combined
  (:class:`~services.store.combining.Combiner`) and committed in one transaction.
- **Command batches**: :meth:`PgGroupCommitRecorder.transaction` holds a transaction open for
  one thread, which runs whole commands in it (:mod:`services.store.command_batches`) and
  records their outcomes under their idempotency keys in the same transaction
  (:mod:`services.store.command_keys`).
- **Concurrency**: an insert that meets a stored (originator, version) inserts nothing
  (``ON CONFLICT DO NOTHING``), and its save alone fails with ``IntegrityError``; a save of
  several events is undone as a whole (a savepoint). The rest of the transaction commits.
- **Order**: every writing transaction takes the table's ``EXCLUSIVE`` lock as it begins
  (in the round trip of its ``BEGIN``) and keeps it to its commit, so positions become
  visible in order. Positions may have gaps (a skipped conflicting row, a rolled-back
  transaction still used its sequence values): readers take whatever positions exist after
  the last one they read.
- **Wake-ups**: each writing transaction sends ``NOTIFY`` on the log's channel (delivered
  at commit), so other replicas' catch-ups are woken at once
  (:mod:`services.runtime.notifications`).
- **Failures fail fast**: the library retries reads and writes up to ten times when the
  database is unreachable; here nothing is retried, so a request gets its 503 within the
  connect timeout. A write whose commit may or may not have happened is never repeated.

:class:`PgFactory` builds these recorders (``PERSISTENCE_MODULE=services.store.pg_group_commit:
PgFactory``); the tables are created by :func:`create_tables`, once, under an advisory lock.
"""

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from services.store import postgres
from services.store.combining import Combiner, Job

#: eventsourcing's ``PERSISTENCE_MODULE`` for this module's factory.
TOPIC = "services.store.pg_group_commit:PgFactory"
#: Environment keys of ours read by :class:`PgFactory` (besides eventsourcing's own).
STATEMENT_TIMEOUT_S = "PDL_STATEMENT_TIMEOUT_S"
CONNECT_TIMEOUT_S = "PDL_CONNECT_TIMEOUT_S"

_Row = tuple[UUID, int, str, bytes]  # originator_id, originator_version, topic, state


class PgFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, making this module's recorders, whose connections
    have our connect and statement timeouts."""

    aggregate_recorder_class = PostgresAggregateRecorder  # replaced below (snapshots)

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        connect_s = float(self.env.get(CONNECT_TIMEOUT_S) or 3)
        statement_s = float(self.env.get(STATEMENT_TIMEOUT_S) or 0)
        pool = self.datastore.pool
        assert isinstance(pool.kwargs, dict)
        pool.kwargs.update(postgres.connect_kwargs(connect_s, statement_s))
        pool.timeout = connect_s
        pool.reconnect_timeout = 0  # keep reconnecting for as long as the database is away
        # The library pings every connection it hands out (POSTGRES_PRE_PING): a round trip
        # per save and per read. Ping only those that sat idle (psycopg_pool takes the
        # hooks only when the pool is made, so they are set on it here).
        ping = postgres.PingWhenIdle()
        pool._check, pool._reset = ping.check, ping.returned

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = PgSnapshotRecorder(datastore=self.datastore,
                                      events_table_name=self._table(purpose))
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> "PgGroupCommitRecorder":
        recorder = PgGroupCommitRecorder(datastore=self.datastore,
                                         events_table_name=self._table("events"))
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def _table(self, purpose: str) -> str:
        return (self.env.name.lower() or "stored") + "_" + purpose


class PgSnapshotRecorder(PostgresAggregateRecorder):
    """The library's snapshot recorder without its retries (see the module docstring)."""

    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__
    select_events = PostgresAggregateRecorder.select_events.__wrapped__


class PgGroupCommitRecorder(PostgresApplicationRecorder):
    """A PostgreSQL application recorder whose concurrent saves share transactions."""

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        #: Saves waiting for, or being, committed together (see :mod:`.combining`).
        self.saves: Combiner[list[_Row], Sequence[int]] = Combiner(
            self._commit, _abandoned, max_batch=100, max_wait=0.0)
        self._open = threading.local()  # this thread's open transaction, if any
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema),
                                      Identifier(self.events_table_name))
        self.table_sql = table
        #: A writing transaction's start, in one round trip (statements without parameters:
        #: the simple query protocol): the table lock, so that positions become visible in
        #: commit order, and the wake-up other replicas get when it commits.
        self._begin_writing = SQL(
            "BEGIN; LOCK TABLE {0} IN EXCLUSIVE MODE; NOTIFY {1}").format(
            table, Identifier(self.channel_name))
        self._insert_many = SQL(
            "INSERT INTO {0} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "ON CONFLICT DO NOTHING RETURNING originator_id, originator_version, "
            "notification_id").format(table)
        self._insert_one = SQL(
            "INSERT INTO {0} (originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING notification_id"
        ).format(table)
        self._select = SQL("SELECT originator_id, originator_version, topic, state FROM {0} "
                           "WHERE originator_id = %s").format(table)

    # Writing

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """Insert ``stored_events`` in the next group commit (or this thread's open
        transaction, at once); return their positions."""
        if not stored_events:
            return []
        rows = [(_uuid(s.originator_id), s.originator_version, s.topic, s.state)
                for s in stored_events]
        opened: PgTransaction | None = getattr(self._open, "transaction", None)
        if opened is not None:
            return opened.insert(rows)
        return self.saves.submit(rows)

    @contextmanager
    def transaction(self) -> Iterator["PgTransaction"]:
        """One transaction for everything this thread saves inside the block (see
        :meth:`services.store.group_commit.GroupCommitRecorder.transaction`): it commits when
        the block ends, or is rolled back if the block raises or a statement broke it."""
        if getattr(self._open, "transaction", None) is not None:
            raise ProgrammingError("this thread already holds a transaction open")
        with self._writing() as opened:
            self._open.transaction = opened
            try:
                yield opened
                opened.check()
            finally:
                self._open.transaction = None

    @contextmanager
    def _writing(self) -> Iterator["PgTransaction"]:
        """A writing transaction on a connection of the pool, begun with the table lock and
        the wake-up in one round trip (psycopg's ``conn.transaction()`` would send ``BEGIN``
        alone): three round trips for a save, as for a raw insert and commit. Committed
        when the block ends, rolled back if it raises."""
        # (get_connection turns psycopg's errors into eventsourcing's)
        with self.datastore.get_connection() as conn:
            cursor = conn.cursor(row_factory=tuple_row)
            try:
                cursor.execute(self._begin_writing)
                opened = PgTransaction(self, conn, cursor)
                yield opened
                opened.check()
                # COMMIT in a failed transaction only rolls back: never take it for a commit.
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.INTRANS:
                    raise OperationalError("the transaction failed; nothing was committed")
                cursor.execute("COMMIT")
            except BaseException:
                if conn.info.transaction_status in (psycopg.pq.TransactionStatus.INTRANS,
                                                    psycopg.pq.TransactionStatus.INERROR):
                    with suppress(psycopg.Error):
                        cursor.execute("ROLLBACK")
                raise

    def _commit(self, batch: list[Job[list[_Row], Sequence[int]]]) -> None:
        """Commit the saves of ``batch`` in one transaction and settle each save."""
        outcomes: list[Sequence[int] | BaseException] = []
        with self._writing() as opened:
            saves = [job.payload for job in batch]
            outcomes = opened.insert_saves(saves)
        # Outcomes are handed out only after the commit (a loser must not retry before the
        # winner's events are visible).
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                job.fail(outcome)
            else:
                job.succeed(outcome)

    # Reading

    def select_events(self, originator_id: UUID | str, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """The library's query, through this thread's open transaction if it holds one (so
        a command sees what the commands before it in its batch wrote); never retried."""
        statement: Composed = self._select
        params: list[Any] = [_uuid(originator_id)]
        if gt is not None:
            statement += SQL(" AND originator_version > %s")
            params.append(gt)
        if lte is not None:
            statement += SQL(" AND originator_version <= %s")
            params.append(lte)
        statement += SQL(" ORDER BY originator_version DESC" if desc
                         else " ORDER BY originator_version ASC")
        if limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(limit)
        opened: PgTransaction | None = getattr(self._open, "transaction", None)
        if opened is not None:
            rows = opened.query(statement, params)
        else:
            with self.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row) as cursor:
                rows = cursor.execute(statement, params, prepare=True).fetchall()
        return [StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2],
                            state=bytes(row[3])) for row in rows]

    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__

    def max_notification_id(self) -> int | None:
        """The highest position (positions may have gaps: not a count); never retried."""
        with self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(self.max_notification_id_statement).fetchone()
        return None if row is None else row[0]

    def count_events(self) -> int:
        """How many events the log holds (a count: positions may have gaps)."""
        with self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(SQL("SELECT count(*) FROM {0}").format(self.table_sql)
                                 ).fetchone()
        return 0 if row is None else int(row[0])

    def select_notifications_between(self, start: int, stop: int) -> Sequence[Notification]:
        """Every notification after ``start`` up to ``stop`` (for tests and tools)."""
        return self.select_notifications(start, stop - start, stop=stop,
                                          inclusive_of_start=False)


class PgTransaction:
    """A transaction open on one connection (see :class:`.transactions.Transaction`)."""

    def __init__(self, recorder: PgGroupCommitRecorder, conn: psycopg.Connection[Any],
                 cursor: psycopg.Cursor[Any]) -> None:
        """A transaction begun on ``conn`` with the table lock taken (see
        :meth:`PgGroupCommitRecorder._writing`)."""
        self._recorder = recorder
        self._conn = conn
        self._cursor = cursor
        self._savepoints = 0
        #: The database error that ended the transaction early, if one did.
        self.broken: BaseException | None = None

    def insert(self, rows: list[_Row]) -> Sequence[int]:
        """Insert one save's rows now; a conflict undoes only them (``IntegrityError``)."""
        (outcome,) = self.insert_saves([rows])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def insert_saves(self, saves: list[list[_Row]]) -> list[Sequence[int] | BaseException]:
        """Insert ``saves`` in order; each gets its positions, or the ``IntegrityError`` of
        its conflict (then none of its rows stay)."""
        self.check()
        try:
            return self._insert_saves(saves)
        except psycopg.Error as error:  # not a conflict: the transaction cannot go on
            self.broken = OperationalError(f"The database gave up the transaction: {error}")
            raise self.broken from error

    def _insert_saves(self, saves: list[list[_Row]]) -> list[Sequence[int] | BaseException]:
        outcomes: list[Sequence[int] | BaseException] = [[]] * len(saves)
        singles = [k for k, rows in enumerate(saves) if len(rows) == 1]
        if len(singles) > 1:
            self._insert_singles(saves, singles, outcomes)
        for k, rows in enumerate(saves):
            if len(rows) > 1 or (len(rows) == 1 and len(singles) == 1):
                outcomes[k] = self._insert_save(rows)
        return outcomes

    def _insert_singles(self, saves: list[list[_Row]], singles: list[int],
                        outcomes: list[Sequence[int] | BaseException]) -> None:
        """One statement for every one-event save: a row that conflicts is skipped, and its
        save fails alone. Of two saves of the same version in the batch, the first wins."""
        first: dict[tuple[UUID, int], int] = {}
        for k in singles:
            key = saves[k][0][:2]
            if key in first:
                outcomes[k] = _conflict(key)
            else:
                first[key] = k
        rows = [saves[k][0] for k in first.values()]
        columns = [list(column) for column in zip(*rows, strict=True)]
        inserted = {(row[0], row[1]): row[2]
                    for row in self._cursor.execute(self._recorder._insert_many, columns)}
        for key, k in first.items():
            position = inserted.get(key)
            outcomes[k] = [position] if position is not None else _conflict(key)

    def _insert_save(self, rows: list[_Row]) -> Sequence[int] | BaseException:
        cursor = self._cursor
        if len(rows) == 1:
            found = cursor.execute(self._recorder._insert_one, rows[0]).fetchone()
            return [found[0]] if found else _conflict(rows[0][:2])
        self._savepoints += 1
        savepoint = Identifier(f"save_{self._savepoints}")
        cursor.execute(SQL("SAVEPOINT {0}").format(savepoint))
        columns = [list(column) for column in zip(*rows, strict=True)]
        inserted = {(row[0], row[1]): row[2]
                    for row in cursor.execute(self._recorder._insert_many, columns)}
        if len(inserted) < len(rows):
            cursor.execute(SQL("ROLLBACK TO SAVEPOINT {0}").format(savepoint))
            conflict = next(row for row in rows if row[:2] not in inserted)
            return _conflict(conflict[:2])
        cursor.execute(SQL("RELEASE SAVEPOINT {0}").format(savepoint))
        return [inserted[row[:2]] for row in rows]

    def query(self, statement: Composed, params: Sequence[Any]) -> list[Any]:
        self.check()
        try:
            return self._cursor.execute(statement, params).fetchall()
        except psycopg.Error as error:
            self.broken = OperationalError(f"The database gave up the transaction: {error}")
            raise self.broken from error

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one portable statement (``?`` placeholders) in the transaction.

        The table lock was taken first, when the transaction began: the statements run here
        (command outcomes) are written by transactions that also insert events, and taking
        the locks in one order in every transaction means two replicas' batches can never
        deadlock."""
        self.check()
        try:
            self._cursor.execute(statement.replace("?", "%s"), params)
            return self._cursor.fetchall() if self._cursor.description else []
        except psycopg.Error as error:
            self.broken = OperationalError(f"The database gave up the transaction: {error}")
            raise self.broken from error

    def check(self) -> None:
        """Raise if the transaction is over: nothing may be written outside it."""
        if self.broken is None and self._conn.closed:
            self.broken = OperationalError("the connection to PostgreSQL was lost")
        if self.broken is not None:
            raise self.broken


def _uuid(originator_id: UUID | str) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _conflict(key: tuple[UUID, int]) -> IntegrityError:
    return IntegrityError(f"version {key[1]} of {key[0]} is already stored")


def _abandoned(error: BaseException | None) -> BaseException:
    if error is None:
        return OperationalError("group commit abandoned this save")
    return error


def create_tables(recorders: Sequence[PostgresAggregateRecorder]) -> None:
    """Create the event log's tables (events, snapshots) once, however many replicas start
    together: the library's ``CREATE TYPE``/``CREATE TABLE`` fail when run concurrently, so
    they run under an advisory lock, recorded as the ``event_log`` component in
    ``pdl_schema``."""
    if not recorders:
        return
    datastore = recorders[0].datastore
    with datastore.get_connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)",
                     (postgres.advisory_key("pdl_event_log"),))
        for recorder in recorders:
            recorder.create_table()
    with datastore.get_connection() as conn:
        postgres.migrate(conn, "event_log", [[]])
