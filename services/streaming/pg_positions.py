"""How far each relay has published, per target, in PostgreSQL (shared by every replica).

Same interface and semantics as :class:`~services.streaming.positions.RelayPositions`, except
that there are no positions from before they were kept per target: no PostgreSQL deployment
ever had them, so a new target always starts from 0.

:meth:`PgRelayPositions.set` never moves a position back, in the database itself: a deposed
relay that records a batch late cannot take a newer leader's position back. Only
:meth:`~PgRelayPositions.rewind` and :meth:`~PgRelayPositions.reset`, asked for by an
operator, do.

The store creates no tables: the composition root runs
``migrate_pool(pool, PgRelayPositions.COMPONENT, PgRelayPositions.MIGRATIONS)``
(:mod:`services.store.postgres`) first. It never closes the pool it is given.
"""

from typing import ClassVar

from psycopg_pool import ConnectionPool

from services.streaming.positions import Resume, Target


class PgRelayPositions:
    """The relay positions, in a table of the shared PostgreSQL database."""

    COMPONENT: ClassVar[str] = "relay_positions"
    MIGRATIONS: ClassVar[list[list[str]]] = [[
        """CREATE TABLE IF NOT EXISTS kafka_relay_targets (
            relay TEXT NOT NULL,
            cluster_id TEXT NOT NULL,
            topic_prefix TEXT NOT NULL,
            position BIGINT NOT NULL,
            states_position BIGINT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (relay, cluster_id, topic_prefix)
        )""",
    ]]
    #: Each call is a round trip to the database: run it off the event loop.
    blocking: ClassVar[bool] = True

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get(self, relay: str, target: Target | None = None) -> int:
        """The last position ``relay`` published to ``target`` (0 before its first batch); with
        no target, the position it recorded last, wherever that was."""
        with self._pool.connection() as conn:
            if target is not None:
                row = conn.execute(
                    "SELECT position FROM kafka_relay_targets WHERE relay = %s"
                    " AND cluster_id = %s AND topic_prefix = %s",
                    (relay, target.cluster_id, target.topic_prefix)).fetchone()
            else:
                row = conn.execute(
                    "SELECT position FROM kafka_relay_targets WHERE relay = %s"
                    " ORDER BY updated_at DESC LIMIT 1", (relay,)).fetchone()
        return int(row[0]) if row else 0

    def resume(self, relay: str, target: Target, *, published_there: bool) -> Resume:
        """Where ``relay`` resumes on ``target``, recording it if the target is new (from 0:
        ``published_there`` only mattered for positions kept before targets, which
        PostgreSQL never had)."""
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO kafka_relay_targets (relay, cluster_id, topic_prefix, position,"
                " states_position, updated_at) VALUES (%s, %s, %s, 0, 0, clock_timestamp())"
                " ON CONFLICT (relay, cluster_id, topic_prefix) DO NOTHING",
                (relay, target.cluster_id, target.topic_prefix))
            row = conn.execute(
                "SELECT position, states_position FROM kafka_relay_targets WHERE relay = %s"
                " AND cluster_id = %s AND topic_prefix = %s",
                (relay, target.cluster_id, target.topic_prefix)).fetchone()
        if row is None:  # reset by another process in between: as new
            return Resume(0, 0)
        return Resume(int(row[0]), int(row[1]))

    def set(self, relay: str, target: Target, position: int, states_position: int) -> None:
        """Record that changes up to ``position`` and states up to ``states_position`` are
        published to ``target`` (neither ever moves back)."""
        self._write(relay, target, position, states_position,
                    merge="GREATEST(kafka_relay_targets.position, excluded.position),"
                          " states_position = GREATEST(kafka_relay_targets.states_position,"
                          " excluded.states_position)")

    def rewind(self, relay: str, target: Target, position: int) -> None:
        """Set both positions of ``relay`` on ``target`` to ``position``, back or forward:
        what follows is published (again, with the same ``ce_id``s)."""
        self._write(relay, target, position, position,
                    merge="excluded.position, states_position = excluded.states_position")

    def _write(self, relay: str, target: Target, position: int, states_position: int, *,
               merge: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO kafka_relay_targets (relay, cluster_id, topic_prefix, position,"
                " states_position, updated_at) VALUES (%s, %s, %s, %s, %s, clock_timestamp())"
                " ON CONFLICT (relay, cluster_id, topic_prefix) DO UPDATE SET"
                f" position = {merge}, updated_at = excluded.updated_at",
                (relay, target.cluster_id, target.topic_prefix, position, states_position))

    def reset(self, relay: str) -> None:
        """Forget every position of ``relay``: it re-publishes the whole log to any target
        (same ``ce_id``s)."""
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM kafka_relay_targets WHERE relay = %s", (relay,))

    def close(self) -> None:
        """Nothing to release: the pool is shared, and closed by its owner."""
