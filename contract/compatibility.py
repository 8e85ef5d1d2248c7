"""Is the contract still compatible with the last released one?

``contract/released/v1/`` holds the payload schemas as they were last released (contract
1.0.0): messages of that shape sit in the topics forever (``retention.ms=-1``), and consumers
were written against it. Within v1 the only change allowed to a message is adding an optional
field (see the AsyncAPI description, "Versioning and compatibility"), so this check compares
each released schema with the current one structurally and reports everything else:

- a removed message type or field, a field made required or optional, a new required field;
- a changed ``type`` or ``const`` (narrowed or widened: either way some reader breaks);
- a removed (or added) ``enum`` value;
- a tightened constraint (a higher ``minimum``, a lower ``maxLength``, a new ``pattern`` or
  ``format``, ``additionalProperties: false``...) and a loosened one (old readers that validate
  would refuse the new messages);
- any other change of a keyword that is not documentation (``title``, ``description``...).

``python -m contract.compatibility`` prints what breaks (exit 1) or nothing (exit 0);
``--release`` also copies the current schemas into ``contract/released/v1/``: run it when a
contract version is released.
"""

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.generate import schemas

RELEASED_DIR = Path(__file__).parent / "released" / "v1"

#: Keywords that document a schema without constraining a message.
DOCUMENTATION = frozenset({"title", "description", "examples", "$comment", "deprecated"})
#: Keywords whose value only constrains more as it grows, or as it shrinks.
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems",
                          "minProperties"})
UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems",
                          "maxProperties"})
#: Keywords whose value is one subschema, or a list or a map of them.
SUBSCHEMA = frozenset({"items", "additionalProperties", "contains", "not", "propertyNames",
                       "if", "then", "else", "unevaluatedProperties", "unevaluatedItems"})
SUBSCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
SUBSCHEMA_MAPS = frozenset({"$defs", "patternProperties", "dependentSchemas"})

_ABSENT: Any = object()


@dataclass(frozen=True)
class Break:
    """One incompatible change: where (schema file and JSON pointer), what kind, and how."""

    schema: str
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.schema} {self.path or '/'}: {self.kind}: {self.detail}"


def breaking_changes(released: Mapping[str, Any], current: Mapping[str, Any]) -> list[Break]:
    """Every incompatible change from ``released`` to ``current`` (schemas by file name).
    A new schema (a new message type) is compatible; a removed one is not."""
    found = []
    for name, old in sorted(released.items()):
        if name not in current:
            found.append(Break(name, "", "removed message type", f"{name} is no longer published"))
            continue
        found += [Break(name, path, kind, detail)
                  for path, kind, detail in compare(old, current[name])]
    return found


def compare(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """``(JSON pointer, kind, detail)`` for each incompatible change from schema ``old`` to
    schema ``new``."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            yield path, "changed type", f"{_show(old)} -> {_show(new)}"
        return
    yield from _properties(old, new, path)
    yield from _required(old, new, path)
    for key in sorted((old.keys() | new.keys()) - DOCUMENTATION - {"properties", "required"}):
        yield from _keyword(key, old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}/{key}")


def _properties(old: dict[str, Any], new: dict[str, Any], path: str
                ) -> Iterator[tuple[str, str, str]]:
    before, after = old.get("properties", {}), new.get("properties", {})
    for name, schema in before.items():
        where = f"{path}/properties/{name}"
        if name not in after:
            yield where, "removed field", f"{name} is gone"
        else:
            yield from compare(schema, after[name], where)
    for name in after.keys() - before.keys():
        where = f"{path}/properties/{name}"
        if name in new.get("required", ()):
            yield where, "new required field", f"{name} is required; older messages lack it"
        elif old.get("additionalProperties") is False:
            yield where, "loosened constraint", f"{name} added to a closed object"


def _required(old: dict[str, Any], new: dict[str, Any], path: str
              ) -> Iterator[tuple[str, str, str]]:
    before, after = set(old.get("required", ())), set(new.get("required", ()))
    known = old.get("properties", {})
    for name in sorted(after - before):
        if name in known or name not in new.get("properties", {}):
            yield f"{path}/required", "new required field", f"{name} made required"
    for name in sorted(before - after):
        if name in new.get("properties", {}):
            yield f"{path}/required", "field made optional", f"{name} may now be absent"


def _keyword(key: str, old: Any, new: Any, path: str) -> Iterator[tuple[str, str, str]]:
    if old == new:
        return
    if key in SUBSCHEMA and isinstance(old, dict) and isinstance(new, dict):
        yield from compare(old, new, path)
    elif key in SUBSCHEMA_LISTS and _lists_of_same_length(old, new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from compare(a, b, f"{path}/{index}")
    elif key in SUBSCHEMA_MAPS and isinstance(old, dict) and isinstance(new, dict):
        for name in old:
            if name not in new:
                yield f"{path}/{name}", "loosened constraint", f"{key} {name} removed"
            else:
                yield from compare(old[name], new[name], f"{path}/{name}")
        for name in new.keys() - old.keys():
            yield f"{path}/{name}", "tightened constraint", f"{key} {name} added"
    elif key == "type":
        yield path, "changed type", _type_change(old, new)
    elif key == "const" and _ABSENT not in (old, new):
        yield path, "changed type", f"const {_show(old)} -> {_show(new)}"
    elif key in ("$id", "$schema"):
        yield path, "changed identity", f"{key} {_show(old)} -> {_show(new)}"
    elif key == "enum":
        yield from _enum(old, new, path)
    else:
        yield path, _constraint_change(key, old, new), f"{key} {_show(old)} -> {_show(new)}"


def _lists_of_same_length(old: Any, new: Any) -> bool:
    return isinstance(old, list) and isinstance(new, list) and len(old) == len(new)


def _type_change(old: Any, new: Any) -> str:
    before, after = _types(old), _types(new)
    if after < before:
        return f"narrowed: {sorted(before)} -> {sorted(after)}"
    if after > before:
        return f"widened: {sorted(before)} -> {sorted(after)}"
    return f"{_show(old)} -> {_show(new)}"


def _types(value: Any) -> set[str]:
    if value is _ABSENT:
        return {"array", "boolean", "integer", "null", "number", "object", "string"}
    return {value} if isinstance(value, str) else set(value)


def _enum(old: Any, new: Any, path: str) -> Iterator[tuple[str, str, str]]:
    if old is _ABSENT:
        yield path, "tightened constraint", f"enum {_show(new)} added"
        return
    if new is _ABSENT:
        yield path, "loosened constraint", "enum removed"
        return
    for value in old:
        if value not in new:
            yield path, "removed enum value", _show(value)
    for value in new:
        if value not in old:
            yield path, "added enum value", f"{_show(value)} (older readers do not know it)"


def _constraint_change(key: str, old: Any, new: Any) -> str:
    if old is _ABSENT or new is False:
        return "tightened constraint"
    if new is _ABSENT or old is False:
        return "loosened constraint"
    numbers = isinstance(old, int | float) and isinstance(new, int | float)
    if numbers and key in LOWER_BOUNDS:
        return "tightened constraint" if new > old else "loosened constraint"
    if numbers and key in UPPER_BOUNDS:
        return "tightened constraint" if new < old else "loosened constraint"
    return "changed constraint"


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value)


# Files


def released_schemas(directory: Path = RELEASED_DIR) -> dict[str, Any]:
    """The released schemas, by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(directory.glob("*.json"))}


def release(schemas: Mapping[str, Any], directory: Path = RELEASED_DIR) -> None:
    """Record ``schemas`` as the released contract (schema files only ever get added)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas.items():
        text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        (directory / name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", action="store_true",
                        help="if compatible, record the current schemas as released")
    args = parser.parse_args(argv)
    current = schemas()
    found = breaking_changes(released_schemas(), current)
    for item in found:
        print(f"breaking: {item}")
    if found:
        print("within v1 only optional fields may be added: publish a .v2 type instead")
        return 1
    if args.release:
        release(current)
        print(f"recorded {len(current)} schemas in {RELEASED_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
