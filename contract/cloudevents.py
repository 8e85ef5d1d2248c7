"""CloudEvents 1.0 in Kafka binary mode: attributes in ``ce_*`` headers, the data as the JSON value.

Every published message is built and read here, so the service and its Kafka-fed projections
agree on one format:

- ``ce_specversion`` ``1.0``; ``ce_id`` the stable id of the change (the same on every
  re-publish, so consumers can drop duplicates); ``ce_source`` ``/pdl/products/<product id>``;
  ``ce_type`` ``com.pdl.<type>.v1`` (e.g. ``com.pdl.feature.scheduled.v1``); ``ce_time`` when
  the change happened; ``ce_subject`` the entity's id; ``ce_dataschema`` the ``$id`` of the
  value's JSON Schema (``urn:pdl:schema:<type>.v1``, see :func:`dataschema`); ``content-type``
  ``application/json``.
- The key is the entity id on the entity topics and the product id on the roadmap-changes topic.
- ``ce_traceparent`` (the CloudEvents distributed-tracing extension): the W3C trace context
  of the request that made the change, on its messages, when the request had one.
- On the current-state topics (:mod:`contract.states`) the key is the entity id and ``ce_id``
  the state message's own stable id (uuid5 of the change's).
"""

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeVar

import orjson

from contract import changes, roadmap_changes, states
from contract.changes import Change
from contract.roadmap_changes import RoadmapChange, roadmap_change_from
from contract.states import EntityState
from contract.topics import entity_topic, roadmap_topic, state_topic

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
TYPE_PREFIX = "com.pdl."
SOURCE_PREFIX = "/pdl/products/"
SCHEMA_ID_PREFIX = "urn:pdl:schema:"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "content-type")

Headers = Sequence[tuple[str, bytes | None]]
T = TypeVar("T", Change, RoadmapChange)


class NotOurMessage(ValueError):
    """A Kafka record that is not a CloudEvent of this contract (or not of the expected kind)."""


@dataclass(frozen=True)
class KafkaMessage:
    """One record ready to be produced: topic, key, headers and value, all bytes."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        """The value of header ``name`` as text."""
        return dict(self.headers)[name].decode()


@dataclass(frozen=True)
class CloudEvent:
    """A decoded message: its CloudEvents attributes (``ce_`` stripped) and its JSON data."""

    attributes: dict[str, str]
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return self.attributes["type"]


def ce_type(public_type: str, version: int) -> str:
    """The CloudEvents type of a public message type, e.g. ``com.pdl.feature.scheduled.v1``."""
    return f"{TYPE_PREFIX}{public_type}.v{version}"


def dataschema(public_type: str, version: int) -> str:
    """The CloudEvents ``dataschema`` of a message type: the ``$id`` of its JSON Schema, e.g.
    ``urn:pdl:schema:feature.scheduled.v1``. An absolute URI (as the attribute requires) that
    names the schema, not a host: the same on every publish wherever the service runs; the
    service resolves it at ``GET /contract/schemas/<dataschema>``."""
    return f"{SCHEMA_ID_PREFIX}{public_type}.v{version}"


def ce_source(product_id: str) -> str:
    """The CloudEvents source: the product the change belongs to."""
    return f"{SOURCE_PREFIX}{product_id}"


def change_message(change: Change, prefix: str) -> KafkaMessage:
    """The message for one change, on its entity's topic, keyed by the entity id."""
    return messages_for(change, prefix)[0]


def messages_for(change: Change, prefix: str, names: dict[str, Any] | None = None
                 ) -> list[KafkaMessage]:
    """Everything published for one change: its own message, then its roadmap change if any
    (with ``names``, the names behind its ids at that change, if known)."""
    # The relay's hot path: the header values both messages share are encoded once.
    entity_id = change.entity_id.encode()
    source = _ce_source(change.product_id)
    time = change.occurred_at.encode()
    own = _message(_entity_topic(prefix, change.entity_type), entity_id, change.event_id,
                   _kind(change.type, changes.SCHEMA_VERSION), source, time, entity_id,
                   change)
    roadmap_change = roadmap_change_from(change, names)
    published = [own] if roadmap_change is None else [
        own, _message(_roadmap_topic(prefix), change.product_id.encode(),
                      roadmap_change.change_id,
                      _kind(roadmap_change.type, roadmap_changes.SCHEMA_VERSION),
                      source, time, entity_id, roadmap_change)]
    if change.traceparent:
        for message in published:
            message.headers.append(("ce_traceparent", change.traceparent.encode()))
    return published


def state_message(state: EntityState, prefix: str) -> KafkaMessage:
    """The message of an entity's state after a change, on its compacted state topic, keyed
    by the entity id (published right after that change's own message)."""
    entity_id = state.entity_id.encode()
    return _message(_state_topic(prefix, state.entity_type), entity_id, state.state_id,
                    _kind(state.type, states.SCHEMA_VERSION), _ce_source(state.product_id),
                    state.occurred_at.encode(), entity_id, state)


# Header values and topic names repeat from message to message: each is encoded once.
_SPECVERSION_HEADER = ("ce_specversion", SPECVERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


@cache
def _entity_topic(prefix: str, entity_type: str) -> str:
    return entity_topic(prefix, entity_type)


@cache
def _roadmap_topic(prefix: str) -> str:
    return roadmap_topic(prefix)


@cache
def _state_topic(prefix: str, entity_type: str) -> str:
    return state_topic(prefix, entity_type)


@cache
def _kind(public_type: str, version: int) -> tuple[bytes, bytes]:
    """The encoded ``ce_type`` and ``ce_dataschema`` of a message type."""
    return ce_type(public_type, version).encode(), dataschema(public_type, version).encode()


@lru_cache(maxsize=4096)
def _ce_source(product_id: str) -> bytes:
    return ce_source(product_id).encode()


def _message(topic: str, key: bytes, event_id: str, kind: tuple[bytes, bytes], source: bytes,
             time: bytes, subject: bytes, data: Change | RoadmapChange | EntityState
             ) -> KafkaMessage:
    """One message; the headers in this order: ce_specversion, ce_id, ce_source, ce_type,
    ce_time, ce_subject, ce_dataschema, content-type."""
    return KafkaMessage(
        topic=topic,
        key=key,
        value=orjson.dumps(data),  # a dataclass: same JSON as its to_dict(), much faster
        headers=[_SPECVERSION_HEADER, ("ce_id", event_id.encode()), ("ce_source", source),
                 ("ce_type", kind[0]), ("ce_time", time), ("ce_subject", subject),
                 ("ce_dataschema", kind[1]), _CONTENT_TYPE_HEADER],
    )


def decode(headers: Headers, value: bytes | None) -> CloudEvent:
    """Read a binary-mode CloudEvent, refusing records that are not one of ours."""
    texts = {name: raw.decode() for name, raw in headers if raw is not None}
    missing = [name for name in REQUIRED_HEADERS if name not in texts]
    if missing:
        raise NotOurMessage(f"not a binary-mode CloudEvent: missing header(s) {missing}")
    if texts["ce_specversion"] != SPECVERSION or texts["content-type"] != CONTENT_TYPE:
        raise NotOurMessage(
            f"unsupported CloudEvent: specversion {texts['ce_specversion']}, "
            f"content-type {texts['content-type']}"
        )
    if not texts["ce_type"].startswith(TYPE_PREFIX) or value is None:
        raise NotOurMessage(f"not a message of this contract: type {texts['ce_type']}")
    attributes = {name.removeprefix("ce_"): text for name, text in texts.items()
                  if name.startswith("ce_")}
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise NotOurMessage(f"{texts['ce_type']} {texts['ce_id']}: value is not JSON") from error
    if not isinstance(data, dict):
        raise NotOurMessage(f"{texts['ce_type']} {texts['ce_id']}: value is not a JSON object")
    return CloudEvent(attributes=attributes, data=data)


def change_from_message(headers: Headers, value: bytes | None) -> Change:
    """The :class:`Change` carried by a message of an entity topic."""
    event = decode(headers, value)
    if event.type.startswith(f"{TYPE_PREFIX}roadmap."):
        raise NotOurMessage(f"a roadmap change, not an entity change: {event.type}")
    return _payload(Change, event, f".v{changes.SCHEMA_VERSION}")


def roadmap_change_from_message(headers: Headers, value: bytes | None) -> RoadmapChange:
    """The :class:`RoadmapChange` carried by a message of the roadmap-changes topic."""
    event = decode(headers, value)
    if not event.type.startswith(f"{TYPE_PREFIX}roadmap."):
        raise NotOurMessage(f"not a roadmap change: {event.type}")
    return _payload(RoadmapChange, event, f".v{roadmap_changes.SCHEMA_VERSION}")


def _payload(cls: type[T], event: CloudEvent, version_suffix: str) -> T:
    if not event.type.endswith(version_suffix):
        raise NotOurMessage(f"{event.type} is not a version this reader understands")
    # Within a major version fields are only ever added: ignore the ones this reader predates.
    try:
        return cls(**_known_fields(cls, event.data))
    except TypeError as error:  # a required field is missing
        raise NotOurMessage(f"{event.type} {event.attributes['id']}: {error}") from error


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names: Iterable[str] = (f.name for f in dataclasses.fields(cls))
    return {name: data[name] for name in names if name in data}
