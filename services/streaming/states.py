"""Each entity's state after each change the relay publishes, for the current-state topics.

The state is the aggregate itself, evolved by the domain's own events (``event.mutate``): what
the application would load at that version, never a second copy of the rules. The relay goes
through the log in order, so each entity's aggregate is kept from one of its changes to the
next (the most recently changed ones, up to ``keep``). An aggregate that is not kept, or not at
the version just before the change (after a restart, a replay from an earlier position, a
batch sent again), is loaded from the store at that version: the repository starts from the
nearest snapshot. Nothing is stored beside the event log, so there is nothing to keep in step
with the relay's positions.
"""

from collections import OrderedDict
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import Mapper, StoredEvent

from contract.changes import Change
from contract.states import EntityState, entity_state


class AggregateSource(Protocol):
    """What the states are built from: the application's mapper and repository."""

    @property
    def mapper(self) -> Mapper[UUID]: ...

    @property
    def repository(self) -> Repository[UUID]: ...


class CurrentStates:
    """Folds the log's events into the states of the entities they change."""

    def __init__(self, source: AggregateSource, keep: int = 10_000) -> None:
        self._mapper = source.mapper
        self._repository = source.repository
        self._keep = keep
        self._aggregates: OrderedDict[UUID, Any] = OrderedDict()

    def after(self, stored: StoredEvent, change: Change) -> EntityState:
        """The state of ``change``'s entity once ``change`` (stored as ``stored``) applied."""
        event: Any = self._mapper.to_domain_event(stored)
        entity = event.originator_id
        aggregate = self._aggregates.pop(entity, None)
        if aggregate is None or aggregate.version != event.originator_version - 1:
            aggregate = self._load(entity, event.originator_version - 1)
        aggregate = event.mutate(aggregate)
        self._aggregates[entity] = aggregate
        if len(self._aggregates) > self._keep:
            self._aggregates.popitem(last=False)
        return entity_state(change, aggregate)

    def _load(self, entity: UUID, version: int) -> Any:
        """The aggregate at ``version`` (None before its creation), as the store has it."""
        if version < 1:
            return None
        return self._repository.get(entity, version=version)
