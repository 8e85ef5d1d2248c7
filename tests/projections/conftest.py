"""Projections on real SQLite files: the event store and the views in the test's folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.projections.scenario import Clock
from tests.support.clock import stamping_with
from tests.support.stores import open_log, open_views


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Events are stamped by a clock the test controls."""
    yield from stamping_with(Clock())


@pytest.fixture
def log(settings: Settings, clock: Clock) -> Iterator[DecisionLog]:
    yield from open_log(settings)


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    yield from open_views(settings.views_path)


@pytest.fixture
def catchup(log: DecisionLog, views: Views) -> Iterator[StoreCatchUp]:
    catchup = StoreCatchUp(log, views)
    yield catchup
    catchup.stop()
