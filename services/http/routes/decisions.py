"""Decisions: every route under ``/decisions/{id}`` (they are proposed and listed under
their product, ``/products/{id}/decisions``).

Read, accept with roadmap changes (all or nothing), reject, reverse; follow the lineage of
what a decision changed. All of them load the decision from the log, so they are current
at once after a write. ``?as_of=`` (an ISO instant with a timezone) on ``GET`` loads the
version the decision had then: its status before it was accepted, rejected or reversed.
"""

from dataclasses import asdict
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, version_at
from services.http.decision_schemas import AcceptIn, DecisionLineageOut, DecisionOut, ReverseIn
from services.http.deps import Editor, ExpectedVersion, RuntimeDep, Viewer
from services.http.responses import log_position, reason, tagged, written
from services.http.schemas import Change, OutcomeOut

router = APIRouter(prefix="/decisions", tags=["decisions"])


@router.get("/{decision_id}", response_model=DecisionOut)
def get_decision(decision_id: UUID, who: Viewer, runtime: RuntimeDep, response: Response,
                 as_of: AsOf) -> DecisionOut:
    log_position(response, runtime)
    decision = runtime.app.get_decision(
        decision_id, version_at(runtime, "decision", decision_id, as_of))
    tagged(response, decision.version)
    return DecisionOut.model_validate(decision, from_attributes=True)


@router.post("/{decision_id}/accept", response_model=OutcomeOut)
def accept_decision(decision_id: UUID, body: AcceptIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    """Accept the proposal and apply its roadmap changes in one transaction: all or
    nothing. Every resulting event carries the decision's id."""
    outcome = runtime.app.accept_decision(decision_id, body.requests(), who.name, expected)
    return written(runtime, outcome)


@router.post("/{decision_id}/reject", response_model=OutcomeOut)
def reject_decision(decision_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.reject_decision(decision_id, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{decision_id}/reverse", status_code=201, response_model=OutcomeOut)
def reverse_decision(decision_id: UUID, body: ReverseIn, who: Editor,
                     runtime: RuntimeDep) -> JSONResponse:
    """Reverse an accepted decision: a new, accepted decision whose changes put back what
    the original replaced. Refused, with what is in the way, when that is not exact."""
    outcome = runtime.app.reverse_decision(decision_id, reason(who, body),
                                           deciders=body.deciders, consulted=body.consulted)
    return written(runtime, outcome, f"/decisions/{outcome.id}")


@router.get("/{decision_id}/lineage", response_model=DecisionLineageOut)
def decision_lineage(decision_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """What the decision changed, and which later decisions changed the same entities."""
    return asdict(runtime.app.decision_lineage(decision_id))
