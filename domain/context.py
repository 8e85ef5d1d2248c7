"""What travels with a command besides its reason: correlation, trace and cause.

Every event of one command shares a ``correlation_id`` (the request's ``X-Request-ID`` when a
request gave one, else made per command) and, when the request carried one, its W3C
``traceparent``. An event a command triggers only because of another (a feature unscheduled
because its release was cancelled) names that event as its cause (:func:`cascade`).

The values live in a context variable: the HTTP layer sets them for a request
(:func:`correlated`), the command path carries them to the thread that runs the command
(:func:`carried`), and :class:`domain.base.DecisionLogAggregate` stamps them on each event it
triggers. Stored events written before these attributes existed simply lack them.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import uuid4

T = TypeVar("T")
R = TypeVar("R")



@dataclass
class CommandContext:
    """The correlation of one command (or request) and the time of its latest event."""

    correlation_id: str
    traceparent: str | None = None
    #: The latest timestamp stamped in this command: later events never go below it.
    last: datetime | None = field(default=None, compare=False)

    def stamp(self, now: datetime) -> datetime:
        """``now``, or the previous event's instant of this command if that was later: the
        events of a command never go back in time (two may share an instant)."""
        if self.last is not None and now < self.last:
            now = self.last
        self.last = now
        return now

    def fresh(self) -> "CommandContext":
        """The same correlation, for one more command (its own clock)."""
        return CommandContext(self.correlation_id, self.traceparent)


_command: ContextVar[CommandContext | None] = ContextVar("pdl_command", default=None)
_cascade: ContextVar["list[Any] | None"] = ContextVar("pdl_cascade", default=None)


def current() -> CommandContext | None:
    """The context of the command being decided, if any."""
    return _command.get()


@contextmanager
def correlated(correlation_id: str, traceparent: str | None = None) -> Iterator[None]:
    """Commands run inside the block share ``correlation_id`` (and ``traceparent``)."""
    token = _command.set(CommandContext(correlation_id, traceparent))
    try:
        yield
    finally:
        _command.reset(token)


def carried(command: Callable[[T], R]) -> Callable[[T], R]:
    """``command``, run in the caller's correlation (a new one if it has none), wherever it runs
    (a command batch runs it on another thread)."""
    given = _command.get()
    context = given.fresh() if given else CommandContext(uuid4().hex)

    def run(argument: T) -> R:
        token = _command.set(context.fresh())
        try:
            return command(argument)
        finally:
            _command.reset(token)

    return run


def stamp_event(event: Any) -> None:
    """Give a newly triggered ``event`` the command's correlation and note it in a cascade."""
    context = _command.get()
    if context is not None:
        object.__setattr__(event, "correlation_id", context.correlation_id)
        if context.traceparent:
            object.__setattr__(event, "traceparent", context.traceparent)
    effects = _cascade.get()
    if effects is not None:
        effects.append(event)


def event_time(now: datetime) -> datetime:
    """The timestamp of a new event: ``now``, monotonic within the current command."""
    context = _command.get()
    return now if context is None else context.stamp(now)


class Cascade:
    """The events triggered inside :func:`cascade`, to be tied to the event that caused them."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def caused_by(self, aggregate: Any) -> None:
        """Name the latest event of ``aggregate`` (triggered, not yet saved) as the cause."""
        cause = aggregate.pending_events[-1]
        named = {"entity_id": str(cause.originator_id),
                 "entity_version": cause.originator_version,
                 "event": type(cause).__qualname__}
        for event in self.events:
            # An event already tied to a nearer cause (in a nested cascade) keeps it.
            if event is not cause and "caused_by" not in vars(event):
                object.__setattr__(event, "caused_by", named)


@contextmanager
def cascade() -> Iterator[Cascade]:
    """Collect the events triggered inside the block (see :meth:`Cascade.caused_by`)."""
    effects = Cascade()
    token = _cascade.set(effects.events)
    try:
        yield effects
    finally:
        _cascade.reset(token)
        outer = _cascade.get()
        if outer is not None:  # an enclosing cascade (a decision's) includes this one
            outer.extend(effects.events)
