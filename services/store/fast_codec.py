"""A faster JSON transcoder whose stored bytes are exactly eventsourcing's.

eventsourcing's :class:`~eventsourcing.persistence.JSONTranscoder` encodes an event's state with
the :mod:`json` module (compact separators, ``ensure_ascii=False``) and calls back into Python
for every value it cannot encode natively (timestamps, UUIDs, dates), each becoming
``{"_type_": name, "_data_": encoded}``. :class:`FastJSONTranscoder` produces the same bytes with
orjson: one pass in Python turns the registered types into those same two-key dicts, then orjson
writes the whole structure in C.

Byte-identical output is the contract (so stores written before and after keep loading, and
anything hashing or comparing stored bytes sees no change). orjson formats a few values
differently from :mod:`json`, so those take the standard path for the whole event:

- floats below 1e-4 in magnitude (``1e-05`` vs ``1e-5``), NaN and the infinities (which
  :mod:`json` writes as ``NaN``/``Infinity`` and orjson as ``null``);
- integers beyond 64 bits (orjson refuses them);
- subclasses of the JSON types (``IntEnum``, ``str`` enums, ``OrderedDict``...), which
  :mod:`json` encodes by their base type and orjson by its own rules;
- dictionaries with keys that are not ``str``; unregistered types (so the error is the
  library's own :class:`~eventsourcing.persistence.TranscodingNotRegisteredError`); strings
  orjson rejects (lone surrogates).

Decoding is the library's own (:mod:`json` with the ``_type_``/``_data_`` hook): orjson parses
integers beyond 64 bits as floats, which would not round-trip.

Use it with ``TRANSCODER_TOPIC=services.store.fast_codec:FastJSONTranscoder`` (see
:mod:`services.runtime.bootstrap`); transcodings are registered exactly as on ``JSONTranscoder``.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder

#: Topic for eventsourcing's ``TRANSCODER_TOPIC`` setting.
TOPIC = "services.store.fast_codec:FastJSONTranscoder"

#: Smallest float magnitude (other than zero) that orjson writes as :mod:`json` does.
_SMALLEST_SAME = 1e-4
_INF = float("inf")
#: Types that are known not to be subclasses of JSON types (json would not ask a transcoding).
_NOT_JSON = frozenset({UUID, datetime, date, Decimal})


class _Fallback(Exception):
    """Something in the object is not written identically by orjson: use :mod:`json`."""


class FastJSONTranscoder(JSONTranscoder):
    """:class:`JSONTranscoder` whose ``encode`` runs in orjson; same bytes, same decoding."""

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._prepare(obj))
        except (_Fallback, orjson.JSONEncodeError, RecursionError):
            return super().encode(obj)

    def _prepare(self, o: Any) -> Any:
        """``o`` with registered types replaced by their ``_type_``/``_data_`` dicts."""
        t = type(o)
        if t is str or o is None or t is bool:
            return o
        if t is float:
            if o == 0.0 or _SMALLEST_SAME <= abs(o) < _INF:
                return o
            raise _Fallback
        if t is int:
            return o  # beyond 64 bits orjson raises JSONEncodeError: fallback
        if t is dict:
            types = self.types
            prepared = {}
            for key, value in o.items():
                if type(key) is not str:
                    raise _Fallback
                vt = type(value)  # the common cases inline: this loop is the hot path
                if (vt is str or value is None or vt is bool or vt is int
                        or (vt is float and (value == 0.0 or _SMALLEST_SAME <= abs(value) < _INF))):
                    prepared[key] = value
                elif (transcoding := types.get(vt)) is not None and vt in _NOT_JSON:
                    data = transcoding.encode(value)
                    prepared[key] = {"_type_": transcoding.name,
                                     "_data_": data if type(data) is str else self._prepare(data)}
                else:
                    prepared[key] = self._prepare(value)
            return prepared
        if t is list or t is tuple:
            return [item if type(item) is str else self._prepare(item) for item in o]
        transcoding = self.types.get(t)
        if transcoding is None or isinstance(o, str | int | float | list | tuple | dict):
            # Unregistered (json raises the library's error), or a subclass of a JSON type
            # that json encodes by its base type without asking the transcodings.
            raise _Fallback
        return {"_type_": transcoding.name, "_data_": self._prepare(transcoding.encode(o))}
