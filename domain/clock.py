"""The time stamped on new events.

Real deployments use the wall clock. Tests that simulate months of roadmap
history swap in their own clock with :func:`use_clock`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def _wall_clock() -> datetime:
    """The time now, never before an instant it gave already (should the system clock step
    back): events keep the order they happened in."""
    global _latest
    now = datetime.now(tz=UTC)
    if now < _latest:
        now = _latest
    _latest = now
    return now


_latest = datetime.min.replace(tzinfo=UTC)


_current: Clock = _wall_clock


def now() -> datetime:
    """The current instant (UTC, timezone-aware) according to the active clock."""
    return _current()


@contextmanager
def use_clock(clock: Clock) -> Iterator[None]:
    """Stamp events created inside the block with ``clock()`` instead of the wall clock."""
    global _current
    previous, _current = _current, clock
    try:
        yield
    finally:
        _current = previous
