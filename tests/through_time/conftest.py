"""A real decision log and views on SQLite files in the test's folder, on a simulated clock."""

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
from tests.through_time.scenario import History, six_months


@pytest.fixture
def calendar() -> Iterator[SimulatedClock]:
    """Events are stamped by a calendar the test turns, month by month: each reading is one
    minute later."""
    yield from stamping_with(SimulatedClock(JAN_5_2026, step=timedelta(minutes=1)))


@pytest.fixture(params=STORES)
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_on(request.param, tmp_path, request)


@pytest.fixture
def log(settings: Settings, calendar: SimulatedClock) -> Iterator[DecisionLog]:
    yield from open_log(settings)


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    """Beside the log: in the test's folder, or in its PostgreSQL database."""
    yield from open_views_of(settings)


@pytest.fixture
def catchup(log: DecisionLog, views: Views) -> StoreCatchUp:
    return StoreCatchUp(log, views)


@pytest.fixture
def history(log: DecisionLog, views: Views, catchup: StoreCatchUp,
            calendar: SimulatedClock) -> History:
    """The roadmap of 'Ledger' through six simulated months, with its month-end snapshots."""
    return six_months(log, views, catchup, calendar)
