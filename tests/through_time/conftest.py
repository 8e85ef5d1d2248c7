"""A real decision log and views on SQLite files in the test's folder, on a simulated clock."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.clock import use_clock
from projections.catchup import StoreCatchUp
from projections.views import Views
from services.application import DecisionLog
from services.bootstrap import build_application
from services.settings import Settings
from tests.through_time.scenario import Calendar, History, six_months


@pytest.fixture
def calendar() -> Iterator[Calendar]:
    """Events are stamped by a calendar the test turns, month by month."""
    calendar = Calendar()
    with use_clock(calendar):
        yield calendar


@pytest.fixture
def log(tmp_path: Path, calendar: Calendar) -> Iterator[DecisionLog]:
    app = build_application(Settings(data_dir=tmp_path))
    yield app
    app.close()


@pytest.fixture
def views(tmp_path: Path) -> Iterator[Views]:
    views = Views(tmp_path / "views.db")
    yield views
    views.close()


@pytest.fixture
def catchup(log: DecisionLog, views: Views) -> StoreCatchUp:
    return StoreCatchUp(log, views)


@pytest.fixture
def history(log: DecisionLog, views: Views, catchup: StoreCatchUp,
            calendar: Calendar) -> History:
    """The roadmap of 'Ledger' through six simulated months, with its month-end snapshots."""
    return six_months(log, views, catchup, calendar)
