"""Ranking: the product's features ranked as of any past instant, each priority explained
(and a score recomputed from its recorded inputs). Read from the features' histories in the
event store; the feature ids of each product come from an index of ``Feature.Created``."""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain import clock, scoring
from domain.errors import InvalidCommand
from domain.feature import REJECTED, SHIPPED, Feature
from domain.product import Product
from services.store.unit_of_work import History

PAGE_SIZE = 500


@dataclass(frozen=True)
class RankedFeature:
    """A feature's place in a ranking, and where its priority came from."""

    rank: int
    feature_id: UUID
    title: str
    status: str
    priority: float
    formula: str | None
    inputs: dict[str, float] | None
    reproduced: bool
    explanation: str


class Ranking:
    """Ranks a product's features as of an instant, from their histories (``history``);
    ``read_product`` refuses an unknown product."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID], history: History,
                 read_product: Callable[[UUID], Product]) -> None:
        self._history = history
        self._read_product = read_product
        self._features = FeatureIndex(recorder, mapper)

    def rank(self, product_id: UUID, as_of: datetime | None = None) -> list[RankedFeature]:
        """The product's open features by priority as of ``as_of`` (default now), each
        priority explained and, when it came from a score, recomputed from its inputs."""
        instant = _checked_instant(as_of)
        self._read_product(product_id)
        standing = [_as_of(self._history, i, instant) for i in self._features.of(product_id)]
        ranked = sorted((s for s in standing if s and s[0].status not in (REJECTED, SHIPPED)),
                        key=lambda s: (-s[0].priority, s[0].title))
        return [_ranked(rank, feature, last) for rank, (feature, last)
                in enumerate(ranked, start=1)]


def _checked_instant(as_of: datetime | None) -> datetime:
    now = clock.now()
    if as_of is None:
        return now
    if as_of.tzinfo is None:
        raise InvalidCommand("as_of needs a timezone, e.g. 2026-03-01T12:00:00Z.")
    if as_of > now:
        raise InvalidCommand("as_of is in the future; the log can only answer for the past.")
    return as_of


class FeatureIndex:
    """Each product's features, from the log's ``Feature.Created`` events, read once.

    The log only grows, so the index remembers the last position it read and each lookup
    reads only the creations stored since (usually none) instead of the whole log.
    """

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> None:
        self._recorder = recorder
        self._mapper = mapper
        self._features: dict[UUID, list[UUID]] = {}
        self._read_up_to = 0
        self._lock = threading.Lock()

    def of(self, product_id: UUID) -> list[UUID]:
        """Every feature proposed for the product, in the order they were proposed."""
        with self._lock:
            self._catch_up()
            return list(self._features.get(product_id, ()))

    def _catch_up(self) -> None:
        topic = get_topic(Feature.Created)
        while True:
            page = self._recorder.select_notifications(self._read_up_to, PAGE_SIZE,
                                                     topics=[topic], inclusive_of_start=False)
            for notification in page:
                created = self._mapper.to_domain_event(notification)
                product = getattr(created, "product_id", None)
                if isinstance(product, UUID):
                    self._features.setdefault(product, []).append(created.originator_id)
            if page:
                self._read_up_to = page[-1].id
            if len(page) < PAGE_SIZE:
                return


def _as_of(history: History, feature_id: UUID,
           instant: datetime) -> tuple[Feature, Any] | None:
    """The feature as it stood at ``instant``, and the event that last set its priority."""
    feature, last = None, None
    events: Iterable[Any] = history.get(feature_id)
    for event in events:
        if event.timestamp > instant:
            break
        feature = event.mutate(feature)
        if isinstance(event, Feature.Created | Feature.PriorityChanged | Feature.PriorityScored):
            last = event
    return (feature, last) if isinstance(feature, Feature) else None


def _ranked(rank: int, feature: Feature, last: Any) -> RankedFeature:
    """Explain where the priority came from; recompute a score from its recorded formula."""
    when = f"on {last.timestamp.date().isoformat()} by {last.actor}"
    formula, inputs, reproduced = None, None, True
    if isinstance(last, Feature.PriorityScored):
        recomputed = scoring.score(last.formula, last.inputs)
        formula, inputs = last.formula, dict(last.inputs)
        reproduced = recomputed.value == last.priority
        explanation = f"Scored {recomputed.explain()} {when}: {last.rationale}"
    elif isinstance(last, Feature.PriorityChanged):
        explanation = f"Set by hand to {last.priority:g} {when}: {last.rationale}"
    else:
        explanation = f"Proposed with priority {feature.priority:g} {when}."
    return RankedFeature(rank, feature.id, feature.title, feature.status, feature.priority,
                         formula, inputs, reproduced, explanation)
