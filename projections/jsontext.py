"""JSON text of the plain values a change holds, as the views store it: compact, and made
by orjson (faster than :func:`json.dumps`, and the views write JSON for every change).

Read back with :func:`json.loads` (or :func:`loads`), it gives the same values. Values
orjson refuses (integers beyond 64 bits, keys that are not text) are written by
:mod:`json` instead, with the same separators. Floats are finite: the domain refuses the
others, and orjson would write them as ``null``.
"""

import json
import re
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dumps_sorted(value: Any) -> str:
    """``value`` as compact JSON text, every object's keys sorted."""
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Any:
    """The value of JSON text the views stored. orjson reads an integer beyond 64 bits as a
    float: text with a number that long (or any run of as many digits) is read by json."""
    if _LONG_DIGITS.search(text) is None:
        return orjson.loads(text)
    return json.loads(text)


_LONG_DIGITS = re.compile("[0-9]{19}")  # not \d: slower, and only ASCII digits count
