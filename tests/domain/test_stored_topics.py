"""Stored events name their class by topic (``module:Class.Event``): every topic the log may
hold must keep resolving, or old logs stop loading. Moving or renaming an event class
therefore needs ``eventsourcing.utils.register_topic(old_topic, new_class)`` (and the old
topic stays in this list); a new event class is added here on purpose."""

import pytest
from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

from domain.decision import Decision
from domain.feature import Feature
from domain.product import Product
from domain.release import Release

AGGREGATES = (Product, Feature, Release, Decision)

STORED_TOPICS = [
    "domain.product:Product.Created",
    "domain.product:Product.Retired",
    "domain.product:Product.StrategyRevised",
    "domain.product:Product.VisionRevised",
    "domain.feature:Feature.Created",
    "domain.feature:Feature.DetailsRevised",
    "domain.feature:Feature.PriorityChanged",
    "domain.feature:Feature.PriorityScored",
    "domain.feature:Feature.RequirementAdded",
    "domain.feature:Feature.RequirementRemoved",
    "domain.feature:Feature.RequirementRevised",
    "domain.feature:Feature.Scheduled",
    "domain.feature:Feature.StatusChanged",
    "domain.feature:Feature.Unscheduled",
    "domain.release:Release.Cancelled",
    "domain.release:Release.Created",
    "domain.release:Release.FeatureAdded",
    "domain.release:Release.FeatureRemoved",
    "domain.release:Release.Shipped",
    "domain.release:Release.TargetDateChanged",
    "domain.decision:Decision.Accepted",
    "domain.decision:Decision.Created",
    "domain.decision:Decision.Rejected",
    "domain.decision:Decision.Reversed",
    "domain.decision:Decision.Superseded",
]


def concrete_event_classes() -> list[type[DomainEvent]]:
    """Every event class an aggregate records (not the shared bases ``Event``/``Changed``)."""
    found = []
    for aggregate in AGGREGATES:
        for name, value in vars(aggregate).items():
            if isinstance(value, type) and issubclass(value, DomainEvent) and \
                    name not in ("Event", "Changed"):
                found.append(value)
    return found


@pytest.mark.parametrize("topic", STORED_TOPICS)
def test_every_topic_a_log_may_hold_still_resolves_to_an_event_class(topic: str) -> None:
    resolved = resolve_topic(topic)

    assert isinstance(resolved, type) and issubclass(resolved, DomainEvent)


def test_every_event_class_is_listed_so_its_topic_is_kept() -> None:
    topics = sorted(get_topic(cls) for cls in concrete_event_classes())

    assert topics == sorted(STORED_TOPICS)
