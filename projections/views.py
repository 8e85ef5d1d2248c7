"""The read side: one SQLite file holding every projection and the position it reflects.

Projections (``roadmap``, ``audit``) consume :class:`contract.changes.Change` objects only,
so the same handlers serve the store catch-up and a Kafka consumer. :func:`apply_changes`
applies them without touching any tracking; :meth:`Views.apply` adds the store position
in the same transaction, and :meth:`Views.transaction` lets another feeder do the same
with its own positions (:mod:`projections.feeding.tracking`).

The same views live in PostgreSQL through :class:`projections.pg_views.PgViews`, a
:class:`Views` whose storage (connections, transactions, position) is PostgreSQL's; the
projection modules run there unchanged (see :mod:`projections.dialect`).
"""

import heapq
import itertools
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from contract.changes import Change
from projections import audit, decisions, features, release_notes, roadmap, search, slips
from projections.dialect import Connection
from projections.feeding import tracking
from projections.intervals import Batch, EntityTable, FirstPass, instant, states

log = logging.getLogger(__name__)

SCHEMA = roadmap.SCHEMA + audit.SCHEMA + search.SCHEMA + tracking.SCHEMA
#: Bump when a table changes: views of another version are emptied and rebuilt from the log.
#: (3: the audit's unique ``event_id`` is its own index, which a rebuild makes last;
#: 4: the audit keeps no ``event_id``, which derives from entity and version, its unique key;
#: an entity table's unique version is an index, no longer its primary key;
#: 5: the search documents and their full-text index;
#: 6: the audit keeps each change's correlation and cause.)
VIEWS_VERSION = 6
#: Every table these views have ever had; only these are dropped when the version changes.
OWN_TABLES = ("products", "releases", "features", "decisions", "audit", "tracking",
              *search.TABLES)

#: Helper threads SQLite may use to sort while making indexes after a first pass.
SORT_THREADS = 2

#: Page size of a rebuilt file (SQLite's default is 4 KiB, kept by views the service
#: creates): larger pages make the bulk inserts and the index sorts of a first pass cheaper
#: (fewer pages to fill and to split). The cost comes later: a catch-up commit writes
#: whole pages to the WAL, so a small commit writes more; it stays well inside the view lag
#: target (see "Figures behind design choices" in benchmarks/README.md).
FIRST_PASS_PAGE_BYTES = 16384

#: Reads map the file rather than copy each page through ``read()``: an as-of read probes
#: one index page per entity, and those pages are spread over the whole file. SQLite caps
#: the map (2 GiB in common builds); pages beyond it are read as usual.
READ_MMAP_BYTES = 2**31

def apply_changes(conn: Connection, changes: Iterable[Change]) -> None:
    """Apply ``changes`` to every projection inside the caller's transaction.

    Idempotent per entity version: changes already applied change nothing. Tracking is
    left to the caller, so it can record its own positions in the same transaction.
    The same as applying each change in turn (``roadmap.apply``, then ``audit.record``,
    then ``search.index``),
    written in a few statements per batch (see :class:`projections.intervals.Batch`).
    """
    changes = list(changes)
    batch = Batch(conn)
    roadmap.load(batch, changes)
    audit_rows = _apply_each(batch, changes)
    batch.flush()
    audit.record_all(conn, audit_rows)
    search.index(conn, changes)


def _apply_each(batch: Batch, changes: Sequence[Change]) -> list[tuple[Any, ...]]:
    """Apply ``changes`` in order to ``batch``'s entity rows; their audit rows."""
    apply_in = roadmap.apply_in
    audit_row = audit.row
    audit_rows = []
    for change in changes:
        at = instant(change.occurred_at)
        apply_in(batch, change, at)
        audit_rows.append(audit_row(change, at))
    return audit_rows


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with durable commits; transactions are explicit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


class Views:
    """The projections in one SQLite file, and the store position they reflect.

    Safe to share between threads: writes are serialised, each read runs on a pooled
    connection in its own snapshot (WAL lets reads proceed while a write commits).
    """

    #: Whether other processes write these views too (then a catch-up first takes up the
    #: position they reached, see :meth:`refresh`).
    shared = False

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = connect(self.path)
        _prepare(self._writer)
        self._write_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._start_at(tracking.tracked(self._writer))

    def _start_at(self, position: int) -> None:
        """Start with the views at ``position``, no one waiting."""
        self._advanced = threading.Condition()
        self._position = position
        #: Calls due when a position is reached: (position, order of arrival, callback).
        self._arrivals: list[tuple[int, int, Callable[[], None]]] = []
        self._arrival_order = itertools.count()

    def close(self) -> None:
        """Close every connection; stop the catch-up feeding these views first."""
        with self._write_lock, self._readers_lock:
            for conn in [*self._all_readers, self._writer]:
                conn.close()
            self._readers.clear()
            self._all_readers.clear()

    # Position and read-your-writes

    @property
    def position(self) -> int:
        """The highest store position applied."""
        with self._advanced:
            return self._position

    def refresh(self) -> int:
        """Take up the position recorded in the file by another process's catch-up (a
        follower of ``pdl serve --workers`` calls this); returns it."""
        with self._write_lock:
            position = tracking.tracked(self._writer)
        self._advance_to(position)
        return position

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the store position ``position`` is applied; False after ``timeout`` s."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self._position >= position, timeout)

    def call_when_reached(self, position: int,
                          callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` once the store position ``position`` is applied: at once if it
        is, else from the thread that applies it, so it must neither block nor take long
        (e.g. an event loop's ``call_soon_threadsafe``: a waiter that holds no thread).
        Returns a function that cancels the call if it has not been made."""
        entry = (position, next(self._arrival_order), callback)
        with self._advanced:
            if self._position < position:
                heapq.heappush(self._arrivals, entry)
                return lambda: self._cancel_arrival(entry)
        callback()
        return lambda: None

    @property
    def waiting(self) -> int:
        """How many calls of :meth:`call_when_reached` wait for a position not applied yet."""
        with self._advanced:
            return len(self._arrivals)

    def _cancel_arrival(self, entry: tuple[int, int, Callable[[], None]]) -> None:
        with self._advanced:
            if entry in self._arrivals:
                self._arrivals.remove(entry)
                heapq.heapify(self._arrivals)

    # Writing

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction; waiters are woken after it commits."""
        with self._write_lock, _transaction(self._writer):
            yield self._writer
            position = tracking.tracked(self._writer)
        self._advance_to(position)

    def apply(self, changes: Iterable[Change], position: int) -> None:
        """Apply ``changes`` and record the store ``position`` they reach, atomically."""
        with self.transaction() as conn:
            apply_changes(conn, changes)
            tracking.track(conn, position)

    def _advance_to(self, position: int) -> None:
        with self._advanced:
            self._position = max(self._position, position)
            self._advanced.notify_all()
            due = []
            while self._arrivals and self._arrivals[0][0] <= self._position:
                due.append(heapq.heappop(self._arrivals)[2])
        for callback in due:
            try:
                callback()
            except Exception:  # one waiter's failure must not stop the catch-up
                log.exception("A call waiting for views position %d failed", position)

    # Reading

    def list_products(self, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Every product as of ``as_of`` (None: now), by name."""
        with self.reading() as conn:
            return roadmap.read_products(conn, as_of)

    def roadmap(self, product_id: UUID, as_of: datetime | None = None) -> dict[str, Any] | None:
        """The roadmap of a product (see :mod:`projections.roadmap`); None if unknown then."""
        with self.reading() as conn:
            return roadmap.read_roadmap(conn, str(product_id), as_of)

    def features(self, product_id: UUID, as_of: datetime | None = None, *,
                 statuses: Sequence[str] = (), release: str | None = None,
                 q: str | None = None, limit: int = 100,
                 cursor: int = 0) -> dict[str, Any] | None:
        """A page of a product's features matching the filters (see
        :func:`projections.features.read_features`); None if unknown at ``as_of``."""
        with self.reading() as conn:
            return features.read_features(conn, str(product_id), as_of, statuses=statuses,
                                          release=release, q=q, limit=limit, cursor=cursor)

    def history(self, entity_id: UUID, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Every change of one entity, oldest first; only those up to ``as_of`` when given."""
        with self.reading() as conn:
            return audit.read_history(conn, str(entity_id), as_of)

    def product_history(self, product_id: UUID,
                        as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Every change of a product, its features and its releases, in log order."""
        with self.reading() as conn:
            return audit.read_product_history(conn, str(product_id), as_of)

    def history_page(self, entity_id: UUID, as_of: datetime | None = None, *,
                     limit: int | None = None, cursor: int | None = None,
                     newest_first: bool = False) -> dict[str, Any]:
        """A page of one entity's changes (see :func:`projections.audit.read_history_page`)."""
        with self.reading() as conn:
            return audit.read_history_page(conn, str(entity_id), as_of, limit=limit,
                                           cursor=cursor, newest_first=newest_first)

    def product_history_page(self, product_id: UUID, as_of: datetime | None = None, *,
                             limit: int | None = None, cursor: int | None = None,
                             newest_first: bool = False) -> dict[str, Any]:
        """A page of a product's history (see :func:`audit.read_product_history_page`)."""
        with self.reading() as conn:
            return audit.read_product_history_page(conn, str(product_id), as_of, limit=limit,
                                                   cursor=cursor, newest_first=newest_first)

    def audit(self, *, product_id: UUID | None = None, entity_id: UUID | None = None,
              actor: str | None = None, change_type: str | Sequence[str] | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 100, cursor: int | None = None, evidence: bool | None = None,
              decision_id: UUID | None = None,
              correlation: str | None = None) -> dict[str, Any]:
        """A page of the audit trail: ``{"items": [...], "next_cursor": int | None}``;
        ``change_type``: one type or several; ``evidence``: whether changes cite some;
        ``decision_id``: a decision's changes and those it made; ``correlation``: one
        command's changes."""
        with self.reading() as conn:
            return audit.read_audit(
                conn, product_id=_text(product_id), entity_id=_text(entity_id), actor=actor,
                change_type=change_type, since=since, until=until, limit=limit, cursor=cursor,
                evidence=evidence, decision_id=_text(decision_id), correlation=correlation,
            )

    def search(self, q: str, *, product_id: UUID | None = None, kind: str | None = None,
               limit: int = 20, offset: int = 0) -> dict[str, Any]:
        """The entities (of ``product_id``, of ``kind``) whose text, or the reasons of whose
        changes, match every word of ``q``, best first: ``{"items": [{kind, id, product_id,
        title, snippet, path, rank}], "next_offset": int | None}`` (see
        :func:`projections.search.find`). Raises
        :class:`projections.search.InvalidQuery` when ``q`` has no word to search for."""
        with self.reading() as conn:
            return search.find(conn, q, product_id=_text(product_id), kind=kind, limit=limit,
                               offset=offset)

    def event_count(self) -> int:
        """How many changes have been applied."""
        with self.reading() as conn:
            return audit.count(conn)

    def occurred_at(self, position: int) -> datetime | None:
        """When the change at log ``position`` happened; None when no change has it."""
        with self.reading() as conn:
            found = audit.occurred_at(conn, position)
        return None if found is None else datetime.fromisoformat(found)

    # Through time (thin wrappers over :mod:`projections.decisions`, :mod:`projections.slips`
    # and :mod:`projections.release_notes`, one snapshot each)

    def version_as_of(self, entity_type: str, entity_id: UUID, as_of: datetime) -> int | None:
        """The version ``entity_id`` (a product, feature, release or decision) had at
        ``as_of``; None when it did not exist then."""
        with self.reading() as conn:
            rows = states(conn, ENTITY_TABLES[entity_type], "entity_id = ?", (str(entity_id),),
                          as_of, columns=("entity_version",))
        return int(rows[0]["entity_version"]) if rows else None

    def decisions(self, product_id: UUID,
                  as_of: datetime | None = None) -> list[dict[str, Any]] | None:
        """The product's decisions as they stood at ``as_of`` (None: now), oldest first;
        None when the product did not exist then."""
        with self.reading() as conn:
            if not _exists(conn, roadmap.PRODUCTS, product_id, as_of):
                return None
            return decisions.read_decisions(conn, str(product_id), as_of)

    def slip_ledger(self, release_id: UUID,
                    as_of: datetime | None = None) -> dict[str, Any] | None:
        """Every target-date change of a release and the totals (see
        :func:`projections.slips.slip_ledger`); None when unknown at ``as_of``."""
        with self.reading() as conn:
            return slips.slip_ledger(conn, str(release_id), as_of)

    def product_slips(self, product_id: UUID, as_of: datetime | None = None,
                      limit: int = 10) -> dict[str, Any] | None:
        """The releases that slipped most and each feature's reschedules; None when the
        product did not exist at ``as_of``."""
        with self.reading() as conn:
            if not _exists(conn, roadmap.PRODUCTS, product_id, as_of):
                return None
            pid = str(product_id)
            return {"product_id": pid, "as_of": instant(as_of) if as_of else None,
                    "releases": slips.slipped_most(conn, pid, as_of, limit),
                    "features": slips.reschedules(conn, pid, as_of)}

    def release_notes(self, release_id: UUID) -> str | None:
        """Markdown notes of a shipped release; None when unknown. Raises
        :class:`projections.release_notes.ReleaseNotShipped` for a release not shipped."""
        with self.reading() as conn:
            return release_notes.release_notes(conn, str(release_id))

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A pooled connection inside one read transaction: a consistent snapshot, for
        answers assembled from several reads (e.g. :func:`projections.diff.roadmap_diff`)."""
        conn = self._reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        finally:
            with self._readers_lock:
                self._readers.append(conn)


    def _reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._readers:
                return self._readers.pop()
        conn = connect(self.path)
        conn.execute(f"PRAGMA mmap_size = {READ_MMAP_BYTES}")
        with self._readers_lock:
            self._all_readers.append(conn)
        return conn


#: Every index but the primary keys (which are part of their tables).
_INDEXES = tuple(
    statement.split("EXISTS", 1)[1].split()[0]
    for statement in SCHEMA.split(";")
    if statement.strip().startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))
)


# A rebuild's first pass: one or more loaders fill a new file, then its indexes are made.

def prepare_first_pass(path: Path) -> None:
    """Make the new views file at ``path`` ready for :func:`load_first_pass`: its tables,
    without their indexes and without a journal.

    Only for a file that no one else uses and that is thrown away if the pass fails (a
    rebuild's temporary file): it is written without a journal or syncs, and a crash
    leaves it corrupt; :func:`finish_first_pass` makes it whole, and whoever then keeps it
    must sync it.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size = {FIRST_PASS_PAGE_BYTES}")  # before any table
        _prepare(conn)
        if tracking.tracked(conn) or audit.count(conn):
            raise ValueError(f"{path} is not empty; a first pass needs empty views")
        conn.execute("PRAGMA journal_mode = OFF")
        for name in _INDEXES:
            conn.execute(f"DROP INDEX {name}")
    finally:
        conn.close()


def load_first_pass(path: Path, pages: Iterable[Sequence[Change]],
                    lock: AbstractContextManager[Any]) -> None:
    """Write into the prepared file at ``path`` the rows of ``pages``: the changes of some
    entities, each page in log order, all changes of an entity in this one loader.

    Gives the rows :meth:`Views.apply` gives, each written once (see
    :class:`projections.intervals.FirstPass`). Several loaders, each in its own process
    with its own entities, may fill one file: ``lock`` (shared by all of them) is held
    while a page is written, and only then, so one loader decodes while another writes.
    """
    conn = _first_pass_connection(path)
    try:
        first = FirstPass(conn)
        for changes in pages:
            audit_rows = _apply_each(first, changes)
            with lock, _transaction(conn):
                first.flush()
                conn.executemany(audit.APPEND, audit_rows)
                conn.executemany(search.APPEND, search.reasons(changes))
        with lock, _transaction(conn):
            first.finish()
    finally:
        conn.close()


def finish_first_pass(path: Path, position: int) -> None:
    """Record that the file at ``path`` reflects the log up to ``position``, and make its
    indexes, each in one sort, with :data:`SORT_THREADS` helper threads sorting in parallel
    (see "Figures behind design choices" in benchmarks/README.md). Run once every
    :func:`load_first_pass` has returned. Then the search documents are completed and
    indexed (:func:`projections.search.finish_first_pass`)."""
    conn = _first_pass_connection(path)
    try:
        with _transaction(conn):
            tracking.track(conn, position)
        conn.execute(f"PRAGMA threads = {SORT_THREADS}")
        _prepare(conn)
        conn.row_factory = sqlite3.Row  # the search reads entity rows by column name
        with _transaction(conn):
            search.finish_first_pass(conn)
    finally:
        conn.close()


def _first_pass_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction of ``conn``: committed, or rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise


def _prepare(conn: sqlite3.Connection) -> None:
    """Create the tables; start afresh (position 0) if they were made by another version."""
    with _transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != VIEWS_VERSION:
            _drop_own_tables(conn, version)
        for statement in filter(str.strip, SCHEMA.split(";")):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VIEWS_VERSION}")


def _roll_back(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (e.g. disk full): don't hide the first error.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _drop_own_tables(conn: sqlite3.Connection, version: int) -> None:
    existing = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    stale = [name for name in OWN_TABLES if name in existing]
    if stale:
        log.warning("Views made by version %d: emptying them to rebuild from the log", version)
    for name in stale:
        conn.execute(f"DROP TABLE {name}")


#: Entity type -> the table holding its states through time.
ENTITY_TABLES: dict[str, EntityTable] = {
    "product": roadmap.PRODUCTS, "feature": roadmap.FEATURES, "release": roadmap.RELEASES,
    "decision": roadmap.DECISIONS,
}


def _exists(conn: Connection, table: EntityTable, entity_id: UUID,
            as_of: datetime | None) -> bool:
    return bool(states(conn, table, "entity_id = ?", (str(entity_id),), as_of))


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)
