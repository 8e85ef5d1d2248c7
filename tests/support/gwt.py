"""Given / when / then for the aggregates: past events in, new events (or a refusal) out.

No store, no application: ``given`` rebuilds an aggregate from events exactly as a
repository would, ``when`` runs one command and returns what it recorded.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import pytest
from eventsourcing.domain import Aggregate

#: Events of any aggregate: tests read their fields by name.
Event: TypeAlias = Any


def recorded(aggregate: Any, *commands: Callable[[Any], object]) -> list[Event]:
    """The events a new aggregate recorded, then those of ``commands`` run on it in turn."""
    for command in commands:
        command(aggregate)
    return list(aggregate.collect_events())


def given(*events: Event) -> Any:
    """The aggregate rebuilt from its past events, as the repository rebuilds it."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def when(command: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Event]:
    """Run a command (a bound method, or a class method that creates) and return its new events."""
    result = command(*args, **kwargs)
    aggregate = result if isinstance(result, Aggregate) else command.__self__  # type: ignore[attr-defined]
    return list(aggregate.collect_events())


def then_events(events: list[Event], *expected: tuple[type, dict[str, Any]]) -> None:
    """Assert the event types in order, and the value of each field named in ``expected``."""
    assert [type(e) for e in events] == [event_type for event_type, _ in expected]
    for event, (_, fields) in zip(events, expected, strict=True):
        assert {name: getattr(event, name) for name in fields} == fields


@contextmanager
def then_refused(error: type[Exception], match: str, aggregate: Any = None) -> Iterator[None]:
    """Assert the block raises ``error`` with a message matching ``match``, recording nothing."""
    with pytest.raises(error, match=match):
        yield
    if aggregate is not None:
        assert aggregate.pending_events == []
