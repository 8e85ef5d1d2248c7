"""Change requests: what a decision asks to change on the roadmap, and applying one.

Each request is applied with the same rules as the single command it stands for, to
aggregates in the decision's :class:`~services.store.unit_of_work.UnitOfWork`, and returns the
changes as recorded in ``Decision.Accepted.changes``: each with the value it replaced, so
that :func:`undo_of` can ask for that value back, and with the names of what it refers to
as they were then (``feature_title``, ``release_name``, ``old_release_name``). Rejecting or
deferring a scheduled feature is two changes: out of its release, then the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.base import DecisionLogAggregate
from domain.errors import DomainError, InvalidCommand
from domain.feature import Feature
from domain.reasons import Reason
from domain.release import Release
from services.commands import scheduling
from services.store.unit_of_work import A, UnitOfWork

# Kinds of applied change, as recorded in ``Decision.Accepted.changes``.
MOVE = "move_feature"
UNSCHEDULE = "unschedule_feature"
TARGET_DATE = "change_target_date"
STATUS = "change_status"
PRIORITY = "change_priority"


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


@dataclass(frozen=True)
class RestoreStatus:
    """Put back the status decision ``reverts`` replaced: a correction, made only by that
    decision's reversal (no HTTP body asks for it), which may go back along the lifecycle."""

    feature_id: UUID
    status: str
    reverts: UUID


ChangeRequest = MoveFeature | UnscheduleFeature | ChangeTargetDate | ChangeStatus | ChangePriority
#: What a reversal applies: the requests of a decision, and corrections.
Compensation = ChangeRequest | RestoreStatus

#: Each kind of change request by the name it is recorded under (e.g. for an HTTP body
#: ``{"kind": "move_feature", "feature_id": ..., "release_id": ...}``).
CHANGE_REQUESTS: dict[str, type[ChangeRequest]] = {
    MOVE: MoveFeature, UNSCHEDULE: UnscheduleFeature, TARGET_DATE: ChangeTargetDate,
    STATUS: ChangeStatus, PRIORITY: ChangePriority,
}


def apply_change(work: UnitOfWork, request: Compensation, reason: Reason,
                 product_id: UUID) -> list[dict[str, Any]]:
    """Apply one change request with the single commands' rules; return what changed."""
    match request:
        case MoveFeature(feature_id, release_id):
            feature = _owned(work, Feature, feature_id, product_id)
            old = feature.release_id
            scheduling.schedule(work, feature, release_id, reason)
            return [{"kind": MOVE, **_feature(feature), **_release(work, old, "old_"),
                     **_release(work, release_id)}]
        case UnscheduleFeature(feature_id):
            feature = _owned(work, Feature, feature_id, product_id)
            old = feature.release_id
            scheduling.unschedule(work, feature, reason)
            return [_unscheduled(work, feature, old)]
        case ChangeTargetDate(release_id, target_date):
            release = _owned(work, Release, release_id, product_id)
            old_date = release.target_date
            release.change_target_date(target_date, reason)
            return [{"kind": TARGET_DATE, **_release(work, release_id),
                     "old_target_date": old_date, "target_date": target_date}]
        case ChangeStatus(feature_id, status):
            feature = _owned(work, Feature, feature_id, product_id)
            old, old_status = feature.release_id, feature.status
            scheduling.change_status(work, feature, status, reason)
            taken_out = [] if feature.release_id == old else [_unscheduled(work, feature, old)]
            return [*taken_out, {"kind": STATUS, **_feature(feature),
                                 "old_status": old_status, "status": status}]
        case RestoreStatus(feature_id, status, reverts):
            feature = _owned(work, Feature, feature_id, product_id)
            old_status = feature.status
            feature.restore_status(status, reverts, reason)
            return [{"kind": STATUS, **_feature(feature), "old_status": old_status,
                     "status": status, "reverts": reverts}]
        case ChangePriority(feature_id, priority):
            feature = _owned(work, Feature, feature_id, product_id)
            old_priority = feature.priority
            feature.change_priority(priority, reason)
            return [{"kind": PRIORITY, **_feature(feature), "old_priority": old_priority,
                     "priority": feature.priority}]
    raise InvalidCommand(f"Unknown kind of roadmap change: {request!r}.")


def _feature(feature: Feature) -> dict[str, Any]:
    return {"feature_id": feature.id, "feature_title": feature.title}


def _release(work: UnitOfWork, release_id: UUID | None, prefix: str = "") -> dict[str, Any]:
    name = None if release_id is None else work.load(Release, release_id, referenced=True).name
    return {f"{prefix}release_id": release_id, f"{prefix}release_name": name}


def _unscheduled(work: UnitOfWork, feature: Feature, old: UUID | None) -> dict[str, Any]:
    return {"kind": UNSCHEDULE, **_feature(feature), **_release(work, old, "old_")}


def undo_of(change: dict[str, Any], reverts: UUID) -> Compensation:
    """What puts back what ``change`` replaced, for the reversal of decision ``reverts``: a
    status is put back by a correction, anything else by the opposite request."""
    kind = change["kind"]
    if kind in (MOVE, UNSCHEDULE):
        old = change["old_release_id"]
        return (UnscheduleFeature(change["feature_id"]) if old is None
                else MoveFeature(change["feature_id"], old))
    if kind == TARGET_DATE:
        return ChangeTargetDate(change["release_id"], change["old_target_date"])
    if kind == STATUS:
        return RestoreStatus(change["feature_id"], change["old_status"], reverts)
    return ChangePriority(change["feature_id"], change["old_priority"])


def describe(work: UnitOfWork, request: Compensation) -> str:
    """The request in words, with names where the ids are known."""

    def name(cls: type[DecisionLogAggregate], entity_id: UUID) -> str:
        try:
            return label(work.load(cls, entity_id, referenced=True))
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
        case RestoreStatus(feature_id, status, _):
            return f"put {name(Feature, feature_id)} back to {status}"
        case ChangePriority(feature_id, priority):
            return f"give {name(Feature, feature_id)} priority {priority:g}"
    return repr(request)


def label(entity: DecisionLogAggregate) -> str:
    """The entity as a person would name it, e.g. ``feature 'CSV export'``."""
    if isinstance(entity, Feature):
        return f"feature '{entity.title}'"
    if isinstance(entity, Release):
        return f"release '{entity.name}'"
    return f"{type(entity).__name__.lower()} {entity.id}"


def _owned(work: UnitOfWork, cls: type[A], entity_id: UUID, product_id: UUID) -> A:
    """The entity a request names, refused unless it belongs to the decision's product."""
    entity = work.load(cls, entity_id, referenced=True)
    if entity.owning_product_id != product_id:
        raise InvalidCommand(
            f"The {label(entity)} belongs to another product; a decision changes only its "
            "own product's roadmap."
        )
    return entity
