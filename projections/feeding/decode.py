"""Stored events straight to :class:`~contract.changes.Change`, without domain event objects.

``change_from_event(app.mapper.to_domain_event(n))`` decodes the JSON with a Python hook
called for every object, turns ids, instants and dates into objects, builds the domain event,
and then turns those objects back into text for the change. :class:`ChangeDecoder` parses
the JSON in C alone (orjson) and turns the library's ``{"_type_": ..., "_data_": ...}`` values
straight into the text a change holds. It gives exactly the same :class:`Change`
(``tests/projections/test_decode.py`` checks every change type); whatever it does not know
for certain to be the same (a cipher or compressor, a non-JSON transcoder, an event class
with upcasting, a transcoding or an envelope value of another shape, JSON that orjson reads
differently from :mod:`json`) takes the library path.
"""

import logging
import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    Notification,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import resolve_topic

from contract.changes import (
    CHANGE_TYPES,
    ENVELOPE_FIELDS,
    SCHEMA_VERSION,
    Change,
    cause,
    change_from_event,
    event_id_text,
)
from projections.intervals import FIXED_WIDTH_UTC

log = logging.getLogger(__name__)


class _Slow(Exception):
    """Not certainly decoded as the library would: take the library's path."""


def _uuid(data: str) -> str:
    """``str(UUID(data))``; the library stores ``uuid.hex``, which only needs hyphens.

    The same few ids (products, releases, features) come back in event after event, so
    their text is remembered, up to a bound.
    """
    text = _UUID_TEXTS.get(data)
    if text is None:
        if len(data) == 32 and _HEX32.fullmatch(data):
            text = f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
        else:
            text = str(UUID(data))
        if len(_UUID_TEXTS) >= _UUID_TEXTS_KEPT:
            _UUID_TEXTS.clear()
        _UUID_TEXTS[data] = text
    return text


_HEX32 = re.compile("[0-9a-f]{32}")
_UUID_TEXTS: dict[str, str] = {}
_UUID_TEXTS_KEPT = 10_000
def _datetime(data: Any) -> str:
    parsed = datetime.fromisoformat(data)
    if parsed.microsecond and FIXED_WIDTH_UTC.fullmatch(data):
        return data  # already what isoformat() gives (it omits zero microseconds)
    return parsed.isoformat()


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
        return self.decode(position, notification.originator_id,
                           notification.originator_version, notification.topic,
                           notification.state)

    def decode(self, position: int, originator_id: UUID | str, version: int, topic: str,
               state: bytes) -> Change | None:
        """The stored event given by its columns, as :meth:`__call__` decodes it.

        ``originator_id`` is a UUID, or the text a SQLite store keeps for one (``uuid.hex``,
        when its ids are UUIDs): a rebuild reads the rows themselves, without the library
        making a UUID and a notification of each (see :mod:`projections.feeding.rebuild`).
        """
        try:
            kind = self._topics[topic]
        except KeyError:
            kind = self._topics[topic] = self._kind(topic)
        if kind is _UNPUBLISHED:
            log.debug("Not projecting unpublished event %s at %d", topic, position)
            return None
        if kind is not None:
            try:
                return self._fast_change(position, originator_id, version, state, kind)
            except _Slow:
                pass
        if type(originator_id) is str:
            originator_id = UUID(originator_id)
        return self._slow_change(Notification(id=position, originator_id=originator_id,
                                              originator_version=version, topic=topic,
                                              state=state), position)

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

    def _fast_change(self, position: int, originator_id: UUID | str, version: int,
                     stored: bytes, kind: tuple[str, str]) -> Change:
        try:
            state = orjson.loads(stored)
        except orjson.JSONDecodeError:
            raise _Slow from None  # e.g. NaN, which json reads and orjson refuses
        if type(state) is not dict or "class_version" in state:
            raise _Slow
        entity = _entity_text(originator_id)
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
                or not _ONLY_TEXT.issuperset(map(type, evidence)):
            raise _Slow
        product = (_id_text(state["product_id"], as_text) if "product_id" in state
                   else None)  # only a product's creation lacks it
        decision_id = state.get("decision_id")
        decision = _id_text(decision_id, as_text) if decision_id else None
        return _change(
            event_id=event_id_text(entity, version),
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
            data={k: v if type(v) in _SAME else text(v)
                  for k, v in state.items() if k not in ENVELOPE_FIELDS},
            log_position=position,
            schema_version=SCHEMA_VERSION,
            correlation_id=_optional_text(state.get("correlation_id")),
            caused_by=cause(state.get("caused_by")),
            traceparent=_optional_text(state.get("traceparent")),
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
        if t is float and not -_BEYOND_64_BITS < value < _BEYOND_64_BITS:
            # orjson reads an integer too large for 64 bits as a float; json as an int.
            raise _Slow
        return value


#: JSON values that decode to themselves (floats are checked by ``ChangeDecoder._text``).
_SAME = frozenset({str, int, bool, type(None)})
_ONLY_TEXT = frozenset({str})
_BEYOND_64_BITS = 2.0**63


def _optional_text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _Slow


def _change(**fields: Any) -> Change:
    """``Change(**fields)``, every field given, more cheaply: a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__``; this fills the instance's
    ``__dict__`` at once, in field order, as orjson serializes it (``test_decode.py``
    compares with the library's, ``test_relay_bytes.py`` the published bytes)."""
    change: Change = _new(Change)
    change.__dict__.update(fields)
    return change


_new = object.__new__


def _entity_text(originator_id: UUID | str) -> str:
    """``str(UUID)`` of an originator id given as a UUID or as the store's ``uuid.hex``."""
    if type(originator_id) is str:
        try:
            return _uuid(originator_id)
        except ValueError:
            raise _Slow from None  # not a UUID: the library decides what that means
    if type(originator_id) is UUID:
        return str(originator_id)
    raise _Slow


def _known(transcoding: Any) -> bool:
    """Whether ``transcoding`` is exactly the library's, or a date transcoding that stores
    ISO dates (the store's ``DateAsISO``: checked by what it does, as this layer does not
    import the store)."""
    name = type(transcoding).__name__
    if name == "UUIDAsHex":
        return type(transcoding) is UUIDAsHex
    if name == "DatetimeAsISO":
        return type(transcoding) is DatetimeAsISO
    return _stores_iso_dates(transcoding)


def _stores_iso_dates(transcoding: Any) -> bool:
    probe = date(2001, 2, 3)
    try:
        return (transcoding.type is date and transcoding.encode(probe) == "2001-02-03"
                and transcoding.decode("2001-02-03") == probe)
    except Exception:
        return False


def _id_text(value: Any, as_text: dict[str, Any]) -> str:
    """An id envelope field (a UUID in the event) as ``str(uuid)``."""
    if (type(value) is not dict or len(value) != 2
            or as_text.get(str(value.get("_type_"))) is not _uuid
            or type(value.get("_data_")) is not str):
        raise _Slow
    return _uuid(value["_data_"])
