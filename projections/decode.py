"""Stored events straight to :class:`~contract.changes.Change`, without domain event objects.

``change_from_event(app.mapper.to_domain_event(n))`` decodes the JSON with a Python hook
called for every object, turns ids, instants and dates into objects, builds the domain event,
and then turns those objects back into text for the change. :class:`ChangeDecoder` parses
the JSON in C alone and turns the library's ``{"_type_": ..., "_data_": ...}`` values straight
into the text a change holds. It gives exactly the same :class:`Change`
(``tests/projections/test_decode.py`` checks every change type); whatever it does not know
for certain to be the same (a cipher or compressor, a non-JSON transcoder, an event class
with upcasting, a transcoding or an envelope value of another shape) takes the library path.
"""

import json
import logging
import re
from datetime import date, datetime
from hashlib import sha1
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import resolve_topic

from contract.changes import (
    CHANGE_TYPES,
    ENVELOPE_FIELDS,
    EVENT_ID_NAMESPACE,
    Change,
    change_from_event,
)
from services.application import DateAsISO

log = logging.getLogger(__name__)


class _Slow(Exception):
    """Not certainly decoded as the library would: take the library's path."""


def _uuid(data: Any) -> str:
    """``str(UUID(data))``; the library stores ``uuid.hex``, which only needs hyphens."""
    if len(data) == 32 and _HEX32.fullmatch(data):
        return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
    return str(UUID(data))


_HEX32 = re.compile("[0-9a-f]{32}")
_NAMESPACE = EVENT_ID_NAMESPACE.bytes
_VERSION_5 = ~(0xC000 << 48) & ~(0xF000 << 64)
_VARIANT_VERSION_5 = (0x8000 << 48) | (5 << 76)


def _event_id(entity_id: str, version: int) -> str:
    """``str(contract.changes.event_id(UUID(entity_id), version))`` (``uuid.uuid5``, inlined),
    for an ``entity_id`` that is ``str`` of a UUID."""
    digest = sha1(_NAMESPACE + f"{entity_id}:{version}".encode(), usedforsecurity=False).digest()
    h = "%032x" % (int.from_bytes(digest[:16], "big") & _VERSION_5 | _VARIANT_VERSION_5)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _datetime(data: Any) -> str:
    return datetime.fromisoformat(data).isoformat()


def _date(data: Any) -> str:
    return date.fromisoformat(data).isoformat()


#: Transcoding class name -> its ``_data_`` as the text ``contract.changes.to_json`` gives.
_AS_TEXT = {"UUIDAsHex": _uuid, "DatetimeAsISO": _datetime, "DateAsISO": _date}
_UNPUBLISHED = ("", "")


class ChangeDecoder:
    """Decodes a notification (a stored event with its position) to a :class:`Change`, or
    None for an event that is not published (no change type)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder: Any = mapper.transcoder
        self._fast = (not mapper.cipher and not mapper.compressor
                      and isinstance(transcoder, JSONTranscoder)
                      and type(transcoder).decode is JSONTranscoder.decode
                      and type(transcoder)._decode_obj is JSONTranscoder._decode_obj)
        self._as_text: dict[str, Any] = {}
        if self._fast:
            for name, transcoding in transcoder.names.items():
                convert = _AS_TEXT.get(type(transcoding).__name__)
                if convert is not None and _known(transcoding):
                    self._as_text[name] = convert
        #: topic -> (entity type, change type), _UNPUBLISHED, or None (library path).
        self._topics: dict[str, tuple[str, str] | None] = {}

    def __call__(self, notification: StoredEvent, position: int) -> Change | None:
        topic = notification.topic
        try:
            kind = self._topics[topic]
        except KeyError:
            kind = self._topics[topic] = self._kind(topic)
        if kind is _UNPUBLISHED:
            log.debug("Not projecting unpublished event %s at %d", topic, position)
            return None
        if kind is not None:
            try:
                return self._fast_change(notification, position, kind)
            except _Slow:
                pass
        return self._slow_change(notification, position)

    def _kind(self, topic: str) -> tuple[str, str] | None:
        cls = resolve_topic(topic)
        kind = CHANGE_TYPES.get(cls)
        if kind is None:
            return _UNPUBLISHED
        if not self._fast or getattr(cls, "class_version", 1) != 1:
            return None
        return kind

    def _slow_change(self, notification: StoredEvent, position: int) -> Change | None:
        event = self.mapper.to_domain_event(notification)
        if type(event) not in CHANGE_TYPES:
            log.debug("Not projecting unpublished event %r at %d", type(event), position)
            return None
        return change_from_event(event, position)  # type: ignore[arg-type]

    def _fast_change(self, notification: StoredEvent, position: int,
                     kind: tuple[str, str]) -> Change:
        state = json.loads(notification.state.decode("utf8"))
        if type(state) is not dict or "class_version" in state:
            raise _Slow
        entity_id = notification.originator_id
        if type(entity_id) is not UUID:
            raise _Slow
        version = notification.originator_version
        as_text = self._as_text
        text = self._text
        timestamp = state.get("timestamp")
        if type(timestamp) is not dict or len(timestamp) != 2 or \
                as_text.get(str(timestamp.get("_type_"))) is not _datetime:
            raise _Slow
        actor = state.get("actor")
        rationale = state.get("rationale", "")
        evidence = state.get("evidence", [])
        if type(actor) is not str or type(rationale) is not str or type(evidence) is not list \
                or any(type(e) is not str for e in evidence):
            raise _Slow
        product = (_id_text(state["product_id"], as_text) if "product_id" in state
                   else None)  # only a product's creation lacks it
        decision_id = state.get("decision_id")
        decision = _id_text(decision_id, as_text) if decision_id else None
        entity = str(entity_id)
        return Change(
            event_id=_event_id(entity, version),
            type=kind[1],
            entity_type=kind[0],
            entity_id=entity,
            entity_version=version,
            product_id=entity if product is None else product,
            occurred_at=_datetime(timestamp["_data_"]),
            actor=actor,
            rationale=rationale,
            evidence=evidence,
            decision_id=decision,
            data={k: text(v) for k, v in state.items() if k not in ENVELOPE_FIELDS},
            log_position=position,
        )

    def _text(self, value: Any) -> Any:
        """A decoded JSON value as ``to_json(library decode)`` would give it."""
        t = type(value)
        if t is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                convert = self._as_text.get(value["_type_"])
                if convert is None or type(value["_data_"]) is not str:
                    raise _Slow  # another transcoding (or an error): the library decides
                return convert(value["_data_"])
            return {k: self._text(v) for k, v in value.items()}
        if t is list:
            return [self._text(v) for v in value]
        return value


def _known(transcoding: Any) -> bool:
    """Whether ``transcoding`` is exactly the library's (or our date) transcoding."""
    name = type(transcoding).__name__
    if name == "UUIDAsHex":
        return type(transcoding) is UUIDAsHex
    if name == "DatetimeAsISO":
        return type(transcoding) is DatetimeAsISO
    return type(transcoding) is DateAsISO


def _id_text(value: Any, as_text: dict[str, Any]) -> str:
    """An id envelope field (a UUID in the event) as ``str(uuid)``."""
    if (type(value) is not dict or len(value) != 2
            or as_text.get(str(value.get("_type_"))) is not _uuid
            or type(value.get("_data_")) is not str):
        raise _Slow
    return _uuid(value["_data_"])
