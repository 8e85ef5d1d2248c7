"""Rebuild the views from the whole event log, never leaving a half-built file behind.

(Views in PostgreSQL are rebuilt in place, in one transaction: :func:`rebuild_in_place`.)

The new views are built into a temporary file next to ``path`` and then moved over it
in one atomic rename: readers see either the old views or the complete new ones.
Run it while nothing has the views open (stop the service, or close its ``Views`` and
open them again afterwards); it refuses to replace views that are still in use.
"""

import fcntl
import gc
import multiprocessing
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from contract.changes import Change
from projections.feeding.decode import ChangeDecoder
from projections.feeding.event_log import EventLog
from projections.views import finish_first_pass, load_first_pass, prepare_first_pass

if TYPE_CHECKING:
    from projections.pg_views import PgViews


class ViewsInUse(RuntimeError):
    """The views file is open elsewhere, so it cannot be replaced safely."""


def rebuild(app: EventLog, path: Path, workers: int | None = None) -> None:
    """Replace the views at ``path`` with views built from position zero of ``app``'s log,
    by ``workers`` loader processes (default: :func:`default_workers`)."""
    path = Path(path)
    temporary = path.with_name(f"{path.name}.rebuild")
    _remove(temporary)
    try:
        _build(app, temporary, default_workers() if workers is None else workers)
        if path.exists():
            _retire(path)
        os.replace(temporary, path)
    finally:
        _remove(temporary)
    # Make the rename itself durable (POSIX): views could be rebuilt anyway, but a power
    # cut should not bring back the old file after a reported success.
    if os.name == "posix":
        _fsync(path.parent)


#: Stored events read, decoded and written per page while rebuilding.
REBUILD_PAGE = 500


def default_workers() -> int:
    """Loaders to run at once: one per core, up to four (past that, they mostly wait for
    each other to write: SQLite writes one file from one connection at a time)."""
    return max(1, min(os.cpu_count() or 1, 4))


class RebuildFailed(RuntimeError):
    """A loader process of the rebuild failed (its error is on standard error)."""


def _build(app: EventLog, path: Path, workers: int) -> None:
    """Fill the new file at ``path`` from the log, up to the position it has now.

    The log is split by entity: each loader process gets every change of its own
    entities, in log order, and writes their rows into the same file (see
    :func:`projections.views.load_first_pass`). The indexes are made once all are done.
    """
    prepare_first_pass(path)
    end = app.recorder.max_notification_id() or 0
    events = _events_file(app.recorder)
    if events is None or workers < 2 or os.name != "posix":
        with _without_cycle_collection():
            load_first_pass(path, _pages(app, _stored_rows(app.recorder, end)), nullcontext())
    else:
        _load_in_processes(app, path, events, end, workers)
    finish_first_pass(path, end)
    _retire(path)
    _fsync(path)


def _load_in_processes(app: EventLog, path: Path, events: str, end: int,
                       workers: int) -> None:
    """Run loader ``0`` here and loaders ``1 .. workers - 1`` in forked processes (forked,
    so that they share ``app``'s mapper; the service must be stopped, as for any rebuild)."""
    context = multiprocessing.get_context("fork")
    lock = _WriteTurn(Path(f"{path}.lock"))
    others = [context.Process(target=_load_share, name=f"pdl-rebuild-{share}",
                              args=(app, path, events, end, share, workers, lock))
              for share in range(1, workers)]
    for process in others:
        process.start()
    try:
        _load_share(app, path, events, end, 0, workers, lock)
    except BaseException:
        for process in others:
            process.terminate()
        raise
    finally:
        for process in others:
            process.join()
    failed = [p.exitcode for p in others if p.exitcode]
    if failed:
        raise RebuildFailed(f"{len(failed)} rebuild loader(s) failed (exit codes {failed}); "
                            "the old views are untouched.")


def _load_share(app: EventLog, path: Path, events: str, end: int, share: int, shares: int,
                lock: "_WriteTurn") -> None:
    """Loader ``share`` of ``shares``: the entities whose stored id ends with a character
    whose code is ``share`` modulo ``shares``."""
    with _without_cycle_collection(), lock.opened():
        load_first_pass(path, _pages(app, _share_rows(events, end, share, shares)), lock)


class _WriteTurn:
    """Whose turn it is to write the new file, among the loader processes: an exclusive
    ``flock`` of ``path``. Unlike a semaphore, the system lets it go when its holder dies
    (say, killed by the OOM killer), so the others carry on and the rebuild fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    @contextmanager
    def opened(self) -> Iterator[None]:
        """Open the lock file in this process (an inherited descriptor would be shared)."""
        self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            yield
        finally:
            os.close(self._descriptor)
            self._descriptor = None

    def __enter__(self) -> None:
        assert self._descriptor is not None, "open the lock in this process first"
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        assert self._descriptor is not None
        fcntl.flock(self._descriptor, fcntl.LOCK_UN)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector. Loading makes no reference cycles, but it keeps
    every entity's current row, replaced change after change, and the collector would walk
    them again and again, for longer the longer the log (see "Figures behind design
    choices" in benchmarks/README.md). Anything else the process makes meanwhile is
    collected once it is back on."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


#: A stored event's columns: position, originator id, originator version, topic, state.
Row = tuple[int, UUID | str, int, str, bytes]


def _pages(app: EventLog, rows: Iterable[Sequence[Row]]) -> Iterator[list[Change]]:
    """The published changes of each page of stored rows."""
    decode = ChangeDecoder(app.mapper).decode
    for page in rows:
        changes = [decode(*row) for row in page]
        yield [c for c in changes if c is not None]


_COLUMNS = "rowid, originator_id, originator_version, topic, state"


def _stored_rows(recorder: ApplicationRecorder, end: int) -> Iterator[Sequence[Row]]:
    """Every stored event up to position ``end``, in log order, a page at a time, each page
    read in its own short transaction (writers carry on meanwhile)."""
    if not _reads_rows(recorder):
        yield from _notified_rows(recorder, end)
        return
    select = (f"SELECT {_COLUMNS} FROM {recorder.events_table_name} "
              f"WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?")
    position = 0
    while True:
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(select, (position, end, REBUILD_PAGE))
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        position = rows[-1][0]


def _share_rows(events: str, end: int, share: int, shares: int) -> Iterator[Sequence[Row]]:
    """:func:`_stored_rows` of one loader's entities, read from the SQLite file ``events``
    on a connection of this process's own. The store keeps each id as ``uuid.hex``: the
    code of its last character, modulo ``shares``, picks the loader."""
    conn = sqlite3.connect(f"file:{events}?mode=ro", uri=True)
    select = (f"SELECT {_COLUMNS} FROM {_EVENTS_TABLE} WHERE rowid > ? AND rowid <= ? "
              "AND unicode(substr(originator_id, -1)) % ? = ? ORDER BY rowid LIMIT ?")
    try:
        position = 0
        while rows := conn.execute(select, (position, end, shares, share,
                                            REBUILD_PAGE)).fetchall():
            yield rows
            position = rows[-1][0]
    finally:
        conn.close()


def _events_file(recorder: ApplicationRecorder) -> str | None:
    """The file of a SQLite store whose rows loader processes can read themselves (see
    :func:`_reads_rows`); None for any other store, or one in memory."""
    if not _reads_rows(recorder) or recorder.events_table_name != _EVENTS_TABLE:
        return None
    name = str(getattr(recorder.datastore.pool, "db_name", ""))
    return name if name and os.path.isfile(name) else None


_EVENTS_TABLE = "stored_events"


def _reads_rows(recorder: ApplicationRecorder) -> TypeGuard[SQLiteApplicationRecorder]:
    """Whether the store's rows can be read as they are: a SQLite store whose originator
    ids are UUIDs, kept as ``uuid.hex`` (what :meth:`ChangeDecoder.decode` takes).
    Reading them skips making a notification, and a UUID, of every row."""
    return (isinstance(recorder, SQLiteApplicationRecorder)
            and recorder.datastore.originator_id_type == "uuid")


def _notified_rows(recorder: ApplicationRecorder, end: int) -> Iterator[Sequence[Row]]:
    """:func:`_stored_rows` through the recorder's notifications (any other store)."""
    position = 0
    while notifications := recorder.select_notifications(
            start=position, limit=REBUILD_PAGE, stop=end, inclusive_of_start=False):
        yield [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
               for n in notifications]
        position = notifications[-1].id


def _retire(path: Path) -> None:
    """Fold the write-ahead log into ``path`` and leave WAL mode, so the file stands alone.

    Leaving WAL mode needs the only connection, which is how views in use are detected;
    and no stale ``-wal`` file of the old views may survive next to the new ones.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.OperationalError as error:
        raise ViewsInUse(f"{path} is in use; close the views before rebuilding them.") from error
    finally:
        conn.close()
    if mode != "delete":
        raise ViewsInUse(f"{path} is in use; close the views before rebuilding them.")


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")):
        leftover.unlink(missing_ok=True)


def rebuild_in_place(app: EventLog, views: "PgViews") -> None:
    """Rebuild views in PostgreSQL from position zero of ``app``'s log, in one transaction
    (see :meth:`projections.pg_views.PgViews.rebuild`): the service may keep running."""
    end = app.recorder.max_notification_id() or 0
    with _without_cycle_collection():
        views.rebuild(_pages(app, _stored_rows(app.recorder, end)), end)
