"""Projections on real SQLite files: the event store and the views in the test's folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.clock import use_clock
from projections.catchup import StoreCatchUp
from projections.views import Views
from services.application import DecisionLog
from services.bootstrap import build_application
from services.settings import Settings
from tests.projections.scenario import Clock


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Events are stamped by a clock the test controls."""
    clock = Clock()
    with use_clock(clock):
        yield clock


@pytest.fixture
def log(settings: Settings, clock: Clock) -> Iterator[DecisionLog]:
    app = build_application(settings)
    yield app
    app.close()


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    views = Views(settings.views_path)
    yield views
    views.close()


@pytest.fixture
def catchup(log: DecisionLog, views: Views) -> Iterator[StoreCatchUp]:
    catchup = StoreCatchUp(log, views)
    yield catchup
    catchup.stop()
