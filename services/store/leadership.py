"""One leader per data folder: the process that keeps the views caught up and runs the relay.

Several server processes may share one data folder (``pdl serve --workers N``). Each takes
commands and serves reads, but the work done *once per store* — applying the event log to the
views, publishing it to Kafka — must be done by exactly one of them. The leader is whoever
holds an exclusive ``flock`` on ``<data>/leader.lock``: the operating system releases it when
that process dies, however it dies, and another process takes it on its next try.
"""

import fcntl
import os
from pathlib import Path


class FileLease:
    """An exclusive, non-blocking lock on one file, held until released or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if no other process (or other lease on the file) holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def holder(self) -> int | None:
        """The process id the current holder wrote, if any (for logs and health)."""
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None
