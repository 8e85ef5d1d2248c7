"""Request and response bodies of decisions, scores and the reads through time.

Limits mirror :mod:`domain.decision` so most bad input is refused here with a field
name; the domain still checks the rest (blank text, duplicate names, the chosen option).
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from domain import decision, reasons
from services.commands.change_requests import CHANGE_REQUESTS, ChangeRequest
from services.commands.decisions import MAX_CHANGES
from services.http.schemas import Body, Change, Evidence, IsoDate, Priority, Rationale, text

# Decisions

DecisionTitle = Annotated[str, text(decision.TITLE_MAX)]
DecisionText = Annotated[str, text(decision.TEXT_MAX)]
Name = Annotated[str, text(decision.NAME_MAX)]
Point = Annotated[str, text(decision.POINT_MAX)]
People = Annotated[list[Name], Field(max_length=decision.MAX_PEOPLE)]
Points = Annotated[list[Point], Field(default_factory=list, max_length=decision.MAX_POINTS)]
EvidenceList = Annotated[list[Evidence], Field(default_factory=list,
                                               max_length=reasons.MAX_EVIDENCE_ITEMS)]


class OptionIn(Body):
    """An option considered: what it is, and what speaks for and against it."""

    name: Name
    description: Annotated[str, text(decision.TEXT_MAX, min_length=0)] = ""
    pros: Points
    cons: Points


class DecisionIn(Body):
    """A proposed decision; ``supersedes`` names an accepted decision it will replace."""

    title: DecisionTitle
    context: DecisionText
    options: Annotated[list[OptionIn], Field(min_length=1, max_length=decision.MAX_OPTIONS)]
    chosen_option: Name
    rationale: Rationale
    evidence: EvidenceList
    deciders: Annotated[list[Name], Field(min_length=1, max_length=decision.MAX_PEOPLE)]
    consulted: Annotated[list[Name], Field(default_factory=list,
                                           max_length=decision.MAX_PEOPLE)]
    supersedes: UUID | None = None


class _ChangeIn(Body):
    kind: str

    def request(self) -> ChangeRequest:
        """The application's change request for this body."""
        return CHANGE_REQUESTS[self.kind](**self.model_dump(exclude={"kind"}))


class MoveFeatureIn(_ChangeIn):
    kind: Literal["move_feature"]
    feature_id: UUID
    release_id: UUID


class UnscheduleFeatureIn(_ChangeIn):
    kind: Literal["unschedule_feature"]
    feature_id: UUID


class ChangeTargetDateIn(_ChangeIn):
    kind: Literal["change_target_date"]
    release_id: UUID
    target_date: IsoDate


class ChangeStatusIn(_ChangeIn):
    kind: Literal["change_status"]
    feature_id: UUID
    status: Annotated[str, StringConstraints(min_length=1, max_length=50)]


class ChangePriorityIn(_ChangeIn):
    kind: Literal["change_priority"]
    feature_id: UUID
    priority: Priority


ChangeIn = Annotated[MoveFeatureIn | UnscheduleFeatureIn | ChangeTargetDateIn | ChangeStatusIn
                     | ChangePriorityIn, Field(discriminator="kind")]


class AcceptIn(Body):
    """The roadmap changes to apply with the acceptance, all or nothing. They carry the
    decision's own rationale and evidence."""

    changes: Annotated[list[ChangeIn], Field(default_factory=list, max_length=MAX_CHANGES)]

    def requests(self) -> list[ChangeRequest]:
        return [change.request() for change in self.changes]


class ReverseIn(Change):
    """Why the decision is reversed; deciders default to the caller."""

    deciders: Annotated[list[Name], Field(default_factory=list,
                                          max_length=decision.MAX_PEOPLE)]
    consulted: Annotated[list[Name], Field(default_factory=list,
                                           max_length=decision.MAX_PEOPLE)]


class OptionOut(BaseModel):
    name: str
    description: str
    pros: list[str]
    cons: list[str]


class DecisionOut(BaseModel):
    id: UUID
    version: int
    product_id: UUID
    title: str
    context: str
    options: list[OptionOut]
    chosen_option: str
    rationale: str
    evidence: list[str]
    deciders: list[str]
    consulted: list[str]
    status: str
    proposed_by: str
    accepted_by: str | None
    supersedes: UUID | None
    superseded_by: UUID | None
    reverses: UUID | None
    reversed_by: UUID | None
    changes: list[dict[str, Any]] = Field(
        description="The roadmap changes applied on acceptance, each with the value it "
                    "replaced (old_*) and the names of what it refers to as they were then "
                    "(feature_title, release_name, old_release_name; recorded since "
                    "decisions carry them). A status put back by a reversal carries "
                    "reverts: the id of the decision reversed.")
    proposed_at: datetime
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    superseded_at: datetime | None = None
    reversed_at: datetime | None = None


class DecisionSummaryOut(BaseModel):
    id: UUID
    title: str
    status: str
    chosen_option: str
    proposed_at: str
    version: int


class DecisionListOut(BaseModel):
    product_id: UUID
    as_of: datetime | None
    items: list[DecisionSummaryOut]


# Prioritisation

ScoreInput = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class ScoreIn(Change):
    """Set the priority from a score: ``rice`` / ``wsjf`` (current formula) or a version
    such as ``rice.v1``; ``inputs`` are the formula's inputs by name."""

    method: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    inputs: Annotated[dict[Annotated[str, StringConstraints(max_length=50)], ScoreInput],
                      Field(max_length=10)]


class RankedFeatureOut(BaseModel):
    rank: int
    feature_id: UUID
    title: str
    status: str
    priority: float
    formula: str | None
    inputs: dict[str, float] | None
    reproduced: bool = Field(description="A scored priority recomputed from its recorded "
                                         "inputs and formula version gives the same value.")
    explanation: str


class RankingOut(BaseModel):
    product_id: UUID
    as_of: datetime | None
    items: list[RankedFeatureOut]


# Lineage


class ChangeOut(BaseModel):
    """One stored event, in the public v1 shape (see :mod:`contract.changes`)."""

    event_id: str
    type: str
    entity_type: str
    entity_id: str
    entity_version: int
    product_id: str
    occurred_at: str
    actor: str
    rationale: str
    evidence: list[str]
    decision_id: str | None
    data: dict[str, Any]


class DecisionTimesOut(BaseModel):
    """When a decision was proposed, and when it was accepted, superseded or reversed."""

    proposed_at: datetime
    accepted_at: datetime | None = None
    superseded_at: datetime | None = None
    reversed_at: datetime | None = None


class DecisionStepOut(DecisionTimesOut):
    decision_id: UUID
    title: str
    status: str
    changes: list[ChangeOut]


class EntityLineageOut(BaseModel):
    entity_id: UUID
    decisions: list[DecisionStepOut] = Field(
        description="The decisions that shaped the entity, in order, with the changes each "
                    "caused.")


class DecisionLineageOut(DecisionTimesOut):
    decision_id: UUID
    title: str
    status: str
    supersedes: UUID | None
    superseded_by: UUID | None
    reverses: UUID | None
    reversed_by: UUID | None
    changed: list[ChangeOut]
    changed_again_by: list[DecisionStepOut] = Field(
        description="Later decisions that changed the same field of an entity this decision "
                    "changed (its release, status, priority or target date, or whether a "
                    "feature is in a release), with those changes.")
