"""The composition root: builds the store, the views and the workers from one Settings.

Nothing connects to a database or a broker at import time; only :func:`build_application`
and friends do, with explicit arguments.
"""

from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from services.commands.application import DecisionLog, PathFactory
from services.runtime.settings import Settings
from services.store import fast_codec, group_commit, metrics
from services.store.checkpoints import Checkpointer
from services.store.combining import Combiner
from services.store.command_batches import CommandBatches
from services.store.command_cache import CommandCache
from services.store.command_path import CommandPath, FastPath, PlainPath
from services.store.group_commit import GroupCommitRecorder
from services.store.snapshots import Snapshots
from services.streaming.relay import Relay, RelayOptions, RelayPositions


def application_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for the configured store."""
    if settings.store.kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
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


def command_path(settings: Settings) -> PathFactory:
    """How commands run on the configured store: the fast path on the group-commit recorder
    (in command batches unless switched off), the library's plain path on any other."""
    store = settings.store

    def build(app: Application[UUID]) -> CommandPath:
        snapshots = None
        if app.snapshots is not None and store.snapshot_interval:
            snapshots = Snapshots(app.snapshots, store.snapshot_interval)
        recorder = app.recorder
        if not isinstance(recorder, GroupCommitRecorder):
            return PlainPath(app, snapshots)
        cache = CommandCache(store.aggregate_cache_size)
        batches = None
        if store.command_batches:
            batches = CommandBatches(recorder, cache.clear)
        combiners: dict[str, Combiner[Any, Any]] = {"saves": recorder.saves}
        if batches is not None:
            combiners["commands"] = batches.combiner
        # Commands run together, and saves committed together; each batch's size is counted.
        for queue, combiner in combiners.items():
            combiner.max_batch = store.group_commit_max_batch
            combiner.max_wait = store.group_commit_max_wait_ms / 1000
            combiner.work = metrics.observe_batches(combiner.work, queue)
        return FastPath(app.events, cache, batches, snapshots)

    return build


def build_application(settings: Settings) -> DecisionLog:
    """The decision log application on the configured store."""
    return DecisionLog(env=application_env(settings), path=command_path(settings))


def positions_for(settings: Settings) -> RelayPositions:
    """The relay's position table: in the store's SQLite file (in memory for a memory store)."""
    if settings.store.kind == "sqlite":
        return RelayPositions(settings.events_path)
    return RelayPositions(":memory:")


def build_relay(app: DecisionLog, settings: Settings,
                options: RelayOptions | None = None) -> Relay | None:
    """The relay for ``app``, or ``None`` when Kafka is not configured."""
    if not settings.kafka.enabled:
        return None
    return Relay(app, settings.kafka, positions_for(settings), options)


def build_checkpointer(settings: Settings, *paths: Path) -> Checkpointer:
    """Bounds the WAL of ``paths``, SQLite files this process writes."""
    return Checkpointer(paths, limit_bytes=int(settings.store.wal_limit_mb * 2**20),
                        interval_s=settings.store.wal_check_interval_s)


def written_files(settings: Settings) -> list[Path]:
    """The SQLite files ``pdl serve`` writes: the event log (on SQLite), the views, and the
    service database."""
    events = [settings.events_path] if settings.store.kind == "sqlite" else []
    return [*events, settings.views_path, settings.service_db_path]
