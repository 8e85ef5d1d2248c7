"""Releases: plan, read, change the target date, ship, cancel."""

from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, version_at
from services.http.deps import Editor, ExpectedVersion, RuntimeDep, Viewer
from services.http.responses import reason, tagged, written
from services.http.schemas import Change, OutcomeOut, ReleaseIn, ReleaseOut, ShipIn, TargetDateIn

router = APIRouter(tags=["releases"])


@router.post("/products/{product_id}/releases", status_code=201, response_model=OutcomeOut)
def plan_release(product_id: UUID, body: ReleaseIn, who: Editor,
                 runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.plan_release(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/releases/{outcome.id}")


@router.get("/releases/{release_id}", response_model=ReleaseOut)
def get_release(release_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf = None) -> ReleaseOut:
    release = runtime.app.get_release(
        release_id, version_at(runtime, "release", release_id, as_of))
    tagged(response, release.version)
    return ReleaseOut.model_validate(release, from_attributes=True)


@router.post("/releases/{release_id}/target-date", response_model=OutcomeOut)
def change_target_date(release_id: UUID, body: TargetDateIn, who: Editor, runtime: RuntimeDep,
                       expected: ExpectedVersion) -> JSONResponse:
    """Slip (later) or pull in (earlier) the target date."""
    outcome = runtime.app.change_target_date(release_id, body.target_date, reason(who, body),
                                             expected)
    return written(runtime, outcome)


@router.post("/releases/{release_id}/ship", response_model=OutcomeOut)
def ship_release(release_id: UUID, body: ShipIn, who: Editor, runtime: RuntimeDep,
                 expected: ExpectedVersion) -> JSONResponse:
    """Ship: done features ship with it, unfinished ones go back to the backlog."""
    outcome = runtime.app.ship_release(release_id, body.shipped_on, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/releases/{release_id}/cancel", response_model=OutcomeOut)
def cancel_release(release_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Cancel: the scope goes back to the backlog."""
    outcome = runtime.app.cancel_release(release_id, reason(who, body), expected)
    return written(runtime, outcome)
