"""Where each source of changes has been applied up to, written with the view rows.

The store catch-up tracks the source ``"store"``. A Kafka consumer can track its own
sources (e.g. ``"kafka:<topic>:<partition>"``) in the same table and transaction.
"""

from projections.dialect import POSTGRES, SQLITE, Connection, dialect

STORE = "store"

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking (
    source TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


def tracked(conn: Connection, source: str = STORE) -> int:
    """The position applied from ``source`` (0 when nothing has been)."""
    row = conn.execute("SELECT position FROM tracking WHERE source = ?", (source,)).fetchone()
    return int(row[0]) if row is not None else 0


#: Record a position, never moving it backwards (several writers may share the views).
_TRACK = {
    dialect_name: "INSERT INTO tracking (source, position) VALUES (?, ?) ON CONFLICT (source) "
                  f"DO UPDATE SET position = {greatest}(tracking.position, excluded.position)"
    for dialect_name, greatest in ((SQLITE, "max"), (POSTGRES, "GREATEST"))
}


def track(conn: Connection, position: int, source: str = STORE) -> None:
    """Record ``position`` for ``source``; a position never moves backwards."""
    conn.execute(_TRACK[dialect(conn)], (source, position))
