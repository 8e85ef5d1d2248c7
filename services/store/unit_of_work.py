"""The unit of work every command uses: the aggregates it loads and creates, saved together.

A command is a function of a :class:`UnitOfWork`: it loads what it needs (each aggregate once,
so that its changes see each other), decides (calls domain methods), and returns the
aggregate it is about. The command path that runs it (:mod:`services.store.command_path`)
then saves every aggregate with new events in ONE transaction, or retries the whole command
on fresh state when it lost a race.
"""

from collections.abc import Callable, Iterable, Sequence
from heapq import merge
from operator import attrgetter
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.base import DecisionLogAggregate
from domain.errors import InvalidCommand
from services.store.errors import NotFound, VersionConflict

A = TypeVar("A", bound=DecisionLogAggregate)

#: Loads the aggregate with an id: the aggregate (None when it has no events) and whether it
#: is known to be current (read from the store just now) rather than kept from before.
Load = Callable[[UUID], tuple[Any, bool]]

#: A command: loads and decides in the unit of work; returns the aggregate it is about.
Command = Callable[["UnitOfWork"], DecisionLogAggregate]


class History(Protocol):
    """An entity's stored events, oldest first (the event store's ``get``)."""

    def get(self, originator_id: UUID) -> Iterable[Any]: ...


class UnitOfWork:
    """The aggregates one command loads and creates, each held once."""

    def __init__(self, load: Load) -> None:
        self._load = load
        self._held: dict[UUID, DecisionLogAggregate] = {}
        #: Ids of the aggregates loaded from kept state without reading the store.
        self.unverified: set[UUID] = set()

    def load(self, cls: type[A], aggregate_id: UUID, *, expected_version: int | None = None,
             referenced: bool = False) -> A:
        """The aggregate, loaded on first use.

        A missing aggregate (or one of another type) is :class:`NotFound` when it is the
        entity a request's path names, an :class:`InvalidCommand` when ``referenced`` in a
        request's body; a stale ``expected_version`` is a :class:`VersionConflict`.
        """
        held = self._held.get(aggregate_id)
        if held is None:
            loaded, current = self._load(aggregate_id)
            if not current:
                self.unverified.add(aggregate_id)
            held = expect(cls, aggregate_id, loaded, referenced=referenced)
            self._held[aggregate_id] = held
        aggregate = expect(cls, aggregate_id, held, referenced=True)
        check_version(aggregate, expected_version)
        return aggregate

    def add(self, aggregate: A) -> A:
        """Hold a newly created aggregate, to be saved with the rest."""
        self._held[aggregate.id] = aggregate
        return aggregate

    def held(self) -> list[DecisionLogAggregate]:
        """Every aggregate loaded or created, in that order."""
        return list(self._held.values())

    def changed(self) -> list[DecisionLogAggregate]:
        """Every aggregate with events to save, in the order they were first held."""
        return [a for a in self._held.values() if a.pending_events]


def collect_in_time_order(changed: Sequence[DecisionLogAggregate]) -> list[Any]:
    """The pending events of ``changed``, collected in the order they were triggered (their
    timestamps, monotonic within a command), each aggregate's still in version order: so
    ``occurred_at`` follows the log's order within a transaction."""
    return list(merge(*(a.collect_events() for a in changed), key=attrgetter("timestamp")))


def expect(cls: type[A], aggregate_id: UUID, aggregate: object, *,
           referenced: bool = False) -> A:
    """``aggregate`` if it is a ``cls``; else the error for a missing entity."""
    if not isinstance(aggregate, cls):
        message = f"No {cls.__name__.lower()} with id {aggregate_id}."
        raise InvalidCommand(message) if referenced else NotFound(message)
    return aggregate


def check_version(aggregate: DecisionLogAggregate, expected: int | None) -> None:
    """Refuse a change to ``aggregate`` when the caller expected another version."""
    if expected is not None and expected != aggregate.version:
        kind = type(aggregate).__name__.lower()
        raise VersionConflict(
            f"You expected this {kind} at version {expected} but it is at version "
            f"{aggregate.version}: someone changed it since you read it. "
            "Reload it and try again.",
            aggregate.version,
        )
