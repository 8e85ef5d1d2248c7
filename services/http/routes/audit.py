"""The audit trail: ``/audit``, every change across products, filtered and paged.

Served from the views, which catch up with the log just after a write commits: pass
``?after=POSITION`` (the position a write returned) to wait until they include that write.
``from`` / ``to`` (ISO instants with a timezone) bound when the changes were made.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from services.http.as_of import Instant
from services.http.deps import MAX_POSITION, CaughtUp, RuntimeDep, Viewer

router = APIRouter(tags=["audit"])


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
