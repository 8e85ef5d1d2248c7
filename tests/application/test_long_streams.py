"""A command costs the same at any history length: a long stream is never replayed whole.

An aggregate's state is kept between commands (in memory) and snapshotted every
``snapshot_interval`` versions, so a warm command reads no old events and a cold one (after a
restart) reads its latest snapshot and at most an interval of events. Counted at the store:
what the recorder handed back, not how long it took.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest

from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings
from tests.support.builders import LEDGER, because

HISTORY = 10_000


class Reads:
    """Counts the stored events (and snapshots) the application reads."""

    def __init__(self) -> None:
        self.events = 0
        self.snapshots = 0


@contextmanager
def counting(log: DecisionLog) -> Iterator[Reads]:
    reads = Reads()
    originals: list[tuple[Any, Any]] = []

    def wrap(recorder: Any, field: str) -> None:
        select = recorder.select_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            rows = select(*args, **kwargs)
            setattr(reads, field, getattr(reads, field) + len(rows))
            return rows

        recorder.select_events = counted
        originals.append((recorder, select))

    wrap(log.recorder, "events")
    if log.snapshots is not None:
        wrap(log.snapshots.recorder, "snapshots")
    try:
        yield reads
    finally:
        for recorder, select in originals:
            recorder.select_events = select


def long_feature(log: DecisionLog, versions: int) -> UUID:
    """A feature whose stream holds ``versions`` events, written by real commands."""
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))
    version = log.get_feature(feature_id).version
    for i in range(versions - version):
        log.change_priority(feature_id, float(i % 100 + 10), because())
    assert log.get_feature(feature_id).version == versions
    return feature_id


@pytest.fixture
def history(settings: Settings) -> Iterator[tuple[Settings, UUID]]:
    """A store holding a feature with a long history, written through the mode under test
    (shorter on the modes that commit each command alone, to keep the suite quick)."""
    versions = HISTORY if settings.store.command_batches and settings.store.group_commit else 1_000
    log = build_application(settings)
    try:
        feature_id = long_feature(log, versions)
    finally:
        log.close()
    yield settings, feature_id


def test_a_long_stream_loads_from_its_latest_snapshot_and_is_then_kept_in_memory(
        history: tuple[Settings, UUID]) -> None:
    settings, feature_id = history
    log = build_application(settings)  # a restart: nothing is kept yet
    try:
        with counting(log) as cold:
            first = log.change_priority(feature_id, 1.0, because())
        assert cold.snapshots == 1
        assert cold.events < settings.store.snapshot_interval
        with counting(log) as warm:
            for priority in (2.0, 3.0, 4.0):
                last = log.change_priority(feature_id, priority, because())
        assert warm.snapshots == 0
        assert warm.events <= 3  # at most one look for newer events per command
        assert last.version == first.version + 3
        assert log.get_feature(feature_id).priority == 4.0
    finally:
        log.close()


def test_a_feature_loaded_from_a_snapshot_is_the_feature_replayed_from_its_events(
        settings: Settings) -> None:
    log = build_application(settings)
    try:
        feature_id = long_feature(log, 250)
    finally:
        log.close()
    from_snapshot = build_application(settings)
    replayed = build_application(settings.model_copy(
        update={"store": settings.store.model_copy(update={"snapshot_interval": 0})}))
    try:
        assert replayed.snapshots is None
        with counting(from_snapshot) as reads:
            loaded = from_snapshot.get_feature(feature_id)
        assert reads.snapshots == 1
        assert vars(loaded) == vars(replayed.get_feature(feature_id))
    finally:
        from_snapshot.close()
        replayed.close()
