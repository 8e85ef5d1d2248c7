"""The composition root: builds the store, the views and the workers from one Settings.

Nothing connects to a database or a broker at import time; only :func:`build_application`
and friends do, with explicit arguments.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from psycopg_pool import ConnectionPool

from projections.pg_views import PgViews
from projections.views import Views
from services.commands.application import DecisionLog, PathFactory
from services.identity.idempotency import IdempotencyStore
from services.identity.pg_stores import PgIdempotencyStore, PgTokenStore
from services.identity.tokens import TokenStore
from services.runtime.notifications import Listener
from services.runtime.settings import Settings, StoreSettings
from services.store import (
    command_keys,
    fast_codec,
    group_commit,
    metrics,
    pg_group_commit,
    postgres,
)
from services.store.checkpoints import Checkpointer
from services.store.combining import Combiner
from services.store.command_batches import CommandBatches
from services.store.command_cache import CommandCache
from services.store.command_path import CommandPath, FastPath, PlainPath
from services.store.group_commit import GroupCommitRecorder
from services.store.leadership import FileLease
from services.store.pg_group_commit import PgGroupCommitRecorder
from services.store.snapshots import Snapshots
from services.streaming.kafka_io import describe_cluster
from services.streaming.leases import FileRelayLease, PgRelayLease, RelayLease
from services.streaming.pg_positions import PgRelayPositions
from services.streaming.positions import Target
from services.streaming.relay import Relay, RelayOptions, RelayPositions


def application_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured store."""
    if settings.store.kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if settings.store.kind == "postgres":
        env = postgres_env(settings.store)
    else:
        settings.events_path.parent.mkdir(parents=True, exist_ok=True)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.events_path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        if settings.store.group_commit:
            env["APPLICATION_RECORDER_TOPIC"] = group_commit.TOPIC
    if settings.store.fast_codec:
        env["TRANSCODER_TOPIC"] = fast_codec.TOPIC
    if settings.store.snapshot_interval:
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
    if settings.store.aggregate_cache_size:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.store.aggregate_cache_size)
    return env


def postgres_env(store: StoreSettings) -> dict[str, str]:
    """eventsourcing's PostgreSQL settings from ours: the recorders of
    :mod:`services.store.pg_group_commit`, tables made by :func:`migrate_postgres` (never by
    each replica's library code, which fails when run concurrently)."""
    assert store.dsn is not None
    params = postgres.parameters(store.dsn.get_secret_value())
    return {
        "PERSISTENCE_MODULE": pg_group_commit.TOPIC,
        "POSTGRES_DBNAME": str(params.get("dbname") or params.get("user") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or 5432),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(store.pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(store.connect_timeout_s))),
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "n",
        pg_group_commit.CONNECT_TIMEOUT_S: str(store.connect_timeout_s),
        pg_group_commit.STATEMENT_TIMEOUT_S: str(store.statement_timeout_s),
    }


def migrate_postgres(app: Application[UUID]) -> None:
    """Create or migrate the event log's tables and the command outcomes, once for all
    replicas (advisory locks; versions in ``pdl_schema``)."""
    recorders: list[Any] = [app.recorder]
    if app.snapshots is not None:
        recorders.append(app.snapshots.recorder)
    pg_group_commit.create_tables(recorders)
    recorder = app.recorder
    assert isinstance(recorder, PgGroupCommitRecorder)
    with recorder.datastore.get_connection() as conn:
        postgres.migrate(conn, "command_outcomes", [list(command_keys.SCHEMA)])


def command_path(settings: Settings) -> PathFactory:
    """How commands run on the configured store: the fast path on the group-commit recorder
    (in command batches unless switched off), the library's plain path on any other."""
    store = settings.store

    def build(app: Application[UUID]) -> CommandPath:
        snapshots = None
        if app.snapshots is not None and store.snapshot_interval:
            snapshots = Snapshots(app.snapshots, store.snapshot_interval)
        recorder = app.recorder
        on_postgres = isinstance(recorder, PgGroupCommitRecorder)
        if on_postgres:
            migrate_postgres(app)
        elif not isinstance(recorder, GroupCommitRecorder):
            return PlainPath(app, snapshots)
        assert isinstance(recorder, GroupCommitRecorder | PgGroupCommitRecorder)
        cache = CommandCache(store.aggregate_cache_size)
        batches = None
        if store.command_batches:
            batches = CommandBatches(recorder, cache.clear, create_tables=not on_postgres)
        combiners: dict[str, Combiner[Any, Any]] = {"saves": recorder.saves}
        if batches is not None:
            combiners["commands"] = batches.combiner
        # Commands run together, and saves committed together; each batch's size is counted.
        for queue, combiner in combiners.items():
            combiner.max_batch = store.group_commit_max_batch if store.group_commit else 1
            combiner.max_wait = store.group_commit_max_wait_ms / 1000
            combiner.work = metrics.observe_batches(combiner.work, queue)
        return FastPath(app.events, cache, batches, snapshots)

    return build


def build_application(settings: Settings) -> DecisionLog:
    """The decision log application on the configured store."""
    return DecisionLog(env=application_env(settings), path=command_path(settings))


def positions_for(settings: Settings,
                  pool: ConnectionPool | None = None) -> RelayPositions | PgRelayPositions:
    """The relay's position table: in the store's SQLite file or PostgreSQL database (in
    memory for a memory store)."""
    if settings.store.kind == "sqlite":
        return RelayPositions(settings.events_path)
    if settings.postgres:
        pool = pool or service_pool(settings, "pdl-relay", size=2)
        postgres.migrate_pool(pool, PgRelayPositions.COMPONENT, PgRelayPositions.MIGRATIONS)
        return PgRelayPositions(pool)
    return RelayPositions(":memory:")


def relay_lease(settings: Settings, name: str,
                pool: ConnectionPool | None = None) -> RelayLease | None:
    """The lease a relay must hold to publish: one relay per store (none for a memory
    store, which no other process can see)."""
    if settings.postgres:
        assert pool is not None
        postgres.migrate_pool(pool, PgRelayLease.COMPONENT, PgRelayLease.MIGRATIONS)
        return PgRelayLease(pool, f"{settings.kafka.topic_prefix}.{name}",
                            ttl_s=settings.kafka.relay_lease_s)
    if settings.store.kind == "sqlite":
        return FileRelayLease(FileLease(settings.data_dir / "relay.lock"))
    return None


def build_relay(app: DecisionLog, settings: Settings,
                options: RelayOptions | None = None) -> Relay | None:
    """The relay for ``app``, or ``None`` when Kafka is not configured."""
    if not settings.kafka.enabled:
        return None
    options = options or RelayOptions()
    pool = service_pool(settings, "pdl-relay", size=2) if settings.postgres else None
    return Relay(app, settings.kafka, positions_for(settings, pool), options,
                 lease=relay_lease(settings, options.name, pool),
                 close_with=pool.close if pool is not None else None)


def build_checkpointer(settings: Settings, *paths: Path) -> Checkpointer:
    """Bounds the WAL of ``paths``, SQLite files this process writes."""
    return Checkpointer(paths, limit_bytes=int(settings.store.wal_limit_mb * 2**20),
                        interval_s=settings.store.wal_check_interval_s)


def written_files(settings: Settings) -> list[Path]:
    """The SQLite files ``pdl serve`` writes: the event log (on SQLite), the views, and the
    service database."""
    if settings.postgres:  # everything is in PostgreSQL
        return []
    events = [settings.events_path] if settings.store.kind == "sqlite" else []
    return [*events, settings.views_path, settings.service_db_path]


def service_pool(settings: Settings, name: str, size: int = 4) -> ConnectionPool:
    """A pool of connections for the service's own tables in PostgreSQL."""
    store = settings.store
    assert store.dsn is not None
    return postgres.connection_pool(store.dsn.get_secret_value(), size=size,
                                    connect_timeout_s=store.connect_timeout_s,
                                    statement_timeout_s=store.statement_timeout_s, name=name)


@dataclass
class Identity:
    """Tokens and idempotency keys: in the service's SQLite file, or (``kind=postgres``) in
    PostgreSQL, shared by every replica."""

    tokens: TokenStore | PgTokenStore
    idempotency: IdempotencyStore | PgIdempotencyStore
    pool: ConnectionPool | None = None

    def close(self) -> None:
        self.idempotency.close()
        self.tokens.close()
        if self.pool is not None:
            self.pool.close()


def open_identity(settings: Settings, *, synced: bool = True) -> Identity:
    """The token and idempotency stores for the configured store (tables made if missing).

    ``synced``: see :class:`IdempotencyStore` (False when commands record their outcomes with
    their events)."""
    if settings.postgres:
        pool = service_pool(settings, "pdl-identity")
        try:
            for store in (PgTokenStore, PgIdempotencyStore):
                postgres.migrate_pool(pool, store.COMPONENT, store.MIGRATIONS)
        except BaseException:
            pool.close()
            raise
        return Identity(PgTokenStore(pool),
                        PgIdempotencyStore(pool, lease=settings.api.idempotency_lease_s,
                                           synced=synced), pool)
    return Identity(TokenStore(settings.service_db_path),
                    IdempotencyStore(settings.service_db_path,
                                     lease=settings.api.idempotency_lease_s, synced=synced))


def build_listener(app: DecisionLog, settings: Settings,
                   wake: Callable[[], None]) -> Listener | None:
    """On PostgreSQL: a listener that calls ``wake`` when any replica writes events."""
    recorder = app.recorder
    if not settings.postgres or not isinstance(recorder, PgGroupCommitRecorder):
        return None
    assert settings.store.dsn is not None
    return Listener(settings.store.dsn.get_secret_value(), recorder.channel_name, wake,
                    connect_timeout_s=settings.store.connect_timeout_s)


def build_views(settings: Settings) -> Views:
    """The views: in the data folder's SQLite file, or (``kind=postgres``) in PostgreSQL,
    shared by every replica."""
    if settings.postgres:
        store = settings.store
        assert store.dsn is not None
        return PgViews(store.dsn.get_secret_value(), connect_timeout_s=store.connect_timeout_s,
                       statement_timeout_s=store.statement_timeout_s)
    return Views(settings.views_path)


def published_position(settings: Settings, relay_name: str = "kafka") -> Callable[[], int]:
    """How far the relay of this store has published to the configured Kafka cluster and
    prefix (recorded once the broker acknowledged it): for a Kafka feed that keeps the
    views' store position (see ``KafkaFeed.advance_store_position``)."""
    positions = positions_for(settings)
    target = Target(describe_cluster(settings.kafka).cluster_id, settings.kafka.topic_prefix)
    return lambda: positions.get(relay_name, target)
