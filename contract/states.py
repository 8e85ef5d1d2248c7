"""Current states: each entity as it stands after a change, for the compacted state topics.

A service that needs the current roadmap should not have to replay every change: beside each
change message the relay publishes, on ``<prefix>.<entity>.state.v1`` (key = entity id,
``cleanup.policy=compact``), an :class:`EntityState`: the entity's whole state after that change
plus the change's context (actor, rationale, evidence, decision id, when, version, position).
Kafka keeps at least the last message of each key, so reading a state topic from the start and
keeping the last value per key gives every entity's current state.

The state is the aggregate's own (built by applying the domain events, see
:mod:`services.streaming.states`); which of its attributes are public, and their types, is
:data:`STATE_FIELDS`. Like a change's ``data``, a state only ever gains optional fields
within v1.
"""

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from contract.changes import Change, to_json

SCHEMA_VERSION = 1

#: Namespace for state message ids: uuid5 of the event id of the change that made the state.
STATE_ID_NAMESPACE = UUID("b2f15150-b813-4c58-9831-211de6685d69")

#: Entity type -> its public state: attribute of the aggregate -> Python type of its value.
STATE_FIELDS: dict[str, dict[str, Any]] = {
    "product": {"name": str, "vision": str, "value_proposition": str,
                "target_customers": str, "strategy": str, "owner": str, "retired": bool},
    "feature": {"title": str, "problem": str, "business_value": str, "benefit": str,
                "priority": float, "status": str, "release_id": UUID | None,
                "requirements": dict[str, dict[str, Any]], "score": dict[str, Any] | None},
    "release": {"name": str, "theme": str, "target_date": date, "state": str,
                "shipped_on": date | None, "feature_ids": list[UUID]},
    "decision": {"title": str, "context": str, "options": list[dict[str, Any]],
                 "chosen_option": str, "rationale": str, "evidence": list[str],
                 "deciders": list[str], "consulted": list[str], "supersedes": UUID | None,
                 "reverses": UUID | None, "proposed_by": str, "status": str,
                 "changes": list[dict[str, Any]], "accepted_by": str | None,
                 "superseded_by": UUID | None, "reversed_by": UUID | None},
}

#: What each entity's state message means, for people reading the contract.
STATE_SUMMARIES: dict[str, str] = {
    "product": "A product's whole current state after its latest change.",
    "feature": "A feature's whole current state (status, priority, release, requirements, "
               "score) after its latest change.",
    "release": "A release's whole current state (target date, state, scope) after its "
               "latest change.",
    "decision": "A decision's whole current state (options, status, the changes it applied, "
                "who superseded or reversed it) after its latest change.",
}

#: Descriptions of the envelope fields of a state message (beside the changes' own).
STATE_DOCS: dict[str, dict[str, Any]] = {
    "state_id": {"format": "uuid", "description": "Stable id of this state message (uuid5 of "
                 "source_event_id); equals the ce_id header."},
    "entity_type": {"description": "The kind of entity."},
    "entity_id": {"format": "uuid", "description": "The entity; the message key."},
    "product_id": {"format": "uuid", "description": "The product the entity belongs to (a "
                   "product belongs to itself)."},
    "entity_version": {"minimum": 1, "description": "The entity's version in this state. Per "
                       "key, messages arrive in this order; keep the highest."},
    "created_at": {"format": "date-time", "description": "When the entity was created."},
    "occurred_at": {"format": "date-time", "description": "When the entity's latest change was "
                    "recorded (RFC 3339, UTC); equals the ce_time header."},
    "actor": {"description": "Who made the latest change."},
    "rationale": {"description": "Why the latest change was made."},
    "evidence": {"description": "Links or notes supporting the latest change."},
    "decision_id": {"format": "uuid", "description": "The decision record that caused the "
                    "latest change, if any."},
    "state": {"description": "The entity's current state: every public attribute."},
    "source_event_id": {"format": "uuid", "description": "The event_id (and ce_id) of the "
                        "change that made this state, on the entity's change topic."},
    "source_type": {"description": "The public type of that change."},
    "log_position": {"description": "Position of that change in the service's log."},
}


@dataclass(frozen=True)
class EntityState:
    """One entity's current state after one change, as published on its state topic."""

    state_id: str
    type: str
    entity_type: str
    entity_id: str
    entity_version: int
    product_id: str
    created_at: str
    occurred_at: str
    actor: str
    rationale: str
    evidence: list[str]
    decision_id: str | None
    state: dict[str, Any]
    source_event_id: str
    source_type: str
    log_position: int
    schema_version: int = field(default=SCHEMA_VERSION)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_type(entity_type: str) -> str:
    """The public type of an entity's state messages, e.g. ``feature.state``."""
    return f"{entity_type}.state"


def state_id(source_event_id: str) -> str:
    """The stable id of the state message made by the change ``source_event_id``."""
    return str(uuid5(STATE_ID_NAMESPACE, source_event_id))


def public_state(entity_type: str, aggregate: Any) -> dict[str, Any]:
    """The public attributes of ``aggregate`` (an entity of ``entity_type``) as JSON values."""
    return {name: to_json(getattr(aggregate, name)) for name in STATE_FIELDS[entity_type]}


def entity_state(change: Change, aggregate: Any) -> EntityState:
    """The state message for ``aggregate`` just after ``change`` (its latest) was applied."""
    if aggregate.version != change.entity_version or change.log_position is None:
        raise ValueError(f"{change.type} {change.event_id}: the aggregate is at version "
                         f"{aggregate.version}, the change at {change.entity_version}; "
                         f"position {change.log_position}")
    return EntityState(
        state_id=state_id(change.event_id),
        type=state_type(change.entity_type),
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        entity_version=change.entity_version,
        product_id=change.product_id,
        created_at=aggregate.created_on.isoformat(),
        occurred_at=change.occurred_at,
        actor=change.actor,
        rationale=change.rationale,
        evidence=list(change.evidence),
        decision_id=change.decision_id,
        state=public_state(change.entity_type, aggregate),
        source_event_id=change.event_id,
        source_type=change.type,
        log_position=change.log_position,
    )
