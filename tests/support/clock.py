"""Simulated time for tests: a clock that :func:`domain.clock.use_clock` swaps in, and the
fixed instants the suites' calendars start from."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from domain.clock import use_clock

C = TypeVar("C", bound=Callable[[], datetime])

#: Monday 5 January 2026, 9:00 UTC: where the simulated calendars of the store tests start.
JAN_5_2026 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def month_number(month: int | str) -> int:
    """``month`` as 1 to 12 (given as a number, or by its English name)."""
    return MONTH_NAMES.index(month) + 1 if isinstance(month, str) else month


def end_of(month: int | str, year: int) -> datetime:
    """The last instant (UTC) of ``month`` in ``year``."""
    number = month_number(month)
    first_of_next = (datetime(year + 1, 1, 1, tzinfo=UTC) if number == 12
                     else datetime(year, number + 1, 1, tzinfo=UTC))
    return first_of_next - timedelta(microseconds=1)


@dataclass
class SimulatedClock:
    """Each reading moves ``now`` on by ``step``, then returns it; with no step, time
    stands still until the test sets ``now``."""

    now: datetime
    step: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def jump(self, **delta: float) -> datetime:
        """Move time forward (``delta`` as for :class:`~datetime.timedelta`) and return the
        instant just before anything new happens."""
        self.now += timedelta(**delta)
        return self.now

    def on(self, month: int | str, day: int, year: int | None = None) -> datetime:
        """Turn to 9:00 UTC on ``day`` of ``month`` (of ``year``, else of the year it is now)
        and return that instant."""
        year = self.now.year if year is None else year
        self.now = datetime(year, month_number(month), day, 9, 0, tzinfo=UTC)
        return self.now


def stamping_with(clock: C) -> Iterator[C]:
    """For a fixture to ``yield from``: new events are stamped, and 'now' is judged, by
    ``clock`` until the test ends."""
    with use_clock(clock):
        yield clock
