"""How far each relay has published, per target: a Kafka cluster and a topic prefix.

A position belongs to the place the messages went, not to the relay alone: pointed at a new
cluster (another ``cluster_id``) or a new ``PDL_KAFKA__TOPIC_PREFIX``, the relay finds no
position there and publishes the whole history to it, while the old target keeps its own.

Each target has two positions: ``position``, up to which the change messages are published, and
``states_position``, up to which the current-state messages are (:mod:`contract.states`). They
move together, except where the states lag: on a store whose history was published before the
state topics existed, or with them switched off; the relay then publishes the states of the
missing stretch first, without publishing its changes again.

Positions used to be kept per relay name only (table ``kafka_relay_positions``). Such a row is
taken over, once, by the first target of that relay whose topics already exist on its cluster:
a deployment upgraded in place resumes where it was rather than publishing everything again.
"""

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: Positions per relay name, before they were kept per target: read only to migrate them.
LEGACY_TABLE = "kafka_relay_positions"

SCHEMA = """
CREATE TABLE IF NOT EXISTS kafka_relay_targets (
    relay TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    topic_prefix TEXT NOT NULL,
    position INTEGER NOT NULL,
    states_position INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (relay, cluster_id, topic_prefix)
);
CREATE TABLE IF NOT EXISTS kafka_relay_positions (
    relay TEXT PRIMARY KEY, position INTEGER NOT NULL, updated_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Target:
    """Where a relay publishes: one Kafka cluster, one topic prefix."""

    cluster_id: str
    topic_prefix: str

    def __str__(self) -> str:
        return f"cluster {self.cluster_id}, prefix {self.topic_prefix!r}"


@dataclass(frozen=True)
class Resume:
    """Where a relay resumes on a target: changes published up to ``position``, current
    states up to ``states_position`` (never beyond ``position``)."""

    position: int
    states_position: int


class RelayPositions:
    """The relay positions, in tables of the store's own SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # A commit survives the process being killed (WAL, synchronous=NORMAL) without an
            # fsync per batch; a power cut may lose the last positions recorded, which only
            # re-publishes those batches (same ce_ids): at least once either way.
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def get(self, relay: str, target: Target | None = None) -> int:
        """The last position ``relay`` published to ``target`` (0 before its first batch); with
        no target, the position it recorded last, wherever that was."""
        with self._lock:
            if target is not None:
                row = self._db.execute(
                    "SELECT position FROM kafka_relay_targets WHERE relay = ? AND cluster_id = ?"
                    " AND topic_prefix = ?", (relay, target.cluster_id, target.topic_prefix),
                ).fetchone()
            else:
                row = self._db.execute(
                    "SELECT position FROM (SELECT position, updated_at FROM kafka_relay_targets"
                    " WHERE relay = ?1 UNION ALL SELECT position, updated_at FROM"
                    f" {LEGACY_TABLE} WHERE relay = ?1) ORDER BY updated_at DESC LIMIT 1",
                    (relay,),
                ).fetchone()
        return int(row[0]) if row else 0

    def resume(self, relay: str, target: Target, *, published_there: bool) -> Resume:
        """Where ``relay`` resumes on ``target``, recording it if the target is new.

        A new target starts from 0, unless ``relay`` has a position from before positions were
        kept per target and ``published_there`` (the target's topics exist already): then
        that position is moved to this target, and its states start from 0.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                resume = self._resume(relay, target, published_there)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return resume

    def _resume(self, relay: str, target: Target, published_there: bool) -> Resume:
        row = self._db.execute(
            "SELECT position, states_position FROM kafka_relay_targets WHERE relay = ?"
            " AND cluster_id = ? AND topic_prefix = ?",
            (relay, target.cluster_id, target.topic_prefix),
        ).fetchone()
        if row is not None:
            return Resume(int(row[0]), int(row[1]))
        legacy = self._db.execute(f"SELECT position FROM {LEGACY_TABLE} WHERE relay = ?",
                                  (relay,)).fetchone()
        position = 0
        if legacy is not None and published_there:
            position = int(legacy[0])
            self._db.execute(f"DELETE FROM {LEGACY_TABLE} WHERE relay = ?", (relay,))
        self._write(relay, target, position, 0, rewind=True)
        return Resume(position, 0)

    def set(self, relay: str, target: Target, position: int, states_position: int) -> None:
        """Record that changes up to ``position`` and states up to ``states_position`` are
        published to ``target`` (neither ever moves back)."""
        with self._lock:
            self._write(relay, target, position, states_position, rewind=False)

    def rewind(self, relay: str, target: Target, position: int) -> None:
        """Set both positions of ``relay`` on ``target`` to ``position``, back or forward:
        what follows is published (again, with the same ``ce_id``s)."""
        with self._lock:
            self._write(relay, target, position, position, rewind=True)

    def _write(self, relay: str, target: Target, position: int, states_position: int, *,
               rewind: bool) -> None:
        merge = ("excluded.position, states_position = excluded.states_position" if rewind else
                 "max(position, excluded.position),"
                 " states_position = max(states_position, excluded.states_position)")
        self._db.execute(
            "INSERT INTO kafka_relay_targets (relay, cluster_id, topic_prefix, position,"
            " states_position, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (relay, cluster_id, topic_prefix) DO UPDATE SET"
            f" position = {merge}, updated_at = excluded.updated_at",
            (relay, target.cluster_id, target.topic_prefix, position, states_position,
             datetime.now(UTC).isoformat()),
        )

    def reset(self, relay: str) -> None:
        """Forget every position of ``relay``: it re-publishes the whole log to any target
        (same ``ce_id``s)."""
        with self._lock:
            self._db.execute("DELETE FROM kafka_relay_targets WHERE relay = ?", (relay,))
            self._db.execute(f"DELETE FROM {LEGACY_TABLE} WHERE relay = ?", (relay,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
