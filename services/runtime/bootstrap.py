"""The composition root: builds the store, the views and the workers from one Settings.

Nothing connects to a database or a broker at import time; only :func:`build_application`
and friends do, with explicit arguments.
"""

from typing import Any

from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from services.store import fast_codec, group_commit
from services.store.combining import Combiner
from services.store.group_commit import GroupCommitRecorder


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
        if not settings.store.command_batches:
            env[DecisionLog.COMMAND_BATCHES] = "no"
    if settings.store.fast_codec:
        env["TRANSCODER_TOPIC"] = fast_codec.TOPIC
    if settings.store.aggregate_cache_size:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.store.aggregate_cache_size)
    return env


def build_application(settings: Settings) -> DecisionLog:
    """The decision log application on the configured store."""
    app = DecisionLog(env=application_env(settings))
    combiners: list[Combiner[Any, Any]] = []
    if isinstance(app.recorder, GroupCommitRecorder):
        combiners.append(app.recorder.saves)
    if app.batches is not None:
        combiners.append(app.batches.combiner)
    for combiner in combiners:  # commands run together, and saves committed together
        combiner.max_batch = settings.store.group_commit_max_batch
        combiner.max_wait = settings.store.group_commit_max_wait_ms / 1000
    return app
