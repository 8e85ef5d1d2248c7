"""The roadmap through time: diffs between two instants, slip ledgers, release notes.

Served from the views; each accepts ``?after=POSITION`` to read your own writes.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from projections.diff import render_markdown, roadmap_diff
from services.http.as_of import AsOf, not_found_then
from services.http.deps import CaughtUp, RuntimeDep, Viewer
from services.http.routes.views import Instant, not_found

router = APIRouter(tags=["through time"], dependencies=[CaughtUp])

MARKDOWN = "text/markdown; charset=utf-8"


class MarkdownResponse(PlainTextResponse):
    media_type = MARKDOWN


@router.get("/products/{product_id}/diff", response_model=None, responses={
    200: {"content": {"application/json": {}, MARKDOWN: {}},
          "description": "The diff as JSON, or as Markdown with format=markdown."}})
def diff(product_id: UUID, who: Viewer, runtime: RuntimeDep,
         since: Annotated[Instant, Query(alias="from", description="Exclusive start.")],
         until: Annotated[Instant | None, Query(
             alias="to", description="Inclusive end; default now.")] = None,
         format: Literal["json", "markdown"] = "json") -> dict[str, Any] | MarkdownResponse:
    """What changed on the roadmap after ``from`` up to ``to``: the net effect (features
    added, removed, moved; releases added, shipped, cancelled, slipped or pulled in;
    status, priority and requirement changes) and every step, each with who, when and why."""
    found = roadmap_diff(runtime.views, product_id, since, until)
    if found is None:
        raise not_found_then("product", product_id, until)
    return MarkdownResponse(render_markdown(found)) if format == "markdown" else found


@router.get("/releases/{release_id}/slips")
def release_slips(release_id: UUID, who: Viewer, runtime: RuntimeDep,
                  as_of: AsOf = None) -> dict[str, Any]:
    """Every target-date change of the release (old → new, days, who, why) and totals."""
    ledger = runtime.views.slip_ledger(release_id, as_of)
    if ledger is None:
        raise not_found_then("release", release_id, as_of)
    return ledger


@router.get("/products/{product_id}/slips")
def product_slips(product_id: UUID, who: Viewer, runtime: RuntimeDep, as_of: AsOf = None,
                  limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """The releases that slipped most, and how many times each feature was rescheduled."""
    found = runtime.views.product_slips(product_id, as_of, limit)
    if found is None:
        raise not_found_then("product", product_id, as_of)
    return found


@router.get("/releases/{release_id}/notes", response_class=MarkdownResponse)
def release_notes(release_id: UUID, who: Viewer, runtime: RuntimeDep) -> MarkdownResponse:
    """Customer-facing notes of a shipped release, from the benefit statements of the
    features that shipped in it (409 while it has not shipped)."""
    notes = runtime.views.release_notes(release_id)
    if notes is None:
        raise not_found("release", release_id)
    return MarkdownResponse(notes)
