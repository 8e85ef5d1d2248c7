"""Fixtures: the HTTP test runtime of ``tests/api`` on a simulated calendar, and the
six-month scenario played through it."""

from collections.abc import Iterator

import pytest

from tests.api.conftest import admin, client, editor, runtime, settings, viewer  # noqa: F401
from tests.api.driver import Api
from tests.api_through_time.scenario import JAN_4, History, six_months
from tests.support.clock import SimulatedClock, stamping_with


@pytest.fixture
def calendar() -> Iterator[SimulatedClock]:
    """Events are stamped, and 'now' is judged, by a calendar the test turns."""
    yield from stamping_with(SimulatedClock(JAN_4))


@pytest.fixture
def history(editor: Api, calendar: SimulatedClock) -> History:  # noqa: F811 (the imported fixture)
    return six_months(editor, calendar)
