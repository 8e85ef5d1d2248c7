"""Where the public messages go: one topic per entity type, plus the roadmap-changes topic;
and one compacted current-state topic per entity type (:mod:`contract.states`).

Topic names carry the contract's major version (``.v1``); an incompatible change to the
messages goes to new ``.v2`` topics, never into these.
"""

from contract.changes import CHANGE_TYPES

TOPIC_VERSION = 1

#: The entity types that have a topic, in a stable order.
ENTITY_TYPES: tuple[str, ...] = tuple(dict.fromkeys(et for et, _ in CHANGE_TYPES.values()))

ROADMAP_CHANGES = "roadmap-changes"
#: The infix of the current-state topics.
STATE = "state"


def entity_topic(prefix: str, entity_type: str) -> str:
    """The topic of every change of one entity type, e.g. ``pdl.feature.v1``."""
    return f"{prefix}.{entity_type}.v{TOPIC_VERSION}"


def roadmap_topic(prefix: str) -> str:
    """The topic of derived roadmap changes, e.g. ``pdl.roadmap-changes.v1``."""
    return f"{prefix}.{ROADMAP_CHANGES}.v{TOPIC_VERSION}"


def state_topic(prefix: str, entity_type: str) -> str:
    """The compacted topic of one entity type's current states, e.g. ``pdl.feature.state.v1``."""
    return f"{prefix}.{entity_type}.{STATE}.v{TOPIC_VERSION}"


def state_topics(prefix: str) -> list[str]:
    """Every current-state topic for ``prefix``."""
    return [state_topic(prefix, entity_type) for entity_type in ENTITY_TYPES]


def is_state_topic(topic: str) -> bool:
    """Whether ``topic`` is a current-state topic (compacted) rather than a change topic."""
    return topic.endswith(f".{STATE}.v{TOPIC_VERSION}")


def entity_topics(prefix: str) -> list[str]:
    """Every entity topic for ``prefix``."""
    return [entity_topic(prefix, entity_type) for entity_type in ENTITY_TYPES]


def all_topics(prefix: str) -> list[str]:
    """Every topic the relay publishes to: changes, roadmap changes, current states."""
    return [*entity_topics(prefix), roadmap_topic(prefix), *state_topics(prefix)]
