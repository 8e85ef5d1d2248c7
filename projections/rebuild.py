"""Rebuild the views from the whole event log, never leaving a half-built file behind.

The new views are built into a temporary file next to ``path`` and then moved over it
in one atomic rename: readers see either the old views or the complete new ones.
Run it while nothing has the views open (stop the service, or close its ``Views`` and
open them again afterwards); it refuses to replace views that are still in use.
"""

import gc
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeGuard
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from contract.changes import Change
from projections.decode import ChangeDecoder
from projections.views import Views
from services.application import DecisionLog


class ViewsInUse(RuntimeError):
    """The views file is open elsewhere, so it cannot be replaced safely."""


def rebuild(app: DecisionLog, path: Path) -> None:
    """Replace the views at ``path`` with views built from position zero of ``app``'s log."""
    path = Path(path)
    temporary = path.with_name(f"{path.name}.rebuild")
    _remove(temporary)
    try:
        _build(app, temporary)
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
REBUILD_PAGE = 2_000


def _build(app: DecisionLog, path: Path) -> None:
    views = Views(path)
    try:
        with _without_cycle_collection():
            views.load_from_zero(_pages(app))
    finally:
        views.close()
    _retire(path)
    _fsync(path)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector. Loading makes no reference cycles, but it keeps
    every entity's current row, replaced change after change, and the collector would walk
    them again and again (measured: a tenth of the time at a million events). Anything
    else the process makes meanwhile is collected once it is back on."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _pages(app: DecisionLog) -> Iterator[tuple[list[Change], int]]:
    """The published changes of each page of the log, and the position the page reaches."""
    decode = ChangeDecoder(app.mapper).decode
    for rows in _stored_rows(app.recorder):
        changes = [decode(*row) for row in rows]
        yield [c for c in changes if c is not None], rows[-1][0]


#: A stored event's columns: position, originator id, originator version, topic, state.
Row = tuple[int, UUID | str, int, str, bytes]


def _stored_rows(recorder: ApplicationRecorder) -> Iterator[Sequence[Row]]:
    """Every stored event in log order, a page at a time, each page read in its own
    short transaction (writers carry on meanwhile)."""
    if not _reads_rows(recorder):
        yield from _notified_rows(recorder)
        return
    select = (f"SELECT rowid, originator_id, originator_version, topic, state "
              f"FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?")
    position = 0
    while True:
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(select, (position, REBUILD_PAGE))
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        position = rows[-1][0]


def _reads_rows(recorder: ApplicationRecorder) -> TypeGuard[SQLiteApplicationRecorder]:
    """Whether the store's rows can be read as they are: a SQLite store whose originator
    ids are UUIDs, kept as ``uuid.hex`` (what :meth:`ChangeDecoder.decode` takes).
    Reading them skips making a notification, and a UUID, of every row."""
    return (isinstance(recorder, SQLiteApplicationRecorder)
            and recorder.datastore.originator_id_type == "uuid")


def _notified_rows(recorder: ApplicationRecorder) -> Iterator[Sequence[Row]]:
    """:func:`_stored_rows` through the recorder's notifications (any other store)."""
    position = 0
    while notifications := recorder.select_notifications(
            start=position, limit=REBUILD_PAGE, inclusive_of_start=False):
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
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
