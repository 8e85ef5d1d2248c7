"""A small YAML writer for the generated AsyncAPI document (no YAML library needed).

Strings are written double-quoted with JSON escapes (valid YAML), multi-line strings as literal
blocks, so the output is unambiguous and stable byte for byte.
"""

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def to_yaml(value: dict[str, Any]) -> str:
    """``value`` (dicts, lists, strings, numbers, booleans, None) as a YAML document."""
    return "\n".join(_block(value, 0)) + "\n"


def _key(key: str) -> str:
    if _PLAIN_KEY.match(key) and key.lower() not in _RESERVED:
        return key
    return json.dumps(key, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    return json.dumps(value, ensure_ascii=False)


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _block(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            lines.extend(_entry(f"{pad}{_key(str(key))}:", item, indent))
    else:
        for item in value:
            if _is_block(item):
                inner = _block(item, indent + 1)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.extend(_entry(f"{pad}-", item, indent))
    return lines


def _entry(head: str, item: Any, indent: int) -> list[str]:
    if _is_block(item):
        return [head, *_block(item, indent + 1)]
    if isinstance(item, str) and "\n" in item:
        pad = "  " * (indent + 1)
        body = [f"{pad}{line}" if line else "" for line in item.rstrip("\n").split("\n")]
        chomp = "|" if item.endswith("\n") and not item.endswith("\n\n") else "|-"
        return [f"{head} {chomp}", *body]
    return [f"{head} {_scalar(item)}"]
