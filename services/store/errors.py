"""Errors of the store layer that reach the person who sent the command.

The HTTP layer maps them to problem details in one place (:mod:`services.http.problems`),
beside the domain's own errors (:mod:`domain.errors`).
"""

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from domain.errors import DomainError


class NotFound(DomainError):
    """The entity named in the request's path does not exist."""


class VersionConflict(DomainError):
    """The caller's expected version is stale; ``current_version`` is what is stored now."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class KeyReused(DomainError):
    """An Idempotency-Key already ran a command for a different request."""


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every error behind it: its cause, its context, and the errors among its
    arguments (eventsourcing wraps a database error as its first argument)."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseException) and id(current) not in seen:
            seen.add(id(current))
            yield current
            pending += [current.__cause__, current.__context__, *current.args]


def disk_full(error: BaseException) -> BaseException | None:
    """The error behind ``error`` that says the disk is full (SQLite's ``SQLITE_FULL``, or
    ``ENOSPC``), if there is one."""
    for cause in causes(error):
        if isinstance(cause, sqlite3.Error) and (
                getattr(cause, "sqlite_errorcode", None) == SQLITE_FULL
                or "database or disk is full" in str(cause)):
            return cause
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return cause
    return None


def out_of_space(error: BaseException, folder: Path) -> BaseException | None:
    """:func:`disk_full`; or, while the disk holding ``folder`` has less than
    :data:`LOW_SPACE_BYTES` free, the database error behind ``error``: SQLite reports some
    writes to a full disk as I/O errors (growing its ``-shm`` file: ``SQLITE_IOERR_SHMSIZE``)."""
    full = disk_full(error)
    if full is not None:
        return full
    database_error = next((e for e in causes(error) if isinstance(e, sqlite3.Error)), None)
    if database_error is None:
        return None
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    return database_error if free < LOW_SPACE_BYTES else None


#: SQLite's result code for "database or disk is full".
SQLITE_FULL = 13
#: Free space under which a database error is taken for a full disk.
LOW_SPACE_BYTES = 1024 * 1024
