"""Features: every route under ``/features/{id}`` (they are proposed under their product,
``POST /products/{id}/features``).

Read, schedule and move, lifecycle, priority (set, or scored with RICE or WSJF), details,
requirements; the feature's history and the decisions that shaped it.

``GET /features/{id}`` loads the feature from the log, so it is current at once after a
write; its ``?as_of=`` (an ISO instant with a timezone) loads the version it had then. The
history is served from the views, which catch up with the log just after a write commits:
pass ``?after=POSITION`` (the position a write returned) to wait until it includes that
write, and ``?as_of=`` to see only the changes up to then.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, version_at
from services.http.decision_schemas import EntityLineageOut, ScoreIn
from services.http.deps import Editor, ExpectedVersion, Reads, RuntimeDep, Viewer
from services.http.entity_reads import entity_history, entity_lineage
from services.http.paging import Page
from services.http.responses import log_position, reason, tagged, written
from services.http.schemas import (
    Change,
    DetailsIn,
    FeatureOut,
    OutcomeOut,
    PriorityIn,
    RequirementChangeIn,
    RequirementOut,
    ScheduleIn,
    StatusIn,
)

router = APIRouter(prefix="/features", tags=["features"])

RequirementId = Annotated[str, Path(pattern=r"^R[0-9]{1,9}$", description="e.g. R1")]


@router.get("/{feature_id}", response_model=FeatureOut)
def get_feature(feature_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf) -> FeatureOut:
    log_position(response, runtime)
    feature = runtime.app.get_feature(
        feature_id, version_at(runtime, "feature", feature_id, as_of))
    tagged(response, feature.version)
    requirements = [RequirementOut(id=rid, **body) for rid, body in feature.requirements.items()]
    return FeatureOut.model_validate(
        {**vars(feature), "id": feature.id, "version": feature.version,
         "requirements": requirements})


@router.post("/{feature_id}/schedule", response_model=OutcomeOut)
def schedule_feature(feature_id: UUID, body: ScheduleIn, who: Editor, runtime: RuntimeDep,
                     expected: ExpectedVersion) -> JSONResponse:
    """Schedule the feature into a release of its product, or move it there."""
    outcome = runtime.app.schedule_feature(feature_id, body.release_id, reason(who, body),
                                           expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/unschedule", response_model=OutcomeOut)
def unschedule_feature(feature_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    """Take the feature out of its release, back to the backlog."""
    outcome = runtime.app.unschedule_feature(feature_id, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/status", response_model=OutcomeOut)
def change_status(feature_id: UUID, body: StatusIn, who: Editor, runtime: RuntimeDep,
                  expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.change_feature_status(feature_id, body.status, reason(who, body),
                                                expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/priority", response_model=OutcomeOut)
def change_priority(feature_id: UUID, body: PriorityIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.change_priority(feature_id, body.priority, reason(who, body),
                                          expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/score", response_model=OutcomeOut)
def score_priority(feature_id: UUID, body: ScoreIn, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Set the priority from a RICE or WSJF score; the event keeps the inputs and the
    formula version, so the score can be recomputed exactly later."""
    outcome = runtime.app.score_priority(feature_id, body.method, body.inputs,
                                         reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/details", response_model=OutcomeOut)
def revise_details(feature_id: UUID, body: DetailsIn, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Revise the title, problem, business value and/or benefit (omitted fields stay)."""
    details = body.model_dump(include={"title", "problem", "business_value", "benefit"})
    outcome = runtime.app.revise_feature(feature_id, reason(who, body), expected, **details)
    return written(runtime, outcome)


@router.post("/{feature_id}/requirements", response_model=OutcomeOut)
def add_requirement(feature_id: UUID, body: RequirementChangeIn, who: Editor,
                    runtime: RuntimeDep, expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.add_requirement(feature_id, body.text, body.acceptance_criteria,
                                          reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/requirements/{requirement_id}/revise",
             response_model=OutcomeOut)
def revise_requirement(feature_id: UUID, requirement_id: RequirementId,
                       body: RequirementChangeIn, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_requirement(feature_id, requirement_id, body.text,
                                             body.acceptance_criteria, reason(who, body),
                                             expected)
    return written(runtime, outcome)


@router.post("/{feature_id}/requirements/{requirement_id}/remove",
             response_model=OutcomeOut)
def remove_requirement(feature_id: UUID, requirement_id: RequirementId, body: Change,
                       who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.remove_requirement(feature_id, requirement_id, reason(who, body),
                                             expected)
    return written(runtime, outcome)


@router.get("/{feature_id}/history", response_model=dict[str, Any])
async def feature_history(feature_id: UUID, reads: Reads, page: Page,
                         as_of: AsOf) -> Response:
    """Every change to the feature (or a page, see :mod:`services.http.paging`): who, when,
    what changed, why."""
    return await entity_history("feature", feature_id, reads, as_of, page)


@router.get("/{feature_id}/lineage", response_model=EntityLineageOut)
def feature_lineage(feature_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """The chain of decisions that shaped the feature, each with the changes it caused."""
    runtime.app.get_feature(feature_id)  # 404 unless it is a feature
    return entity_lineage(runtime, feature_id)
