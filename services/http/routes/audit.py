"""The audit trail: ``/audit``, every change across products, filtered and paged.

Served from the views, which catch up with the log just after a write commits: pass
``?after=POSITION`` (the position a write returned) to wait until they include that write.
``from`` / ``to`` (ISO instants with a timezone) bound when the changes were made;
``type`` may be repeated (a change of any of those types matches); ``evidence=present``
(or ``absent``) keeps the changes that cite evidence (or cite none); ``decision=ID`` keeps
that decision's own changes and the changes it made; ``correlation=ID`` the changes of one
command (its ``X-Request-ID``), cascades included. An unknown ``type``, or
a query parameter the route does not take, is ``422`` listing the valid ones, rather than
an answer that silently matches nothing or everything.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from contract.changes import CHANGE_TYPES
from services.http.as_of import Instant
from services.http.deps import MAX_POSITION, RuntimeDep, Viewer, ViewsAt
from services.http.problems import Problem
from services.http.query_params import KnownQuery

router = APIRouter(tags=["audit"])

#: Every change type, as ``type`` names them.
TYPES = sorted(change_type for _, change_type in CHANGE_TYPES.values())


@router.get("/audit", dependencies=[KnownQuery, ViewsAt])
def audit(
    who: Viewer,
    runtime: RuntimeDep,
    product: UUID | None = None,
    entity: UUID | None = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    change_type: Annotated[list[str] | None, Query(
        alias="type", max_length=len(TYPES),
        description="e.g. feature.scheduled; repeat it for several types")] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_POSITION,
                                        description="next_cursor of the previous page")] = None,
    evidence: Annotated[Literal["present", "absent"] | None, Query(
        description="present: changes citing evidence; absent: changes citing none")] = None,
    decision: Annotated[UUID | None, Query(
        description="A decision: its own changes and the changes it made")] = None,
    correlation: Annotated[str | None, Query(
        max_length=128, description="The correlation_id of one command (its request's "
        "X-Request-ID): its changes, cascades included")] = None,
) -> dict[str, Any]:
    """Every change matching the filters, in log order; page with ``cursor``."""
    unknown = sorted(set(change_type or ()) - set(TYPES))
    if unknown:
        raise Problem(422, "unknown-type", "Unknown change type",
                      f"No change type {', '.join(map(repr, unknown))}; the types are: "
                      f"{', '.join(TYPES)}.", unknown=unknown, allowed=TYPES)
    return runtime.views.audit(product_id=product, entity_id=entity, actor=actor,
                               change_type=change_type, since=since, until=until,
                               limit=limit, cursor=cursor,
                               evidence=None if evidence is None else evidence == "present",
                               decision_id=decision, correlation=correlation)
