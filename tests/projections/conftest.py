"""Projections on real stores: the event log and the views on SQLite (the views in the
test's folder) or in PostgreSQL (both in the test's database)."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.support.clock import JAN_5_2026, SimulatedClock, stamping_with
from tests.support.stores import STORES, open_log, settings_on
from tests.support.views import open_views_of


@pytest.fixture(params=STORES)
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_on(request.param, tmp_path, request)


@pytest.fixture
def clock() -> Iterator[SimulatedClock]:
    """Events are stamped by a clock the test controls: each reading is one second later."""
    yield from stamping_with(SimulatedClock(JAN_5_2026, step=timedelta(seconds=1)))


@pytest.fixture
def log(settings: Settings, clock: SimulatedClock) -> Iterator[DecisionLog]:
    yield from open_log(settings)


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    yield from open_views_of(settings)


@pytest.fixture
def catchup(log: DecisionLog, views: Views) -> Iterator[StoreCatchUp]:
    catchup = StoreCatchUp(log, views)
    yield catchup
    catchup.stop()
