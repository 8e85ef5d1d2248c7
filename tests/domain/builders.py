"""New aggregates and past histories to start domain tests from."""

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain.feature import (
    ACCEPTED,
    DEFERRED,
    DONE,
    IN_PROGRESS,
    PROPOSED,
    REJECTED,
    SHIPPED,
    Feature,
)
from domain.product import Product
from domain.release import Release
from tests.domain.gwt import ACTOR, Event, because, recorded

PRODUCT_ID = UUID("00000000-0000-4000-8000-000000000001")

MARCH_1 = date(2027, 3, 1)

PRODUCT: dict[str, Any] = {
    "name": "Ledger",
    "vision": "Every team knows why it builds what it builds.",
    "value_proposition": "Decisions you can find again.",
    "target_customers": "Product teams of 5 to 50",
    "owner": "Alex",
    "actor": ACTOR,
}

FEATURE: dict[str, Any] = {
    "product_id": PRODUCT_ID,
    "title": "Export to CSV",
    "problem": "Analysts retype the roadmap into spreadsheets.",
    "business_value": "Fewer churned analyst seats.",
    "benefit": "Take your roadmap anywhere in one click.",
    "actor": ACTOR,
}

#: The status changes that take a proposed feature to each status.
PATH_TO: dict[str, list[str]] = {
    PROPOSED: [],
    ACCEPTED: [ACCEPTED],
    IN_PROGRESS: [ACCEPTED, IN_PROGRESS],
    DONE: [ACCEPTED, IN_PROGRESS, DONE],
    SHIPPED: [ACCEPTED, IN_PROGRESS, DONE, SHIPPED],
    REJECTED: [REJECTED],
    DEFERRED: [DEFERRED],
}


def a_product(**overrides: Any) -> Product:
    return Product.create(**{**PRODUCT, **overrides})


def a_feature(**overrides: Any) -> Feature:
    return Feature.propose(**{**FEATURE, **overrides})


def a_release(**overrides: Any) -> Release:
    details = {"product_id": PRODUCT_ID, "name": "2.0", "target_date": MARCH_1, "actor": ACTOR}
    return Release.plan(**{**details, **overrides})


def move_to(status: str) -> Any:
    """A command taking the feature to ``status`` (shipping goes through ``ship``)."""
    if status == SHIPPED:
        return lambda f: f.ship(because("Its release shipped."))
    return lambda f: f.change_status(status, because())


def schedule_in(release_id: UUID) -> Any:
    return lambda f: f.schedule(release_id, because())


def feature_history(status: str = PROPOSED, *then: Any, **details: Any) -> list[Event]:
    """A feature proposed, moved along the lifecycle to ``status``, then ``then`` commands."""
    return recorded(a_feature(**details), *map(move_to, PATH_TO[status]), *then)


def a_release_id() -> UUID:
    return uuid4()
