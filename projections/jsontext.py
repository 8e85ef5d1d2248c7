"""``json.dumps`` (default settings, optionally ``sort_keys``) with the C encoder made once.

``json.dumps`` builds a new C encoder and a circular-reference registry on every call; the
projections encode two or three small values per change. These give the same text for the
same values (plain JSON data, which is all a change holds; they skip the circular check).
"""

import json
from json import encoder
from typing import Any

_DEFAULT = json.JSONEncoder()
_c_make_encoder: Any = getattr(encoder, "c_make_encoder", None)


def _made(sort_keys: bool) -> Any:
    if _c_make_encoder is None:  # no C accelerator: the library path
        return None
    return _c_make_encoder(None, _DEFAULT.default, encoder.encode_basestring_ascii, None,
                           ": ", ", ", sort_keys, False, True)


_PLAIN = _made(sort_keys=False)
_SORTED = _made(sort_keys=True)


def dumps(value: Any) -> str:
    """``json.dumps(value)``."""
    if _PLAIN is None or type(value) is str:
        return json.dumps(value)
    return "".join(_PLAIN(value, 0))


def dumps_sorted(value: Any) -> str:
    """``json.dumps(value, sort_keys=True)``."""
    if _SORTED is None or type(value) is str:
        return json.dumps(value, sort_keys=True)
    return "".join(_SORTED(value, 0))
