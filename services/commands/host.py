"""What the decision, lineage and prioritisation mixins need from the application they
are mixed into (:class:`services.commands.application.DecisionLog`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar
from uuid import UUID

from domain.base import DecisionLogAggregate
from domain.feature import Feature
from domain.reasons import Reason

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder, EventStore, Mapper

    from services.commands.application import Loader, Outcome
    from services.commands.ranking import FeatureIndex

A = TypeVar("A", bound=DecisionLogAggregate)
T = TypeVar("T")


class Host(Protocol):
    """The application's store, its load / change / save plumbing and its decide steps."""

    events: EventStore[UUID]
    recorder: ApplicationRecorder
    mapper: Mapper[UUID]
    feature_index: FeatureIndex

    def _get(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False,
             version: int | None = None) -> A: ...

    def _run(self, command: Callable[[], T]) -> T: ...

    def _saved(self, subject: DecisionLogAggregate,
               *aggregates: DecisionLogAggregate) -> Outcome: ...

    def _change(self, cls: type[A], aggregate_id: UUID, expected_version: int | None,
                decide: Callable[[A], Sequence[DecisionLogAggregate] | None]) -> Outcome: ...

    @staticmethod
    def _check_version(aggregate: DecisionLogAggregate, expected: int | None) -> None: ...

    def decide_schedule(self, feature: Feature, release_id: UUID, reason: Reason,
                        load: Loader) -> list[DecisionLogAggregate]: ...

    def decide_unschedule(self, feature: Feature, reason: Reason,
                          load: Loader) -> list[DecisionLogAggregate]: ...
