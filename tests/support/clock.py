"""Simulated time for tests: a clock that :func:`domain.clock.use_clock` swaps in."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from domain.clock import use_clock

C = TypeVar("C", bound=Callable[[], datetime])


@dataclass
class SimulatedClock:
    """Each reading moves ``now`` on by ``step``, then returns it; with no step, time
    stands still until the test sets ``now``."""

    now: datetime
    step: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def stamping_with(clock: C) -> Iterator[C]:
    """For a fixture to ``yield from``: new events are stamped, and 'now' is judged, by
    ``clock`` until the test ends."""
    with use_clock(clock):
        yield clock
