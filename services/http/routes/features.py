"""Features: propose, read, schedule and move, lifecycle, priority, details, requirements."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, version_at
from services.http.deps import Editor, ExpectedVersion, RuntimeDep, Viewer
from services.http.responses import reason, tagged, written
from services.http.schemas import (
    Change,
    DetailsIn,
    FeatureIn,
    FeatureOut,
    OutcomeOut,
    PriorityIn,
    RequirementChangeIn,
    RequirementOut,
    ScheduleIn,
    StatusIn,
)

router = APIRouter(tags=["features"])

RequirementId = Annotated[str, Path(pattern=r"^R[0-9]{1,9}$", description="e.g. R1")]


@router.post("/products/{product_id}/features", status_code=201, response_model=OutcomeOut)
def propose_feature(product_id: UUID, body: FeatureIn, who: Editor,
                    runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.propose_feature(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/features/{outcome.id}")


@router.get("/features/{feature_id}", response_model=FeatureOut)
def get_feature(feature_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf = None) -> FeatureOut:
    feature = runtime.app.get_feature(
        feature_id, version_at(runtime, "feature", feature_id, as_of))
    tagged(response, feature.version)
    requirements = [RequirementOut(id=rid, **body) for rid, body in feature.requirements.items()]
    return FeatureOut.model_validate(
        {**vars(feature), "id": feature.id, "version": feature.version,
         "requirements": requirements})


@router.post("/features/{feature_id}/schedule", response_model=OutcomeOut)
def schedule_feature(feature_id: UUID, body: ScheduleIn, who: Editor, runtime: RuntimeDep,
                     expected: ExpectedVersion) -> JSONResponse:
    """Schedule the feature into a release of its product, or move it there."""
    outcome = runtime.app.schedule_feature(feature_id, body.release_id, reason(who, body),
                                           expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/unschedule", response_model=OutcomeOut)
def unschedule_feature(feature_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    """Take the feature out of its release, back to the backlog."""
    outcome = runtime.app.unschedule_feature(feature_id, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/status", response_model=OutcomeOut)
def change_status(feature_id: UUID, body: StatusIn, who: Editor, runtime: RuntimeDep,
                  expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.change_feature_status(feature_id, body.status, reason(who, body),
                                                expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/priority", response_model=OutcomeOut)
def change_priority(feature_id: UUID, body: PriorityIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.change_priority(feature_id, body.priority, reason(who, body),
                                          expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/details", response_model=OutcomeOut)
def revise_details(feature_id: UUID, body: DetailsIn, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Revise the title, problem, business value and/or benefit (omitted fields stay)."""
    details = body.model_dump(include={"title", "problem", "business_value", "benefit"})
    outcome = runtime.app.revise_feature(feature_id, reason(who, body), expected, **details)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/requirements", response_model=OutcomeOut)
def add_requirement(feature_id: UUID, body: RequirementChangeIn, who: Editor,
                    runtime: RuntimeDep, expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.add_requirement(feature_id, body.text, body.acceptance_criteria,
                                          reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/requirements/{requirement_id}/revise",
             response_model=OutcomeOut)
def revise_requirement(feature_id: UUID, requirement_id: RequirementId,
                       body: RequirementChangeIn, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_requirement(feature_id, requirement_id, body.text,
                                             body.acceptance_criteria, reason(who, body),
                                             expected)
    return written(runtime, outcome)


@router.post("/features/{feature_id}/requirements/{requirement_id}/remove",
             response_model=OutcomeOut)
def remove_requirement(feature_id: UUID, requirement_id: RequirementId, body: Change,
                       who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.remove_requirement(feature_id, requirement_id, reason(who, body),
                                             expected)
    return written(runtime, outcome)
