"""Rebuild the views from the whole event log, never leaving a half-built file behind.

The new views are built into a temporary file next to ``path`` and then moved over it
in one atomic rename: readers see either the old views or the complete new ones.
Run it while nothing has the views open (stop the service, or close its ``Views`` and
open them again afterwards); it refuses to replace views that are still in use.
"""

import os
import sqlite3
from pathlib import Path

from projections.catchup import StoreCatchUp
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


#: Events per transaction while rebuilding (measured: larger batches are no faster, and
#: hold more memory).
REBUILD_BATCH = 1_000


def _build(app: DecisionLog, path: Path) -> None:
    views = Views(path)
    try:
        # Nobody reads a half-built file and a failed rebuild deletes it: no journal and no
        # syncs while building; the finished file is synced once before it is moved in.
        views.bulk_load()
        StoreCatchUp(app, views, batch_size=REBUILD_BATCH).run_until_caught_up()
        views.end_bulk_load()
    finally:
        views.close()
    _retire(path)
    _fsync(path)


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
