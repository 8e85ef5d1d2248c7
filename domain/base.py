"""What every aggregate of the decision log shares."""

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import clock, context
from domain.errors import InvalidCommand
from domain.reasons import Reason


class DecisionLogAggregate(Aggregate):
    """An aggregate whose events are stamped by :mod:`domain.clock` and carry their reason,
    and the correlation (and cause) of the command that triggered them (:mod:`domain.context`).
    """

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return context.event_time(clock.now())

    class Created(Event, Aggregate.Created):
        actor: str

    class Changed(Event):
        """A change after creation: who made it, why, and on what evidence."""

        product_id: UUID
        actor: str
        rationale: str
        evidence: list[str]
        decision_id: UUID | None

    @classmethod
    def _create(cls, event_class: Any, *, id: UUID | None = None, **kwargs: Any) -> Any:
        """Refuse to start a history without an actor: every event says who made it."""
        if not str(kwargs.get("actor", "")).strip():
            raise InvalidCommand("A new entity needs an actor: the authenticated user creating it.")
        created = super()._create(event_class, id=id, **kwargs)
        context.stamp_event(created.pending_events[-1])
        return created

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        super().trigger_event(event_class, **kwargs)
        context.stamp_event(self.pending_events[-1])

    def record(self, event_class: type["DecisionLogAggregate.Changed"], reason: Reason,
               **changes: Any) -> None:
        """Record a change event carrying ``reason`` and apply it to this aggregate."""
        self.trigger_event(
            event_class, product_id=self.owning_product_id, **changes, **reason.as_event_fields()
        )

    @property
    def owning_product_id(self) -> UUID:
        """The product this entity belongs to (a product belongs to itself)."""
        product_id: UUID = getattr(self, "product_id", self.id)
        return product_id
