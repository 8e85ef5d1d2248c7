"""Bounded WAL files: a checkpoint that lets the log restart, for every SQLite file we write.

SQLite's automatic checkpoint copies committed pages back into the database but can only
*restart* the write-ahead log from its beginning when no reader still uses it. With readers
always open (HTTP reads of the views, the catch-up and the relay tailing the event log), that
moment never comes by itself, so the ``-wal`` file grows for as long as the service runs.

A :class:`Checkpointer` watches each file's WAL and, once it is larger than ``limit_bytes``,
runs ``PRAGMA wal_checkpoint(TRUNCATE)``: it copies every page back, waits (up to ``wait_ms``)
for the readers that started before to finish — our read transactions are short — and then
truncates the log to zero bytes. If readers are still busy it simply tries again on its next
round; writes are held for at most ``wait_ms`` while it waits.
"""

import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def wal_bytes(path: Path) -> int:
    """The size of ``path``'s write-ahead log (0 when it has none)."""
    try:
        return wal_path(path).stat().st_size
    except FileNotFoundError:
        return 0


class Checkpointer:
    """Keeps the WAL of each file in ``paths`` near or under ``limit_bytes``."""

    def __init__(self, paths: Iterable[Path], limit_bytes: int, interval_s: float = 1.0,
                 wait_ms: int = 50) -> None:
        self.paths = list(paths)
        self.limit_bytes = limit_bytes
        self.interval_s = interval_s
        self.wait_ms = wait_ms
        #: Truncating checkpoints done, and those that found readers still busy.
        self.truncated = 0
        self.busy = 0
        self._connections: dict[Path, sqlite3.Connection] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sizes(self) -> dict[str, int]:
        """Each file's WAL size in bytes, by file name."""
        return {path.name: wal_bytes(path) for path in self.paths}

    def run_once(self) -> None:
        """Truncate the log of every file whose WAL is over the limit (if its readers let)."""
        for path in self.paths:
            if wal_bytes(path) > self.limit_bytes and path.exists():
                self._truncate(path)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="wal-checkpointer",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the rounds and close this checkpointer's connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except sqlite3.Error as error:  # e.g. disk full: the next round tries again
                logger.warning("WAL checkpoint failed: %s", error)

    def _truncate(self, path: Path) -> None:
        connection = self._connections.get(path)
        if connection is None:
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                         timeout=self.wait_ms / 1000)
            self._connections[path] = connection
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            self.busy += 1
        else:
            self.truncated += 1
