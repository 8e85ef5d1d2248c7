"""Releases: every route under ``/releases/{id}`` (they are planned under their product,
``POST /products/{id}/releases``).

Read, change the target date, ship, cancel; the release's history, the decisions that
shaped it, its slips and, once shipped, its release notes.

``GET /releases/{id}`` and the lineage load the release from the log, so they are current
at once after a write. The history, slips and notes are served from the views, which catch
up with the log just after a write commits: pass ``?after=POSITION`` (the position a write
returned) to wait until they include that write. ``?as_of=`` (an ISO instant with a
timezone) answers as things stood then; on ``GET /releases/{id}`` it loads the version the
release had then.
"""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from projections.release_notes import ReleaseNotShipped
from services.http.as_of import AsOf, not_found, not_found_then, version_at
from services.http.decision_schemas import EntityLineageOut
from services.http.deps import (
    Editor,
    ExpectedVersion,
    Reads,
    RuntimeDep,
    Viewer,
    ViewsAt,
    ViewsPosition,
)
from services.http.entity_reads import entity_history, entity_lineage
from services.http.paging import Page
from services.http.problems import Problem
from services.http.read_cache import VIEWS_POSITION
from services.http.responses import MarkdownResponse, log_position, reason, tagged, written
from services.http.schemas import Change, OutcomeOut, ReleaseOut, ShipIn, TargetDateIn

router = APIRouter(prefix="/releases", tags=["releases"])


@router.get("/{release_id}", response_model=ReleaseOut)
def get_release(release_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf) -> ReleaseOut:
    log_position(response, runtime)
    release = runtime.app.get_release(
        release_id, version_at(runtime, "release", release_id, as_of))
    tagged(response, release.version)
    return ReleaseOut.model_validate(release, from_attributes=True)


@router.post("/{release_id}/target-date", response_model=OutcomeOut)
def change_target_date(release_id: UUID, body: TargetDateIn, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    """Slip (later) or pull in (earlier) the target date."""
    outcome = runtime.app.change_target_date(release_id, body.target_date, reason(who, body),
                                             expected)
    return written(runtime, outcome)


@router.post("/{release_id}/ship", response_model=OutcomeOut)
def ship_release(release_id: UUID, body: ShipIn, who: Editor, runtime: RuntimeDep,
                 expected: ExpectedVersion) -> JSONResponse:
    """Ship: done features ship with it, unfinished ones go back to the backlog."""
    outcome = runtime.app.ship_release(release_id, body.shipped_on, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{release_id}/cancel", response_model=OutcomeOut)
def cancel_release(release_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Cancel: the scope goes back to the backlog."""
    outcome = runtime.app.cancel_release(release_id, reason(who, body), expected)
    return written(runtime, outcome)


@router.get("/{release_id}/history", response_model=dict[str, Any])
async def release_history(release_id: UUID, reads: Reads, page: Page,
                         as_of: AsOf) -> Response:
    """Every change to the release (or a page, see :mod:`services.http.paging`): dates
    slipped or pulled in, scope, shipping."""
    return await entity_history("release", release_id, reads, as_of, page)


@router.get("/{release_id}/lineage", response_model=EntityLineageOut)
def release_lineage(release_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """The chain of decisions that shaped the release, each with the changes it caused."""
    runtime.app.get_release(release_id)  # 404 unless it is a release
    return entity_lineage(runtime, release_id)


@router.get("/{release_id}/slips", dependencies=[ViewsAt])
def release_slips(release_id: UUID, who: Viewer, runtime: RuntimeDep,
                  as_of: AsOf) -> dict[str, Any]:
    """Every target-date change of the release (old → new, days, who, why) and totals."""
    ledger = runtime.views.slip_ledger(release_id, as_of)
    if ledger is None:
        raise not_found_then("release", release_id, as_of)
    return ledger


@router.get("/{release_id}/notes", response_class=MarkdownResponse)
def release_notes(release_id: UUID, who: Viewer, runtime: RuntimeDep,
                  position: ViewsPosition) -> MarkdownResponse:
    """Customer-facing notes of a shipped release, from the benefit statements of the
    features that shipped in it (409 while it has not shipped)."""
    try:
        notes = runtime.views.release_notes(release_id)
    except ReleaseNotShipped as exc:  # a read answers what it cannot, not a change rule
        raise Problem(409, "not-shipped", "Not shipped yet", str(exc)) from None
    if notes is None:
        raise not_found("release", release_id)
    return MarkdownResponse(notes, headers={VIEWS_POSITION: str(position)})
