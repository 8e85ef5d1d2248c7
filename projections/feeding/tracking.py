"""Where each source of changes has been applied up to, written with the view rows.

The store catch-up tracks the source ``"store"``. A Kafka consumer can track its own
sources (e.g. ``"kafka:<topic>:<partition>"``) in the same table and transaction.
"""

import sqlite3

STORE = "store"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking (
    source TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


def tracked(conn: sqlite3.Connection, source: str = STORE) -> int:
    """The position applied from ``source`` (0 when nothing has been)."""
    row = conn.execute("SELECT position FROM tracking WHERE source = ?", (source,)).fetchone()
    return int(row[0]) if row is not None else 0


def track(conn: sqlite3.Connection, position: int, source: str = STORE) -> None:
    """Record ``position`` for ``source``; a position never moves backwards."""
    conn.execute(
        "INSERT INTO tracking (source, position) VALUES (?, ?) ON CONFLICT (source) "
        "DO UPDATE SET position = max(position, excluded.position)",
        (source, position),
    )
