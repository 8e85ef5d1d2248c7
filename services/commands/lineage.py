"""Lineage: which decisions shaped an entity, and what a decision changed that later
decisions changed again. Read from the entities' own histories in the event store.

A later decision changed a decision's result again only if it changed the same field of the
same entity: a feature's release, status or priority, a release's target date, or whether
a given feature is in a release's scope (see :func:`field_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID

from contract.changes import Change, change_from_event
from domain.decision import Decision
from domain.feature import Feature
from domain.release import Release
from services.store.errors import NotFound
from services.store.unit_of_work import History

#: Reads the current state of a decision (the application's ``get_decision``).
ReadDecision = Callable[[UUID], Decision]


@dataclass(frozen=True)
class DecisionStep:
    """A decision that shaped an entity, with the entity's changes it caused, in order."""

    decision_id: UUID
    title: str
    status: str
    changes: list[Change]
    proposed_at: datetime
    accepted_at: datetime | None
    superseded_at: datetime | None
    reversed_at: datetime | None


@dataclass(frozen=True)
class DecisionLineage:
    """What a decision changed, how it relates to others, and who changed its work again."""

    decision_id: UUID
    title: str
    status: str
    supersedes: UUID | None
    superseded_by: UUID | None
    reverses: UUID | None
    reversed_by: UUID | None
    changed: list[Change]
    changed_again_by: list[DecisionStep]
    proposed_at: datetime
    accepted_at: datetime | None
    superseded_at: datetime | None
    reversed_at: datetime | None


class Lineage:
    """Lineage queries over the entities' histories (``history``), naming decisions by
    their current state (``read_decision``)."""

    def __init__(self, history: History, read_decision: ReadDecision) -> None:
        self._history = history
        self._read_decision = read_decision

    def of_entity(self, entity_id: UUID) -> list[DecisionStep]:
        """The decisions that shaped an entity, in order, each with the changes it caused."""
        events = list(self._history.get(entity_id))
        if not events:
            raise NotFound(f"No entity with id {entity_id}.")
        return self._steps([e for e in events if _cause(e)])

    def of_decision(self, decision_id: UUID) -> DecisionLineage:
        """What a decision changed, and which later decisions changed the same fields of
        the same entities."""
        decision = self._read_decision(decision_id)
        changed: list[Any] = []
        later: list[Any] = []
        for entity_id in _touched_ids(decision):
            events = list(self._history.get(entity_id))
            ours = [i for i, e in enumerate(events) if _cause(e) == decision_id]
            changed += [events[i] for i in ours]
            fields = {field_of(events[i]) for i in ours} - {None}
            if ours and entity_id not in (decision.supersedes, decision.reverses):
                later += [e for e in events[ours[-1] + 1:]
                          if _cause(e) not in (None, decision_id) and field_of(e) in fields]
        return DecisionLineage(
            decision_id=decision.id, title=decision.title, status=decision.status,
            supersedes=decision.supersedes, superseded_by=decision.superseded_by,
            reverses=decision.reverses, reversed_by=decision.reversed_by,
            changed=[change_from_event(e) for e in _in_time_order(changed)],
            changed_again_by=self._steps(_in_time_order(later)),
            **_times(decision),
        )

    def _steps(self, events: Sequence[Any]) -> list[DecisionStep]:
        """Group events by the decision that caused them, keeping the order of first cause."""
        grouped: dict[UUID, list[Any]] = {}
        for event in events:
            grouped.setdefault(event.decision_id, []).append(event)
        decisions = {i: self._read_decision(i) for i in grouped}
        return [DecisionStep(i, decisions[i].title, decisions[i].status,
                             [change_from_event(e) for e in evs], **_times(decisions[i]))
                for i, evs in grouped.items()]


class _Times(TypedDict):
    proposed_at: datetime
    accepted_at: datetime | None
    superseded_at: datetime | None
    reversed_at: datetime | None


def _times(decision: Decision) -> _Times:
    return {"proposed_at": decision.proposed_at, "accepted_at": decision.accepted_at,
            "superseded_at": decision.superseded_at, "reversed_at": decision.reversed_at}


#: The field each kind of event sets: a later event changes a decision's result again only
#: when it sets the same field of the same entity.
_FIELDS: dict[type, str] = {
    Feature.Scheduled: "release_id", Feature.Unscheduled: "release_id",
    Feature.StatusChanged: "status",
    Feature.PriorityChanged: "priority", Feature.PriorityScored: "priority",
    Release.TargetDateChanged: "target_date",
}


def field_of(event: Any) -> Hashable | None:
    """The field of its entity that ``event`` sets (``("scope", feature_id)`` for a feature
    entering or leaving a release), or None for events no decision's change records."""
    if isinstance(event, Release.FeatureAdded | Release.FeatureRemoved):
        return ("scope", event.feature_id)
    return _FIELDS.get(type(event))


def _cause(event: Any) -> UUID | None:
    """The decision that caused ``event``, if any."""
    return getattr(event, "decision_id", None)


def _touched_ids(decision: Decision) -> list[UUID]:
    ids: list[UUID] = []
    for change in decision.changes:
        for key in ("feature_id", "release_id", "old_release_id"):
            if change.get(key) is not None and change[key] not in ids:
                ids.append(change[key])
    return ids + [i for i in (decision.supersedes, decision.reverses) if i is not None]


def _in_time_order(events: Iterable[Any]) -> list[Any]:
    return sorted(events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version))
