"""The service's own SQLite file (tokens, idempotency keys), shared by threads and processes."""

import sqlite3
from pathlib import Path

#: How long a write waits for another thread's or process's write to finish.
BUSY_TIMEOUT_S = 10


def connect(path: Path, schema: str | None = None) -> sqlite3.Connection:
    """An autocommit connection in WAL mode, creating ``schema`` (idempotent DDL) if given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S,
                         isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    if schema:
        db.executescript(schema)
    return db
