"""The public shape of a change: version 1 of what leaves the service.

Internal event classes may evolve; what consumers see is a :class:`Change`, built
here from a stored event. Its ``type`` names come from :data:`CHANGE_TYPES`, not
from class names, so renaming a class never renames a published type. The data
fields of each type are its event's fields; changing them incompatibly needs a
new message version (see ``contract/schemas``).
"""

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from hashlib import sha1
from typing import Any
from uuid import UUID, uuid5

from domain.base import DecisionLogAggregate
from domain.decision import Decision
from domain.feature import Feature
from domain.product import Product
from domain.release import Release

SCHEMA_VERSION = 1

#: Namespace for event ids: the same stored event always gets the same id.
EVENT_ID_NAMESPACE = UUID("5f1d6c0e-4a53-4b7e-9a55-0d7c2f6b8e11")

#: Internal event class -> (entity type, public change type).
CHANGE_TYPES: dict[type[DecisionLogAggregate.Event], tuple[str, str]] = {
    Product.Created: ("product", "product.created"),
    Product.VisionRevised: ("product", "product.vision_revised"),
    Product.StrategyRevised: ("product", "product.strategy_revised"),
    Product.Retired: ("product", "product.retired"),
    Feature.Created: ("feature", "feature.proposed"),
    Feature.StatusChanged: ("feature", "feature.status_changed"),
    Feature.Scheduled: ("feature", "feature.scheduled"),
    Feature.Unscheduled: ("feature", "feature.unscheduled"),
    Feature.PriorityChanged: ("feature", "feature.priority_changed"),
    Feature.PriorityScored: ("feature", "feature.priority_scored"),
    Feature.DetailsRevised: ("feature", "feature.details_revised"),
    Feature.RequirementAdded: ("feature", "feature.requirement_added"),
    Feature.RequirementRevised: ("feature", "feature.requirement_revised"),
    Feature.RequirementRemoved: ("feature", "feature.requirement_removed"),
    Release.Created: ("release", "release.planned"),
    Release.TargetDateChanged: ("release", "release.target_date_changed"),
    Release.FeatureAdded: ("release", "release.feature_added"),
    Release.FeatureRemoved: ("release", "release.feature_removed"),
    Release.Shipped: ("release", "release.shipped"),
    Release.Cancelled: ("release", "release.cancelled"),
    Decision.Created: ("decision", "decision.proposed"),
    Decision.Accepted: ("decision", "decision.accepted"),
    Decision.Rejected: ("decision", "decision.rejected"),
    Decision.Superseded: ("decision", "decision.superseded"),
    Decision.Reversed: ("decision", "decision.reversed"),
}

#: Fields every event has, carried at the top level of a Change rather than in ``data``.
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "product_id",
     "actor", "rationale", "evidence", "decision_id", "correlation_id", "caused_by",
     "traceparent"}
)

#: The envelope fields added within version 1: optional, absent from older events.
TRACE_FIELDS = ("correlation_id", "caused_by", "traceparent")

#: Internal event class name (as :mod:`domain.context` names a cause) -> public change type.
CAUSE_TYPES = {cls.__qualname__: kind[1] for cls, kind in CHANGE_TYPES.items()}


@dataclass(frozen=True)
class Change:
    """One stored event, as published: what changed, on which entity, by whom and why."""

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
    #: Position of the event in the source log, when known (informative; not a sort key
    #: consumers of Kafka can rely on across entities).
    log_position: int | None = None
    schema_version: int = field(default=SCHEMA_VERSION)
    #: Shared by every change of one command: the request's ``X-Request-ID`` if it gave one.
    correlation_id: str | None = None
    #: The change that caused this one, when it is part of a cascade (see :func:`cause`).
    caused_by: dict[str, Any] | None = None
    #: The W3C trace context of the request that made the change (also ``ce_traceparent``).
    traceparent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "Change":
        return cls(**value)

    @property
    def occurred(self) -> datetime:
        return datetime.fromisoformat(self.occurred_at)


def event_id(entity_id: UUID, entity_version: int) -> UUID:
    """The stable id of the event at ``entity_version`` of ``entity_id``."""
    return uuid5(EVENT_ID_NAMESPACE, f"{entity_id}:{entity_version}")


def event_id_text(entity_id: str, entity_version: int) -> str:
    """``str(event_id(UUID(entity_id), entity_version))`` (``uuid.uuid5``, inlined), for an
    ``entity_id`` that is ``str`` of a UUID: without making two UUIDs."""
    hashed = _NAMESPACED.copy()
    hashed.update(f"{entity_id}:{entity_version}".encode())
    h = hashed.hexdigest()
    # The first 16 bytes of the digest, with the version (5) and the RFC 4122 variant set.
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


#: SHA-1 after the namespace: each event id only hashes its own name on top of it.
_NAMESPACED = sha1(EVENT_ID_NAMESPACE.bytes, usedforsecurity=False)
#: Hex digit -> the same digit with the variant bits set (``10xx``): 8, 9, a or b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def is_published(event: object) -> bool:
    """Whether ``event`` has a public change type."""
    return type(event) in CHANGE_TYPES


def change_from_event(event: DecisionLogAggregate.Event, log_position: int | None = None) -> Change:
    """Describe a stored domain event as a public :class:`Change`."""
    entity_type, change_type = CHANGE_TYPES[type(event)]
    fields = vars(event)
    entity_id = event.originator_id
    product_id = fields.get("product_id", entity_id)  # only a product's creation lacks it
    decision_id = fields.get("decision_id")
    return Change(
        event_id=str(event_id(entity_id, event.originator_version)),
        type=change_type,
        entity_type=entity_type,
        entity_id=str(entity_id),
        entity_version=event.originator_version,
        product_id=str(product_id),
        occurred_at=event.timestamp.isoformat(),
        actor=fields["actor"],
        rationale=fields.get("rationale", ""),
        evidence=list(fields.get("evidence", [])),
        decision_id=str(decision_id) if decision_id else None,
        data={k: to_json(v) for k, v in fields.items() if k not in ENVELOPE_FIELDS},
        log_position=log_position,
        correlation_id=fields.get("correlation_id"),
        caused_by=cause(fields.get("caused_by")),
        traceparent=fields.get("traceparent"),
    )


def cause(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """The public form of a stored cause (:class:`domain.context.Cascade`): the causing
    change's ``event_id``, ``type``, ``entity_id`` and ``entity_version``."""
    if not stored:
        return None
    entity_id, version = stored["entity_id"], stored["entity_version"]
    return {"event_id": event_id_text(entity_id, version),
            "type": CAUSE_TYPES.get(stored.get("event", ""), stored.get("event")),
            "entity_id": entity_id, "entity_version": version}


def to_json(value: Any) -> Any:
    """Plain JSON values for ids, dates and nested containers."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
