"""Roadmap changes: what services reacting to the roadmap need to know, derived from a Change.

At most one roadmap change is derived from each public :class:`~contract.changes.Change`: a
feature scheduled, moved or unscheduled, a feature's status changed, a release's target date
slipped or pulled in, a release shipped or cancelled. Each carries the values before and after,
the decision context, and the id of the change it came from. Its own id is derived from that
one, so a re-published roadmap change keeps its id too.

Optionally (``names``) it also carries the names behind its ids as they were at that change:
the product's name, the feature's title, the releases' names and target dates, folded from the
changes in log order by :class:`RoadmapNames`. A name that is not known is left out, and
``names`` is null when none is: consumers treat every name as optional.

``release.feature_added`` / ``release.feature_removed`` derive nothing: they mirror the
feature's own scheduling change, which already produces the message.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from hashlib import sha1
from typing import Any
from uuid import UUID

from contract.changes import Change

SCHEMA_VERSION = 1

#: Namespace for roadmap change ids: uuid5 of the source change's event id.
ROADMAP_ID_NAMESPACE = UUID("0b7e4a8e-7f36-4c38-9d6a-3c1f1b9e2d54")
_NAMESPACE_BYTES = ROADMAP_ID_NAMESPACE.bytes


@dataclass(frozen=True)
class RoadmapChangeType:
    """One kind of roadmap change and the shape of its ``before``/``after``/``details``."""

    name: str
    source_type: str
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, Any]:
        """The names its ``names`` may carry, with their Python types (every one optional)."""
        if self.source_type.startswith("release."):
            return RELEASE_NAMES
        if self.source_type == "feature.status_changed":
            return FEATURE_NAMES
        return SCHEDULING_NAMES


#: ``names`` of a release's roadmap change: its product's name and its own.
RELEASE_NAMES: dict[str, Any] = {"product": str, "release": str}
#: ``names`` of a feature's status change: its product's name and its title.
FEATURE_NAMES: dict[str, Any] = {"product": str, "feature": str}
#: ``names`` of a feature's scheduling change: also the names and target dates of the releases
#: before and after (as ``before.release_id`` / ``after.release_id``).
SCHEDULING_NAMES: dict[str, Any] = {
    **FEATURE_NAMES, "release_before": str, "release_after": str,
    "target_date_before": date, "target_date_after": date,
}


_RELEASE_ID = {"release_id": UUID | None}
_STATE = {"state": str}

#: Every roadmap change type, with the Python types of its values (the schemas come from these).
ROADMAP_TYPES: dict[str, RoadmapChangeType] = {
    t.name: t
    for t in (
        RoadmapChangeType("roadmap.feature_scheduled", "feature.scheduled",
                          "A backlog feature was scheduled into a release.",
                          before=_RELEASE_ID, after={"release_id": UUID}),
        RoadmapChangeType("roadmap.feature_moved", "feature.scheduled",
                          "A scheduled feature was moved from one release to another.",
                          before={"release_id": UUID}, after={"release_id": UUID}),
        RoadmapChangeType("roadmap.feature_unscheduled", "feature.unscheduled",
                          "A feature was taken out of its release, back to the backlog.",
                          before={"release_id": UUID}, after=_RELEASE_ID),
        RoadmapChangeType("roadmap.feature_status_changed", "feature.status_changed",
                          "A feature moved along its lifecycle (accepted, done, shipped, ...).",
                          before={"status": str}, after={"status": str}),
        RoadmapChangeType("roadmap.release_slipped", "release.target_date_changed",
                          "A release's target date moved later.",
                          before={"target_date": date}, after={"target_date": date},
                          details={"delta_days": int}),
        RoadmapChangeType("roadmap.release_pulled_in", "release.target_date_changed",
                          "A release's target date moved earlier.",
                          before={"target_date": date}, after={"target_date": date},
                          details={"delta_days": int}),
        RoadmapChangeType("roadmap.release_shipped", "release.shipped",
                          "A release shipped on its actual date.",
                          before=_STATE, after={"state": str, "shipped_on": date}),
        RoadmapChangeType("roadmap.release_cancelled", "release.cancelled",
                          "A release was cancelled; its features went back to the backlog.",
                          before=_STATE, after=_STATE),
    )
}


@dataclass(frozen=True)
class RoadmapChange:
    """One change to a product's roadmap, as published on the roadmap-changes topic."""

    change_id: str
    type: str
    product_id: str
    entity_type: str
    entity_id: str
    entity_version: int
    occurred_at: str
    actor: str
    rationale: str
    evidence: list[str]
    decision_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    details: dict[str, Any]
    source_event_id: str
    source_type: str
    log_position: int | None = None
    schema_version: int = field(default=SCHEMA_VERSION)
    #: As on the source change (see :class:`~contract.changes.Change`).
    correlation_id: str | None = None
    caused_by: dict[str, Any] | None = None
    #: The names behind the ids at that change (see :class:`RoadmapNames`); None if unknown.
    names: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "RoadmapChange":
        return cls(**value)


def roadmap_change_id(source_event_id: str) -> str:
    """The stable id of the roadmap change derived from the change ``source_event_id``.

    ``str(uuid5(ROADMAP_ID_NAMESPACE, source_event_id))``, computed without building
    :class:`~uuid.UUID` objects (the relay derives one per roadmap change).
    """
    digest = bytearray(sha1(_NAMESPACE_BYTES + source_event_id.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


Derived = tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]


def _scheduled(data: dict[str, Any]) -> Derived:
    kind = "roadmap.feature_moved" if data["old_release_id"] else "roadmap.feature_scheduled"
    return kind, {"release_id": data["old_release_id"]}, {"release_id": data["release_id"]}, {}


def _unscheduled(data: dict[str, Any]) -> Derived:
    return ("roadmap.feature_unscheduled", {"release_id": data["old_release_id"]},
            {"release_id": None}, {})


def _status_changed(data: dict[str, Any]) -> Derived:
    return ("roadmap.feature_status_changed", {"status": data["old_status"]},
            {"status": data["status"]}, {})


def _target_date_changed(data: dict[str, Any]) -> Derived:
    kind = "roadmap.release_slipped" if data["delta_days"] > 0 else "roadmap.release_pulled_in"
    return (kind, {"target_date": data["old_target_date"]}, {"target_date": data["target_date"]},
            {"delta_days": data["delta_days"]})


def _shipped(data: dict[str, Any]) -> Derived:
    return ("roadmap.release_shipped", {"state": "planned"},
            {"state": "shipped", "shipped_on": data["shipped_on"]}, {})


def _cancelled(data: dict[str, Any]) -> Derived:
    return "roadmap.release_cancelled", {"state": "planned"}, {"state": "cancelled"}, {}


#: Change type -> how its roadmap change is derived. Every change type in
#: :data:`contract.changes.CHANGE_TYPES` is here or in :data:`IGNORED`
#: (``tests/projections/test_change_type_registries.py``).
DERIVERS: dict[str, Callable[[dict[str, Any]], Derived]] = {
    "feature.scheduled": _scheduled,
    "feature.unscheduled": _unscheduled,
    "feature.status_changed": _status_changed,
    "release.target_date_changed": _target_date_changed,
    "release.shipped": _shipped,
    "release.cancelled": _cancelled,
}
#: Change types that derive no roadmap change (only the kinds of :data:`ROADMAP_TYPES` are
#: published on the roadmap-changes topic; every change is on its entity's topic).
IGNORED: frozenset[str] = frozenset({
    # A product's own facts: its vision, strategy and retirement are not roadmap moves.
    "product.created", "product.vision_revised", "product.strategy_revised", "product.retired",
    # Creations: a new feature or release is not yet a move on the roadmap.
    "feature.proposed", "release.planned",
    # What a feature is and how it ranks, not where it is scheduled or how far along it is.
    "feature.priority_changed", "feature.priority_scored", "feature.details_revised",
    "feature.requirement_added", "feature.requirement_revised", "feature.requirement_removed",
    # Release scope bookkeeping: mirrors the feature's own scheduling change, which derives.
    "release.feature_added", "release.feature_removed",
    # Decisions themselves: the changes they cause derive, carrying their decision_id.
    "decision.proposed", "decision.accepted", "decision.rejected", "decision.superseded",
    "decision.reversed",
})


#: The change types :class:`RoadmapNames` folds in (every other change names nothing).
NAMING_TYPES: frozenset[str] = frozenset({
    "product.created", "feature.proposed", "feature.details_revised", "release.planned",
    "release.target_date_changed",
})


class RoadmapNames:
    """The names of products, features and releases and the target dates of releases, as they
    are at one point of the log: fold every change into it in log order (:meth:`apply`), and
    ask it for a change's names (:meth:`for_change`) before folding that change in."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._target_dates: dict[str, Any] = {}

    def apply(self, change: Change) -> None:
        """Fold ``change`` in (changes that name nothing are ignored)."""
        kind, data = change.type, change.data
        if kind == "feature.proposed":
            self._names[change.entity_id] = data["title"]
        elif kind == "feature.details_revised":
            title = data["changes"].get("title")
            if title is not None:
                self._names[change.entity_id] = title["new"]
        elif kind == "release.target_date_changed":
            self._target_dates[change.entity_id] = data["target_date"]
        elif kind == "release.planned":
            self._names[change.entity_id] = data["name"]
            self._target_dates[change.entity_id] = data["target_date"]
        elif kind == "product.created":
            self._names[change.entity_id] = data["name"]

    def for_change(self, change: Change) -> dict[str, Any] | None:
        """The ``names`` of the roadmap change ``change`` derives (None if it derives none,
        or no name is known), as they are before ``change`` is folded in."""
        if change.type not in DERIVERS:
            return None
        names, dates = self._names, self._target_dates
        found: dict[str, Any] = {"product": names.get(change.product_id)}
        if change.entity_type == "release":
            found["release"] = names.get(change.entity_id)
        else:
            found["feature"] = names.get(change.entity_id)
            if change.type != "feature.status_changed":
                before, after = change.data.get("old_release_id"), change.data.get("release_id")
                found.update(release_before=names.get(before) if before else None,
                             release_after=names.get(after) if after else None,
                             target_date_before=dates.get(before) if before else None,
                             target_date_after=dates.get(after) if after else None)
        known = {name: value for name, value in found.items() if value is not None}
        return known or None


def roadmap_change_from(change: Change, names: dict[str, Any] | None = None
                        ) -> RoadmapChange | None:
    """The roadmap change ``change`` makes, or ``None`` when it does not alter the roadmap;
    ``names`` are the names behind its ids at that change, if known (see
    :class:`RoadmapNames`)."""
    derive = DERIVERS.get(change.type)
    if derive is None:
        return None
    kind, before, after, details = derive(change.data)
    return RoadmapChange(
        change_id=roadmap_change_id(change.event_id),
        type=kind,
        product_id=change.product_id,
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        entity_version=change.entity_version,
        occurred_at=change.occurred_at,
        actor=change.actor,
        rationale=change.rationale,
        evidence=list(change.evidence),
        decision_id=change.decision_id,
        before=before,
        after=after,
        details=details,
        source_event_id=change.event_id,
        source_type=change.type,
        log_position=change.log_position,
        correlation_id=change.correlation_id,
        caused_by=change.caused_by,
        names=names,
    )
