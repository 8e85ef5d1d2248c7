"""Reads served from the views: product list, roadmap, histories, audit.

Each accepts ``?after=POSITION`` (a position returned by a write) to read your own
writes, and ``?as_of=`` (an ISO instant with a timezone) to read the past. The hot reads
answer with JSON serialized once per views position (:mod:`services.http.read_cache`);
``response_model`` only documents their shape.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator, AwareDatetime

from domain import clock
from services.http.deps import MAX_POSITION, CaughtUp, Reads, RuntimeDep, Viewer, ViewReads
from services.http.problems import Problem

router = APIRouter(tags=["views"])


def in_utc_range(value: datetime) -> datetime:
    """Refuse instants that exist in their own timezone but not in UTC (year 0 or 10000)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is out of range once converted to UTC") from None


def in_the_past(value: datetime) -> datetime:
    """Refuse an instant after now: the log can only say how things stood in the past."""
    now = clock.now()
    if value > now:
        raise ValueError(
            f"as_of is in the future ({value.isoformat()} is after now, "
            f"{now.astimezone(UTC).isoformat(timespec='seconds')}); the log can only answer "
            "for the past: leave as_of out to read the present")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(in_utc_range)]
PastInstant = Annotated[Instant, AfterValidator(in_the_past)]
AsOf = Annotated[PastInstant | None, Query(
    description="Answer as things stood at this past instant (ISO 8601 with a timezone).")]


def not_found(kind: str, entity_id: UUID) -> Problem:
    return Problem(404, "not-found", "Not found",
                   f"No {kind} with id {entity_id} in the views. If you just created it, "
                   "pass ?after=POSITION with the position the write returned.")


@router.get("/products", response_model=dict[str, Any])
async def list_products(reads: Reads, as_of: AsOf = None) -> Response:
    return await reads.answer(lambda: {"items": reads.views.list_products(as_of=as_of)})


@router.get("/products/{product_id}/roadmap", response_model=dict[str, Any])
async def roadmap(product_id: UUID, reads: Reads, as_of: AsOf = None) -> Response:
    """Releases in target-date order with their features, the backlog, now / next / later."""

    def read() -> dict[str, Any]:
        found = reads.views.roadmap(product_id, as_of=as_of)
        if found is None:
            raise not_found("product", product_id)
        return found

    return await reads.answer(read)


@router.get("/products/{product_id}/history", response_model=dict[str, Any])
async def product_history(product_id: UUID, reads: Reads, as_of: AsOf = None) -> Response:
    """Every change to the product and to its features and releases."""

    def read() -> dict[str, Any]:
        items = reads.views.product_history(product_id, as_of=as_of)
        if not items:
            raise not_found("product", product_id)
        return {"product_id": str(product_id), "items": items}

    return await reads.answer(read)


async def entity_history(kind: str, entity_id: UUID, reads: ViewReads,
                         as_of: datetime | None) -> Response:
    def read() -> dict[str, Any]:
        items = reads.views.history(entity_id, as_of=as_of)
        if not items or items[0]["entity_type"] != kind:
            raise not_found(kind, entity_id)
        return {"entity_id": str(entity_id), "items": items}

    return await reads.answer(read)


@router.get("/features/{feature_id}/history", response_model=dict[str, Any])
async def feature_history(feature_id: UUID, reads: Reads, as_of: AsOf = None) -> Response:
    """Every change to the feature: who, when, what changed, why."""
    return await entity_history("feature", feature_id, reads, as_of)


@router.get("/releases/{release_id}/history", response_model=dict[str, Any])
async def release_history(release_id: UUID, reads: Reads, as_of: AsOf = None) -> Response:
    """Every change to the release: dates slipped or pulled in, scope, shipping."""
    return await entity_history("release", release_id, reads, as_of)


@router.get("/audit", dependencies=[CaughtUp])
def audit(
    who: Viewer,
    runtime: RuntimeDep,
    product: UUID | None = None,
    entity: UUID | None = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    change_type: Annotated[str | None, Query(alias="type", max_length=100,
                                             description="e.g. feature.scheduled")] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_POSITION,
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Every change matching the filters, in log order; page with ``cursor``."""
    return runtime.views.audit(product_id=product, entity_id=entity, actor=actor,
                               change_type=change_type, since=since, until=until,
                               limit=limit, cursor=cursor)
