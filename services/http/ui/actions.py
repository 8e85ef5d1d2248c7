"""What the pages' forms do: each reads its form into the API's request body, calls one
command of the application (as the JSON routes do) and says where to go next.

A change always carries a rationale (the bodies require one); a change to an existing
entity sends the version the page showed as the command's expected version, so an edit
made from a stale page is refused (``VersionConflict``) rather than silently applied.
"""

from dataclasses import dataclass
from uuid import UUID

from services.http.decision_schemas import AcceptIn, DecisionIn, ReverseIn
from services.http.responses import reason
from services.http.schemas import (
    Change,
    FeatureIn,
    PriorityIn,
    ReleaseIn,
    ScheduleIn,
    StatusIn,
    TargetDateIn,
)
from services.http.ui import forms
from services.http.ui.forms import Form, validated
from services.http.ui.session import Session
from services.store.outcome import Outcome

#: What the page landed on after a form says, by the code the redirect carries.
NOTICES = {
    "proposed": "Feature proposed.", "planned": "Release planned.",
    "scheduled": "Feature scheduled.", "unscheduled": "Feature moved back to the backlog.",
    "status": "Status changed.", "priority": "Priority changed.",
    "date": "Target date changed.", "decision": "Decision proposed.",
    "accepted": "Decision accepted: its changes are applied.",
    "rejected": "Decision rejected.", "reversed": "Decision reversed: this is the reversal.",
    "signed-in": "Signed in.",
}


@dataclass(frozen=True)
class Done:
    """A command's outcome, the page to show next and the notice it shows."""

    outcome: Outcome
    page: str
    notice: str


def feature_page(feature_id: UUID) -> str:
    return f"/ui/features/{feature_id}"


def propose_feature(s: Session, form: Form, product_id: UUID) -> Done:
    body = validated(FeatureIn, forms.feature(form))
    outcome = s.runtime.app.propose_feature(product_id, actor=s.actor, **body.model_dump())
    return Done(outcome, feature_page(outcome.id), "proposed")


def plan_release(s: Session, form: Form, product_id: UUID) -> Done:
    body = validated(ReleaseIn, forms.release(form))
    outcome = s.runtime.app.plan_release(product_id, actor=s.actor, **body.model_dump())
    return Done(outcome, f"/ui/releases/{outcome.id}", "planned")


def schedule(s: Session, form: Form, feature_id: UUID) -> Done:
    body = validated(ScheduleIn, {**forms.change(form), "release_id": form.get("release_id")})
    outcome = s.runtime.app.schedule_feature(feature_id, body.release_id,
                                             reason(s.identity, body), form.version())
    return Done(outcome, feature_page(feature_id), "scheduled")


def unschedule(s: Session, form: Form, feature_id: UUID) -> Done:
    body = validated(Change, forms.change(form))
    outcome = s.runtime.app.unschedule_feature(feature_id, reason(s.identity, body),
                                               form.version())
    return Done(outcome, feature_page(feature_id), "unscheduled")


def change_status(s: Session, form: Form, feature_id: UUID) -> Done:
    body = validated(StatusIn, {**forms.change(form), "status": form.get("status")})
    outcome = s.runtime.app.change_feature_status(feature_id, body.status,
                                                  reason(s.identity, body), form.version())
    return Done(outcome, feature_page(feature_id), "status")


def change_priority(s: Session, form: Form, feature_id: UUID) -> Done:
    body = validated(PriorityIn, {**forms.change(form),
                                  "priority": forms.priority(form.get("priority"))})
    outcome = s.runtime.app.change_priority(feature_id, body.priority,
                                            reason(s.identity, body), form.version())
    return Done(outcome, feature_page(feature_id), "priority")


def change_target_date(s: Session, form: Form, release_id: UUID) -> Done:
    body = validated(TargetDateIn, {**forms.change(form),
                                    "target_date": form.get("target_date")})
    outcome = s.runtime.app.change_target_date(release_id, body.target_date,
                                               reason(s.identity, body), form.version())
    return Done(outcome, f"/ui/releases/{release_id}", "date")


def propose_decision(s: Session, form: Form, product_id: UUID) -> Done:
    body = validated(DecisionIn, forms.decision(form))
    outcome = s.runtime.app.propose_decision(product_id, actor=s.actor, **body.model_dump())
    return Done(outcome, f"/ui/decisions/{outcome.id}", "decision")


def accept_decision(s: Session, form: Form, decision_id: UUID) -> Done:
    body = validated(AcceptIn, forms.changes(form))
    outcome = s.runtime.app.accept_decision(decision_id, body.requests(), s.actor,
                                            form.version())
    return Done(outcome, f"/ui/decisions/{decision_id}", "accepted")


def reject_decision(s: Session, form: Form, decision_id: UUID) -> Done:
    body = validated(Change, forms.change(form))
    outcome = s.runtime.app.reject_decision(decision_id, reason(s.identity, body),
                                            form.version())
    return Done(outcome, f"/ui/decisions/{decision_id}", "rejected")


def reverse_decision(s: Session, form: Form, decision_id: UUID) -> Done:
    body = validated(ReverseIn, forms.change(form))
    outcome = s.runtime.app.reverse_decision(decision_id, reason(s.identity, body))
    return Done(outcome, f"/ui/decisions/{outcome.id}", "reversed")
