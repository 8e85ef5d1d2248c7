"""Decisions: propose, accept with roadmap changes (all or nothing), reject, reverse; read
them, list them, follow their lineage; score a feature's priority and rank the features."""

from dataclasses import asdict
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, not_found_then, version_at
from services.http.decision_schemas import (
    AcceptIn,
    DecisionIn,
    DecisionLineageOut,
    DecisionListOut,
    DecisionOut,
    EntityLineageOut,
    RankingOut,
    ReverseIn,
    ScoreIn,
)
from services.http.deps import CaughtUp, Editor, ExpectedVersion, RuntimeDep, Viewer
from services.http.responses import reason, tagged, written
from services.http.schemas import Change, OutcomeOut

router = APIRouter(tags=["decisions"])


@router.post("/products/{product_id}/decisions", status_code=201, response_model=OutcomeOut)
def propose_decision(product_id: UUID, body: DecisionIn, who: Editor,
                     runtime: RuntimeDep) -> JSONResponse:
    """Propose a decision: context, options with pros and cons, the choice and why."""
    outcome = runtime.app.propose_decision(product_id, actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/decisions/{outcome.id}")


@router.get("/products/{product_id}/decisions", response_model=DecisionListOut,
            dependencies=[CaughtUp])
def list_decisions(product_id: UUID, who: Viewer, runtime: RuntimeDep,
                   as_of: AsOf = None) -> dict[str, Any]:
    """The product's decisions and their status (as of ``as_of``), oldest first."""
    items = runtime.views.decisions(product_id, as_of)
    if items is None:
        raise not_found_then("product", product_id, as_of)
    return {"product_id": product_id, "as_of": as_of, "items": items}


@router.get("/decisions/{decision_id}", response_model=DecisionOut)
def get_decision(decision_id: UUID, who: Viewer, runtime: RuntimeDep, response: Response,
                 as_of: AsOf = None) -> DecisionOut:
    decision = runtime.app.get_decision(
        decision_id, version_at(runtime, "decision", decision_id, as_of))
    tagged(response, decision.version)
    return DecisionOut.model_validate(decision, from_attributes=True)


@router.post("/decisions/{decision_id}/accept", response_model=OutcomeOut)
def accept_decision(decision_id: UUID, body: AcceptIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    """Accept the proposal and apply its roadmap changes in one transaction: all or
    nothing. Every resulting event carries the decision's id."""
    outcome = runtime.app.accept_decision(decision_id, body.requests(), who.name, expected)
    return written(runtime, outcome)


@router.post("/decisions/{decision_id}/reject", response_model=OutcomeOut)
def reject_decision(decision_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.reject_decision(decision_id, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/decisions/{decision_id}/reverse", status_code=201, response_model=OutcomeOut)
def reverse_decision(decision_id: UUID, body: ReverseIn, who: Editor,
                     runtime: RuntimeDep) -> JSONResponse:
    """Reverse an accepted decision: a new, accepted decision whose changes put back what
    the original replaced. Refused, with what is in the way, when that is not exact."""
    outcome = runtime.app.reverse_decision(decision_id, reason(who, body),
                                           deciders=body.deciders, consulted=body.consulted)
    return written(runtime, outcome, f"/decisions/{outcome.id}")


# Lineage


@router.get("/decisions/{decision_id}/lineage", response_model=DecisionLineageOut)
def decision_lineage(decision_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """What the decision changed, and which later decisions changed the same entities."""
    return asdict(runtime.app.decision_lineage(decision_id))


def entity_lineage(runtime: RuntimeDep, entity_id: UUID) -> dict[str, Any]:
    steps = runtime.app.entity_lineage(entity_id)
    return {"entity_id": entity_id, "decisions": [asdict(step) for step in steps]}


@router.get("/features/{feature_id}/lineage", response_model=EntityLineageOut)
def feature_lineage(feature_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """The chain of decisions that shaped the feature, each with the changes it caused."""
    runtime.app.get_feature(feature_id)  # 404 unless it is a feature
    return entity_lineage(runtime, feature_id)


@router.get("/releases/{release_id}/lineage", response_model=EntityLineageOut)
def release_lineage(release_id: UUID, who: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    """The chain of decisions that shaped the release, each with the changes it caused."""
    runtime.app.get_release(release_id)  # 404 unless it is a release
    return entity_lineage(runtime, release_id)


# Prioritisation


@router.post("/features/{feature_id}/score", response_model=OutcomeOut, tags=["features"])
def score_priority(feature_id: UUID, body: ScoreIn, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    """Set the priority from a RICE or WSJF score; the event keeps the inputs and the
    formula version, so the score can be recomputed exactly later."""
    outcome = runtime.app.score_priority(feature_id, body.method, body.inputs,
                                         reason(who, body), expected)
    return written(runtime, outcome)


@router.get("/products/{product_id}/ranking", response_model=RankingOut)
def ranking(product_id: UUID, who: Viewer, runtime: RuntimeDep,
            as_of: AsOf = None) -> dict[str, Any]:
    """The open features by priority as of ``as_of`` (default now), each priority
    explained and, when scored, recomputed from its recorded inputs and formula."""
    items = runtime.app.rank_features(product_id, as_of)
    return {"product_id": product_id, "as_of": as_of, "items": [asdict(i) for i in items]}
