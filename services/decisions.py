"""Decisions as first-class records: propose, accept with roadmap changes, supersede, reverse.

Accepting a decision applies its roadmap changes to aggregates loaded once per id (so
two changes to the same release see each other), with the same cross-aggregate rules
as the single commands, and saves them with the acceptance in ONE transaction: all or
nothing. Every resulting event carries the decision's id. Reversing a decision is a new
decision whose changes compensate the original's, refused when later changes are in
the way. Also here: lineage, and priority rankings recomputed as of a past instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from contract.changes import Change, change_from_event
from domain import clock, scoring
from domain.base import DecisionLogAggregate
from domain.decision import Decision
from domain.errors import DomainError, InvalidCommand, RuleViolation
from domain.feature import REJECTED, SHIPPED, Feature
from domain.product import Product
from domain.reasons import MAX_RATIONALE, Reason
from domain.release import Release

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder, EventStore, Mapper

    from services.application import Loader, Outcome

A = TypeVar("A", bound=DecisionLogAggregate)

MAX_CHANGES = 100
RACE_RETRIES = 20

# Kinds of applied change, as recorded in ``Decision.Accepted.changes``.
MOVE = "move_feature"
UNSCHEDULE = "unschedule_feature"
TARGET_DATE = "change_target_date"
STATUS = "change_status"
PRIORITY = "change_priority"


# Change requests: what a decision asks to change on the roadmap.


@dataclass(frozen=True)
class MoveFeature:
    """Schedule a feature into a release, or move it there from its current one."""

    feature_id: UUID
    release_id: UUID


@dataclass(frozen=True)
class UnscheduleFeature:
    """Take a feature out of its release, back to the backlog."""

    feature_id: UUID


@dataclass(frozen=True)
class ChangeTargetDate:
    """Slip or pull in a release's target date."""

    release_id: UUID
    target_date: date


@dataclass(frozen=True)
class ChangeStatus:
    """Move a feature along its lifecycle."""

    feature_id: UUID
    status: str


@dataclass(frozen=True)
class ChangePriority:
    """Give a feature a new priority."""

    feature_id: UUID
    priority: float


ChangeRequest = MoveFeature | UnscheduleFeature | ChangeTargetDate | ChangeStatus | ChangePriority

#: Each kind of change request by the name it is recorded under (e.g. for an HTTP body
#: ``{"kind": "move_feature", "feature_id": ..., "release_id": ...}``).
CHANGE_REQUESTS: dict[str, type[ChangeRequest]] = {
    MOVE: MoveFeature, UNSCHEDULE: UnscheduleFeature, TARGET_DATE: ChangeTargetDate,
    STATUS: ChangeStatus, PRIORITY: ChangePriority,
}


# What the queries return.


@dataclass(frozen=True)
class DecisionStep:
    """A decision that shaped an entity, with the entity's changes it caused, in order."""

    decision_id: UUID
    title: str
    status: str
    changes: list[Change]


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


@dataclass(frozen=True)
class RankedFeature:
    """A feature's place in a ranking, and where its priority came from."""

    rank: int
    feature_id: UUID
    title: str
    status: str
    priority: float
    formula: str | None
    inputs: dict[str, float] | None
    reproduced: bool
    explanation: str


class Host(Protocol):
    """What the decision commands need from the application they are mixed into."""

    events: EventStore[UUID]
    recorder: ApplicationRecorder
    mapper: Mapper[UUID]

    def _get(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False,
             version: int | None = None) -> A: ...

    def _saved(self, subject: DecisionLogAggregate,
               *aggregates: DecisionLogAggregate) -> Outcome: ...

    def _change(self, cls: type[A], aggregate_id: UUID, expected_version: int | None,
                decide: Callable[[A], Sequence[DecisionLogAggregate] | None]) -> Outcome: ...

    @staticmethod
    def _check_version(aggregate: DecisionLogAggregate, expected: int | None) -> None: ...

    def decide_schedule(self, feature: Feature, release_id: UUID, reason: Reason,
                        load: Loader) -> list[DecisionLogAggregate]: ...

    def decide_unschedule(self, feature: Feature, reason: Reason,
                          load: Loader) -> list[DecisionLogAggregate]: ...


class DecisionsMixin:
    """Decision commands and queries, mixed into :class:`services.application.DecisionLog`."""

    def propose_decision(self: Host, product_id: UUID, *, actor: str,
                         **details: Any) -> Outcome:
        """Propose a decision about an active product; ``details`` are the fields of
        :meth:`Decision.propose` (``supersedes`` names an accepted decision it will replace)."""
        self._get(Product, product_id).ensure_active()
        if details.get("reverses") is not None:
            _in_force(self._get(Decision, details["reverses"], referenced=True), product_id,
                      "reversed")
        if details.get("supersedes") is not None:
            _in_force(self._get(Decision, details["supersedes"], referenced=True), product_id,
                      "superseded")
        decision = Decision.propose(product_id=product_id, actor=actor, **details)
        return self._saved(decision, decision)

    def accept_decision(self: Host, decision_id: UUID, changes: Sequence[ChangeRequest],
                        actor: str, expected_version: int | None = None) -> Outcome:
        """Accept a proposed decision and apply ``changes`` with it, all or nothing."""

        def build(work: Workspace) -> Decision:
            decision = work.load(Decision, decision_id)
            self._check_version(decision, expected_version)
            _accept(self, work, decision, changes, actor)
            return decision

        return _commit(self, build)

    def reject_decision(self: Host, decision_id: UUID, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        """Reject a proposed decision; nothing on the roadmap changes."""
        return self._change(Decision, decision_id, expected_version, lambda d: d.reject(reason))

    def reverse_decision(self: Host, decision_id: UUID, reason: Reason, *,
                         deciders: list[str] | None = None,
                         consulted: list[str] | None = None) -> Outcome:
        """Reverse an accepted decision now: a new decision, proposed and accepted at once,
        whose changes compensate the original's. Returns the reversing decision."""

        def build(work: Workspace) -> Decision:
            original = work.load(Decision, decision_id)
            original.ensure_in_force("reversed")
            reversal = work.add(Decision.propose(
                product_id=original.product_id,
                title=f"Reverse: {original.title}"[:200],
                context=f"Decision '{original.title}' ({original.id}) is being reversed.",
                options=[{"name": "Keep"}, {"name": "Reverse"}],
                chosen_option="Reverse",
                rationale=reason.rationale,
                evidence=list(reason.evidence),
                deciders=deciders or [reason.actor],
                consulted=consulted,
                reverses=original.id,
                actor=reason.actor,
            ))
            _accept(self, work, reversal, [], reason.actor)
            return reversal

        return _commit(self, build)

    def score_priority(self: Host, feature_id: UUID, method: str, inputs: dict[str, float],
                       reason: Reason, expected_version: int | None = None) -> Outcome:
        """Set a feature's priority from a RICE or WSJF score (see :mod:`domain.scoring`)."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f: f.score_priority(method, inputs, reason))

    def get_decision(self: Host, decision_id: UUID, version: int | None = None) -> Decision:
        return self._get(Decision, decision_id, version=version)

    # Lineage

    def entity_lineage(self: Host, entity_id: UUID) -> list[DecisionStep]:
        """The decisions that shaped an entity, in order, each with the changes it caused."""
        events = list(self.events.get(entity_id))
        if not events:
            raise _not_found(entity_id)
        return _steps(self, [e for e in events if getattr(e, "decision_id", None)])

    def decision_lineage(self: Host, decision_id: UUID) -> DecisionLineage:
        """What a decision changed, and which later decisions changed the same entities."""
        decision = self._get(Decision, decision_id)
        changed: list[Any] = []
        later: list[Any] = []
        for entity_id in _touched_ids(decision):
            events = list(self.events.get(entity_id))
            ours = [i for i, e in enumerate(events) if getattr(e, "decision_id", None)
                    == decision_id]
            changed += [events[i] for i in ours]
            if ours and entity_id not in (decision.supersedes, decision.reverses):
                later += [e for e in events[ours[-1] + 1:]
                          if getattr(e, "decision_id", None) not in (None, decision_id)]
        return DecisionLineage(
            decision_id=decision.id, title=decision.title, status=decision.status,
            supersedes=decision.supersedes, superseded_by=decision.superseded_by,
            reverses=decision.reverses, reversed_by=decision.reversed_by,
            changed=[change_from_event(e) for e in _in_time_order(changed)],
            changed_again_by=_steps(self, _in_time_order(later)),
        )

    # Prioritisation through time

    def rank_features(self: Host, product_id: UUID,
                      as_of: datetime | None = None) -> list[RankedFeature]:
        """The product's open features by priority as of ``as_of`` (default now), each
        priority explained and, when it came from a score, recomputed from its inputs."""
        instant = _checked_instant(as_of)
        self._get(Product, product_id)
        standing = [_as_of(self, i, instant) for i in _feature_ids(self, product_id)]
        ranked = sorted((s for s in standing if s and s[0].status not in (REJECTED, SHIPPED)),
                        key=lambda s: (-s[0].priority, s[0].title))
        return [_ranked(rank, feature, last) for rank, (feature, last)
                in enumerate(ranked, start=1)]


# Accepting: the workspace, the changes and their compensations.


class Workspace:
    """The aggregates one command loads, each once, so its changes see each other."""

    def __init__(self, app: Host) -> None:
        self._app = app
        self._loaded: dict[UUID, DecisionLogAggregate] = {}

    def load(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False) -> A:
        """The aggregate, loaded on first use (see ``DecisionLog._get`` for the errors)."""
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app._get(cls, aggregate_id, referenced=referenced)
        aggregate = self._loaded[aggregate_id]
        if not isinstance(aggregate, cls):
            raise InvalidCommand(f"No {cls.__name__.lower()} with id {aggregate_id}.")
        return aggregate

    def add(self, aggregate: A) -> A:
        """Take a newly created aggregate into the workspace."""
        self._loaded[aggregate.id] = aggregate
        return aggregate

    def changed(self) -> list[DecisionLogAggregate]:
        """Every aggregate with events to save."""
        return [a for a in self._loaded.values() if a.pending_events]


def _commit(app: Host, build: Callable[[Workspace], Decision]) -> Outcome:
    """Build on fresh state and save everything at once; a lost race is retried."""
    for _ in range(RACE_RETRIES):
        work = Workspace(app)
        decision = build(work)
        try:
            return app._saved(decision, *work.changed())
        except IntegrityError:
            continue
    raise RuleViolation("Too many concurrent changes to these entities; try again.")


def _accept(app: Host, work: Workspace, decision: Decision,
            requests: Sequence[ChangeRequest], actor: str) -> None:
    """Accept ``decision`` in ``work``: its reversal or supersession, then ``requests``."""
    decision.ensure_proposed("accepted")
    if len(requests) > MAX_CHANGES:
        raise InvalidCommand(f"A decision carries at most {MAX_CHANGES} roadmap changes.")
    reason = decision.reason(actor)
    applied: list[dict[str, Any]] = []
    if decision.reverses is not None:
        original = work.load(Decision, decision.reverses, referenced=True)
        applied += _compensations(app, work, original, decision.reason(
            actor, f"Reverses decision '{original.title}': {decision.rationale}"[:MAX_RATIONALE]))
        original.mark_reversed(decision.id, reason)
    if decision.supersedes is not None:
        work.load(Decision, decision.supersedes, referenced=True).mark_superseded(
            decision.id, reason)
    for number, request in enumerate(requests, start=1):
        try:
            applied.append(_apply(app, work, request, reason, decision.product_id))
        except DomainError as error:
            kind = InvalidCommand if isinstance(error, InvalidCommand) else RuleViolation
            raise kind(f"Change {number} of {len(requests)} ({_describe(work, request)}) is "
                       f"refused: {error} Nothing was applied.") from error
    decision.accept(applied, reason)


def _apply(app: Host, work: Workspace, request: ChangeRequest, reason: Reason,
           product_id: UUID) -> dict[str, Any]:
    """Apply one change request with the single commands' rules; return what changed."""
    match request:
        case MoveFeature(feature_id, release_id):
            feature = _own(work.load(Feature, feature_id, referenced=True), product_id)
            old = feature.release_id
            app.decide_schedule(feature, release_id, reason, work.load)
            return {"kind": MOVE, "feature_id": feature_id, "old_release_id": old,
                    "release_id": release_id}
        case UnscheduleFeature(feature_id):
            feature = _own(work.load(Feature, feature_id, referenced=True), product_id)
            old = feature.release_id
            app.decide_unschedule(feature, reason, work.load)
            return {"kind": UNSCHEDULE, "feature_id": feature_id, "old_release_id": old}
        case ChangeTargetDate(release_id, target_date):
            release = _own(work.load(Release, release_id, referenced=True), product_id)
            old_date = release.target_date
            release.change_target_date(target_date, reason)
            return {"kind": TARGET_DATE, "release_id": release_id,
                    "old_target_date": old_date, "target_date": target_date}
        case ChangeStatus(feature_id, status):
            feature = _own(work.load(Feature, feature_id, referenced=True), product_id)
            old_status = feature.status
            feature.change_status(status, reason)
            return {"kind": STATUS, "feature_id": feature_id, "old_status": old_status,
                    "status": status}
        case ChangePriority(feature_id, priority):
            feature = _own(work.load(Feature, feature_id, referenced=True), product_id)
            old_priority = feature.priority
            feature.change_priority(priority, reason)
            return {"kind": PRIORITY, "feature_id": feature_id, "old_priority": old_priority,
                    "priority": feature.priority}
    raise InvalidCommand(f"Unknown kind of roadmap change: {request!r}.")


def _compensations(app: Host, work: Workspace, original: Decision,
                   reason: Reason) -> list[dict[str, Any]]:
    """Undo ``original``'s changes, last first; refuse when later changes are in the way."""
    original.ensure_in_force("reversed")
    applied = []
    for change in reversed(original.changes):
        undo = _undo(change)
        _ensure_unchanged_since(app, work, original, change)
        try:
            applied.append(_apply(app, work, undo, reason, original.product_id))
        except DomainError as error:
            raise RuleViolation(
                f"Decision '{original.title}' cannot be reversed exactly: "
                f"{_describe(work, undo)} is refused: {error} Nothing was changed."
            ) from error
    return applied


def _undo(change: dict[str, Any]) -> ChangeRequest:
    """The change request that puts back what ``change`` replaced."""
    kind = change["kind"]
    if kind in (MOVE, UNSCHEDULE):
        old = change["old_release_id"]
        return (UnscheduleFeature(change["feature_id"]) if old is None
                else MoveFeature(change["feature_id"], old))
    if kind == TARGET_DATE:
        return ChangeTargetDate(change["release_id"], change["old_target_date"])
    if kind == STATUS:
        return ChangeStatus(change["feature_id"], change["old_status"])
    return ChangePriority(change["feature_id"], change["old_priority"])


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


def _ensure_unchanged_since(app: Host, work: Workspace, original: Decision,
                            change: dict[str, Any]) -> None:
    """Refuse to undo ``change`` when its entity no longer has the value it set."""
    attribute, after, watched = _WATCHED[change["kind"]]
    entity_id = change.get("feature_id") or change["release_id"]
    entity = work.load(Feature if "feature_id" in change else Release, entity_id)
    if getattr(entity, attribute) == after(change):
        return
    events = list(app.events.get(entity_id))
    ours = max((i for i, e in enumerate(events)
                if getattr(e, "decision_id", None) == original.id), default=-1)
    since = [e for e in events[ours + 1:] if isinstance(e, watched)]
    cause = f" on {_who_and_why(app, since[-1])}" if since else ""
    raise RuleViolation(
        f"Decision '{original.title}' cannot be reversed exactly: {_label(entity)} changed "
        f"after it: its {_FIELDS[attribute]} is now {_value(work, getattr(entity, attribute))}, "
        f"not {_value(work, after(change))} as this decision left it. That change was made"
        f"{cause}. Reverse or undo that change first."
    )


def _who_and_why(app: Host, event: Any) -> str:
    when = f"{event.timestamp.date().isoformat()} by {event.actor}"
    if event.decision_id:
        decision = app._get(Decision, event.decision_id)
        return f"{when} (decision '{decision.title}', {decision.id})"
    return f"{when} (\"{event.rationale}\")"


_FIELDS = {"release_id": "release", "target_date": "target date", "status": "status",
           "priority": "priority"}


def _value(work: Workspace, value: Any) -> str:
    if value is None:
        return "none (the backlog)"
    if isinstance(value, UUID):
        return f"'{work.load(Release, value).name}'"
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else f"{value:g}"


def _label(entity: DecisionLogAggregate) -> str:
    if isinstance(entity, Feature):
        return f"feature '{entity.title}'"
    if isinstance(entity, Release):
        return f"release '{entity.name}'"
    return f"{type(entity).__name__.lower()} {entity.id}"


def _describe(work: Workspace, request: ChangeRequest) -> str:
    """The request in words, with names where the ids are known."""

    def name(cls: type[DecisionLogAggregate], entity_id: UUID) -> str:
        try:
            return _label(work.load(cls, entity_id, referenced=True))
        except DomainError:
            return f"{cls.__name__.lower()} {entity_id}"

    match request:
        case MoveFeature(feature_id, release_id):
            return f"move {name(Feature, feature_id)} to {name(Release, release_id)}"
        case UnscheduleFeature(feature_id):
            return f"return {name(Feature, feature_id)} to the backlog"
        case ChangeTargetDate(release_id, target_date):
            return f"retarget {name(Release, release_id)} to {target_date.isoformat()}"
        case ChangeStatus(feature_id, status):
            return f"make {name(Feature, feature_id)} {status}"
        case ChangePriority(feature_id, priority):
            return f"give {name(Feature, feature_id)} priority {priority:g}"
    return repr(request)


def _own(entity: A, product_id: UUID) -> A:
    if entity.owning_product_id != product_id:
        raise InvalidCommand(
            f"The {_label(entity)} belongs to another product; a decision changes only its "
            "own product's roadmap."
        )
    return entity


def _in_force(decision: Decision, product_id: UUID, becoming: str) -> None:
    if decision.product_id != product_id:
        raise InvalidCommand(
            f"Decision '{decision.title}' is about another product; a decision can only be "
            f"{becoming} by a decision about the same product."
        )
    decision.ensure_in_force(becoming)


# Lineage helpers


def _touched_ids(decision: Decision) -> list[UUID]:
    ids: list[UUID] = []
    for change in decision.changes:
        for key in ("feature_id", "release_id", "old_release_id"):
            if change.get(key) is not None and change[key] not in ids:
                ids.append(change[key])
    return ids + [i for i in (decision.supersedes, decision.reverses) if i is not None]


def _in_time_order(events: Iterable[Any]) -> list[Any]:
    return sorted(events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version))


def _steps(app: Host, events: Sequence[Any]) -> list[DecisionStep]:
    """Group events by the decision that caused them, keeping the order of first cause."""
    grouped: dict[UUID, list[Any]] = {}
    for event in events:
        grouped.setdefault(event.decision_id, []).append(event)
    decisions = {i: app._get(Decision, i) for i in grouped}
    return [DecisionStep(i, decisions[i].title, decisions[i].status,
                         [change_from_event(e) for e in evs]) for i, evs in grouped.items()]


def _not_found(entity_id: UUID) -> DomainError:
    from services.application import NotFound  # the application module imports this one

    return NotFound(f"No entity with id {entity_id}.")


# Ranking helpers


def _checked_instant(as_of: datetime | None) -> datetime:
    now = clock.now()
    if as_of is None:
        return now
    if as_of.tzinfo is None:
        raise InvalidCommand("as_of needs a timezone, e.g. 2026-03-01T12:00:00Z.")
    if as_of > now:
        raise InvalidCommand("as_of is in the future; the log can only answer for the past.")
    return as_of


def _feature_ids(app: Host, product_id: UUID) -> list[UUID]:
    """Every feature proposed for the product, read from the log's creation events."""
    topic, ids, start = get_topic(Feature.Created), [], 0
    while True:
        page = app.recorder.select_notifications(start, 500, topics=[topic],
                                                 inclusive_of_start=False)
        for notification in page:
            created = app.mapper.to_domain_event(notification)
            if getattr(created, "product_id", None) == product_id:
                ids.append(created.originator_id)
        if len(page) < 500:
            return ids
        start = page[-1].id


def _as_of(app: Host, feature_id: UUID, instant: datetime) -> tuple[Feature, Any] | None:
    """The feature as it stood at ``instant``, and the event that last set its priority."""
    feature, last = None, None
    events: Iterable[Any] = app.events.get(feature_id)
    for event in events:
        if event.timestamp > instant:
            break
        feature = event.mutate(feature)
        if isinstance(event, Feature.Created | Feature.PriorityChanged | Feature.PriorityScored):
            last = event
    return (feature, last) if isinstance(feature, Feature) else None


def _ranked(rank: int, feature: Feature, last: Any) -> RankedFeature:
    """Explain where the priority came from; recompute a score from its recorded formula."""
    when = f"on {last.timestamp.date().isoformat()} by {last.actor}"
    formula, inputs, reproduced = None, None, True
    if isinstance(last, Feature.PriorityScored):
        recomputed = scoring.score(last.formula, last.inputs)
        formula, inputs = last.formula, dict(last.inputs)
        reproduced = recomputed.value == last.priority
        explanation = f"Scored {recomputed.explain()} {when}: {last.rationale}"
    elif isinstance(last, Feature.PriorityChanged):
        explanation = f"Set by hand to {last.priority:g} {when}: {last.rationale}"
    else:
        explanation = f"Proposed with priority {feature.priority:g} {when}."
    return RankedFeature(rank, feature.id, feature.title, feature.status, feature.priority,
                         formula, inputs, reproduced, explanation)
