"""Reversing a decision: the changes that compensate its own, refused when later
changes are in the way (with who made them, when and why).

A reversal is a correction: it puts back exactly what the decision replaced, whenever
nothing later depends on it. A status goes back by a correction (``Feature.restore_status``),
even against the forward lifecycle (accepted → proposed); a release, a date or a priority
by the opposite change, under the usual rules. It is refused when the entity changed again
since (the later change is named), or when putting the value back breaks a rule because of
a later change (a release that shipped since, a feature scheduled since that would become
rejected): the refusal names that change too.

Works in the reversing decision's unit of work; ``history`` gives an entity's stored events,
to name the later change that is in the way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from domain.decision import Decision
from domain.errors import DomainError, RuleViolation
from domain.feature import Feature
from domain.reasons import Reason
from domain.release import Release
from services.commands.change_requests import (
    MOVE,
    PRIORITY,
    STATUS,
    TARGET_DATE,
    UNSCHEDULE,
    ChangeTargetDate,
    Compensation,
    MoveFeature,
    apply_change,
    describe,
    label,
    undo_of,
)
from services.store.unit_of_work import History, UnitOfWork


def compensations(work: UnitOfWork, history: History, original: Decision,
                  reason: Reason) -> list[dict[str, Any]]:
    """Undo ``original``'s changes, last first; refuse when later changes are in the way."""
    original.ensure_in_force("reversed")
    applied: list[dict[str, Any]] = []
    for change in reversed(original.changes):
        undo = undo_of(change, original.id)
        _ensure_unchanged_since(work, history, original, change)
        try:
            applied += apply_change(work, undo, reason, original.product_id)
        except DomainError as error:
            raise RuleViolation(
                f"Decision '{original.title}' cannot be reversed exactly: "
                f"{describe(work, undo)} is refused: {error}"
                f"{_in_the_way(work, history, original, undo)} Nothing was changed."
            ) from error
    return applied


#: For each kind of change: the attribute it set, its value after the change, and the
#: events that can set that attribute again.
_WATCHED: dict[str, tuple[str, Callable[[dict[str, Any]], Any], tuple[type, ...]]] = {
    MOVE: ("release_id", lambda c: c["release_id"], (Feature.Scheduled, Feature.Unscheduled)),
    UNSCHEDULE: ("release_id", lambda c: None, (Feature.Scheduled, Feature.Unscheduled)),
    TARGET_DATE: ("target_date", lambda c: c["target_date"], (Release.TargetDateChanged,)),
    STATUS: ("status", lambda c: c["status"], (Feature.StatusChanged,)),
    PRIORITY: ("priority", lambda c: c["priority"],
               (Feature.PriorityChanged, Feature.PriorityScored)),
}


def _ensure_unchanged_since(work: UnitOfWork, history: History, original: Decision,
                            change: dict[str, Any]) -> None:
    """Refuse to undo ``change`` when its entity no longer has the value it set."""
    attribute, after, watched = _WATCHED[change["kind"]]
    entity_id = change.get("feature_id") or change["release_id"]
    entity = work.load(Feature if "feature_id" in change else Release, entity_id)
    if getattr(entity, attribute) == after(change):
        return
    since = _since(history, original, entity_id, watched)
    cause = f" on {_who_and_why(work, since[-1])}" if since else ""
    raise RuleViolation(
        f"Decision '{original.title}' cannot be reversed exactly: {label(entity)} changed "
        f"after it: its {_FIELDS[attribute]} is now {_value(work, getattr(entity, attribute))}, "
        f"not {_value(work, after(change))} as this decision left it. That change was made"
        f"{cause}. Reverse or undo that change first."
    )


def _since(history: History, original: Decision, entity_id: UUID,
           kinds: tuple[type, ...]) -> list[Any]:
    """The events of ``kinds`` an entity recorded after ``original``'s last change to it."""
    events = list(history.get(entity_id))
    ours = max((i for i, e in enumerate(events)
                if getattr(e, "decision_id", None) == original.id), default=-1)
    return [e for e in events[ours + 1:] if isinstance(e, kinds)]


#: Later changes that can make putting a value back break a rule: a feature's status or
#: schedule, a release closing.
_BLOCKING: tuple[type, ...] = (Feature.StatusChanged, Feature.Scheduled, Feature.Unscheduled,
                               Release.Shipped, Release.Cancelled)


def _in_the_way(work: UnitOfWork, history: History, original: Decision,
                undo: Compensation) -> str:
    """`` In the way: <the latest later change to the entities undo touches>.``, or ``""``."""
    match undo:
        case MoveFeature(feature_id, release_id):
            entities = [feature_id, release_id]
        case ChangeTargetDate(release_id, _):
            entities = [release_id]
        case _:
            entities = [undo.feature_id]
    later = [e for i in entities for e in _since(history, original, i, _BLOCKING)]
    if not later:
        return ""
    event = max(later, key=lambda e: e.timestamp)
    return f" In the way: {_what(work, event)} on {_who_and_why(work, event)}."


def _what(work: UnitOfWork, event: Any) -> str:
    if isinstance(event, Release.Shipped | Release.Cancelled):
        release = label(work.load(Release, event.originator_id))
        return f"{release} {'shipped' if isinstance(event, Release.Shipped) else 'was cancelled'}"
    feature = label(work.load(Feature, event.originator_id))
    if isinstance(event, Feature.StatusChanged):
        return f"{feature} became {event.status}"
    if isinstance(event, Feature.Scheduled):
        return f"{feature} was scheduled into release {_value(work, event.release_id)}"
    return f"{feature} went back to the backlog"


def _who_and_why(work: UnitOfWork, event: Any) -> str:
    when = f"{event.timestamp.date().isoformat()} by {event.actor}"
    if event.decision_id:
        decision = work.load(Decision, event.decision_id)
        return f"{when} (decision '{decision.title}', {decision.id})"
    return f"{when} (\"{event.rationale}\")"


_FIELDS = {"release_id": "release", "target_date": "target date", "status": "status",
           "priority": "priority"}


def _value(work: UnitOfWork, value: Any) -> str:
    if value is None:
        return "none (the backlog)"
    if isinstance(value, UUID):
        return f"'{work.load(Release, value).name}'"
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else f"{value:g}"
