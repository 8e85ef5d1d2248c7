"""Generate the published contract from the code: JSON Schemas and the AsyncAPI document.

``python -m contract.generate`` rewrites ``contract/schemas/*.json`` and ``contract/asyncapi.yaml``;
``python -m contract.generate --check`` only says whether the committed files are stale.

The payload schemas come from the :class:`~contract.changes.Change` and
:class:`~contract.roadmap_changes.RoadmapChange` envelopes, the annotations of the internal event
classes (for ``data``) and :data:`~contract.roadmap_changes.ROADMAP_TYPES` (for ``before``,
``after`` and ``details``).
"""

import argparse
import dataclasses
import json
import sys
import types
import typing
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from contract import changes, cloudevents, roadmap_changes
from contract.changes import CHANGE_TYPES, ENVELOPE_FIELDS, Change
from contract.roadmap_changes import ROADMAP_TYPES, RoadmapChange
from contract.topics import ENTITY_TYPES, ROADMAP_CHANGES, TOPIC_VERSION
from contract.yaml import to_yaml

CONTRACT_DIR = Path(__file__).parent
SCHEMA_DIR = CONTRACT_DIR / "schemas"
ASYNCAPI_PATH = CONTRACT_DIR / "asyncapi.yaml"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
DOCUMENT_VERSION = "1.0.0"

#: What each public change type means, for people reading the contract.
CHANGE_SUMMARIES: dict[str, str] = {
    "product.created": "A product was created with its vision, value proposition and owner.",
    "product.vision_revised": "A product's vision was revised (old and new vision).",
    "product.strategy_revised": "A product's strategy was revised (old and new strategy).",
    "product.retired": "A product was retired; it takes no new features or releases.",
    "feature.proposed": "A feature was proposed for a product.",
    "feature.status_changed": "A feature moved along its lifecycle (old and new status).",
    "feature.scheduled": "A feature was scheduled into a release, or moved there from "
                         "old_release_id.",
    "feature.unscheduled": "A feature was taken out of its release, back to the backlog.",
    "feature.priority_changed": "A feature's priority changed (higher is more important).",
    "feature.priority_scored": "A feature's priority was set from a score (RICE, WSJF, ...): "
                               "data.formula and data.inputs make it reproducible.",
    "feature.details_revised": "A feature's title, problem, business value or benefit was "
                               "revised; data.changes maps each field to its old and new value.",
    "feature.requirement_added": "A requirement with acceptance criteria was added to a feature.",
    "feature.requirement_revised": "A requirement's text or acceptance criteria were revised.",
    "feature.requirement_removed": "A requirement was removed from a feature.",
    "release.planned": "A release was planned with a target date.",
    "release.target_date_changed": "A release's target date changed: a slip (positive "
                                   "delta_days) or a pull-in (negative).",
    "release.feature_added": "A feature entered this release's scope (mirrors "
                             "feature.scheduled).",
    "release.feature_removed": "A feature left this release's scope (mirrors a move or "
                               "feature.unscheduled).",
    "release.shipped": "A release shipped on its actual date.",
    "release.cancelled": "A release was cancelled; its features went back to the backlog.",
    "decision.proposed": "A decision was proposed: context, options considered, the chosen "
                         "option, rationale, evidence and deciders.",
    "decision.accepted": "A decision was accepted; data.changes lists the roadmap changes "
                         "applied with it (each also published on its entity's topic).",
    "decision.rejected": "A proposed decision was rejected; it changed nothing.",
    "decision.superseded": "An accepted decision was superseded by a later one.",
    "decision.reversed": "An accepted decision's changes were reversed by a later decision.",
}


def change_summary(change_type: str) -> str:
    """What ``change_type`` means; a type added without a summary gets a plain one."""
    return CHANGE_SUMMARIES.get(change_type, f"A {change_type} change.")

#: Descriptions and formats of the envelope fields shared by every message.
ENVELOPE_DOCS: dict[str, dict[str, Any]] = {
    "event_id": {"format": "uuid", "description": "Stable id of the stored event; equals the "
                 "ce_id header. The same on every re-publish: drop duplicates by it."},
    "change_id": {"format": "uuid", "description": "Stable id of this roadmap change (uuid5 of "
                  "source_event_id); equals the ce_id header."},
    "type": {"description": "The public type of the message."},
    "entity_type": {"description": "The kind of entity that changed."},
    "entity_id": {"format": "uuid", "description": "The entity that changed; the message key "
                  "on the entity topics."},
    "entity_version": {"minimum": 1, "description": "The entity's version after this change "
                       "(1 = created). Per entity, messages arrive in this order."},
    "product_id": {"format": "uuid", "description": "The product the entity belongs to (a "
                   "product belongs to itself); the key on the roadmap-changes topic."},
    "occurred_at": {"format": "date-time", "description": "When the change was recorded "
                    "(RFC 3339, UTC); equals the ce_time header."},
    "actor": {"description": "Who made the change (the authenticated user)."},
    "rationale": {"description": "Why the change was made (empty for creations)."},
    "evidence": {"description": "Links or notes supporting the decision."},
    "decision_id": {"format": "uuid", "description": "The decision record that caused the "
                    "change, if any."},
    "data": {"description": "The fields of this change type; old_* fields hold the values "
             "before the change."},
    "log_position": {"description": "Position of the source event in the service's log. "
                     "Informative: Kafka does not order messages across entities."},
    "schema_version": {"description": "Major version of this message's schema."},
    "before": {"description": "The values before the change."},
    "after": {"description": "The values after the change."},
    "details": {"description": "Further facts about the change."},
    "source_event_id": {"format": "uuid", "description": "The event_id (and ce_id) of the "
                        "entity-topic message this roadmap change was derived from."},
    "source_type": {"description": "The public type of that source message."},
}


# JSON Schema from Python types


def json_type(annotation: Any) -> dict[str, Any]:
    """The JSON Schema of a value annotated ``annotation`` once encoded as in the contract."""
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"}, bool: {"type": "boolean"}, int: {"type": "integer"},
        float: {"type": "number"}, UUID: {"type": "string", "format": "uuid"},
        date: {"type": "string", "format": "date"},
        datetime: {"type": "string", "format": "date-time"}, Any: {},
    }
    if annotation in simple:
        return dict(simple[annotation])
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [json_type(a) for a in args if a is not type(None)]
        if len(options) == 1 and type(None) in args:
            return _nullable(options[0])
        return {"anyOf": options}
    if origin in (list, tuple):
        return {"type": "array", "items": json_type(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": json_type(args[1])}
    raise TypeError(f"no JSON Schema mapping for {annotation!r}: extend contract.generate")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if set(schema) <= {"type", "format"} and isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def object_schema(fields: dict[str, Any], *, docs: dict[str, dict[str, Any]] | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None,
                  optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An object schema whose properties are ``fields`` (name -> Python type)."""
    properties = {}
    for name, annotation in fields.items():
        override = (overrides or {}).get(name)
        prop = dict(override) if override is not None else json_type(annotation)
        doc = (docs or {}).get(name, {})
        if "format" in doc and prop.get("type") in ("string", ["string", "null"]):
            prop["format"] = doc["format"]
        for key, value in doc.items():
            if key != "format":
                prop.setdefault(key, value)
        properties[name] = prop
    return {
        "type": "object",
        "required": [name for name in fields if name not in optional],
        "properties": properties,
    }


def event_fields(event_class: type) -> dict[str, Any]:
    """The ``data`` fields of an internal event class: its fields minus the envelope."""
    hints = typing.get_type_hints(event_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(event_class)
            if f.name not in ENVELOPE_FIELDS}


def envelope_fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _document(schema_id: str, title: str, description: str, body: dict[str, Any]
              ) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": schema_id, "title": title, "description": description,
            **body}


def schema_id(public_type: str, version: int) -> str:
    return f"urn:pdl:schema:{public_type}.v{version}"


def schema_file(public_type: str, version: int) -> str:
    return f"{public_type}.v{version}.json"


def change_schema(event_class: type) -> dict[str, Any]:
    """The schema of the value of a message of one public change type."""
    entity_type, change_type = CHANGE_TYPES[event_class]
    version = changes.SCHEMA_VERSION
    data = object_schema(event_fields(event_class))
    body = object_schema(
        envelope_fields(Change), docs=ENVELOPE_DOCS, optional=frozenset({"log_position"}),
        overrides={
            "type": {"const": change_type}, "entity_type": {"const": entity_type},
            "schema_version": {"const": version}, "data": data,
        },
    )
    return _document(schema_id(change_type, version), f"{change_type} v{version}",
                     change_summary(change_type), body)


def roadmap_schema(name: str) -> dict[str, Any]:
    """The schema of the value of a message of one roadmap change type."""
    spec = ROADMAP_TYPES[name]
    version = roadmap_changes.SCHEMA_VERSION
    entity_type = spec.source_type.split(".")[0]
    body = object_schema(
        envelope_fields(RoadmapChange), docs=ENVELOPE_DOCS, optional=frozenset({"log_position"}),
        overrides={
            "type": {"const": name}, "entity_type": {"const": entity_type},
            "source_type": {"const": spec.source_type}, "schema_version": {"const": version},
            "before": _described("before", object_schema(spec.before)),
            "after": _described("after", object_schema(spec.after)),
            "details": _described("details", object_schema(spec.details)),
        },
    )
    return _document(schema_id(name, version), f"{name} v{version}", spec.summary, body)


def _described(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "description": ENVELOPE_DOCS[name]["description"]}


def schemas() -> dict[str, dict[str, Any]]:
    """Every payload schema, by file name (``<type>.v<N>.json``)."""
    result = {schema_file(t, changes.SCHEMA_VERSION): change_schema(cls)
              for cls, (_, t) in CHANGE_TYPES.items()}
    result.update({schema_file(name, roadmap_changes.SCHEMA_VERSION): roadmap_schema(name)
                   for name in ROADMAP_TYPES})
    return result


def schema_for_ce_type(ce_type: str) -> dict[str, Any]:
    """The payload schema of the messages whose ``ce_type`` header is ``ce_type``."""
    return schemas()[ce_type.removeprefix(cloudevents.TYPE_PREFIX) + ".json"]


def header_schema(ce_type: str, key_description: str) -> dict[str, Any]:
    """The CloudEvents binary-mode headers of messages of type ``ce_type``."""
    string = {"type": "string"}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
                     "content-type"],
        "properties": {
            "ce_specversion": {"const": cloudevents.SPECVERSION},
            "ce_id": string | {"format": "uuid", "description": "Stable id; the same on every "
                               "re-publish of this message. Drop duplicates by it."},
            "ce_source": string | {"pattern": f"^{cloudevents.SOURCE_PREFIX}[0-9a-f-]{{36}}$",
                                   "description": "/pdl/products/<product id>."},
            "ce_type": {"const": ce_type},
            "ce_time": string | {"format": "date-time"},
            "ce_subject": string | {"format": "uuid", "description": "The entity that changed."},
            "content-type": {"const": cloudevents.CONTENT_TYPE},
        },
        "description": f"CloudEvents 1.0, Kafka binary mode. Message key: {key_description}.",
    }


# AsyncAPI


VERSIONING = f"""\
Every change stored by the Product Decision Log, published from its committed event log.

## Topics (prefix configurable, default `pdl`)

- `{{prefix}}.<entity>.v{TOPIC_VERSION}` for each entity type ({", ".join(ENTITY_TYPES)}): \
every change of that entity type. Key: the entity id. Messages of one entity arrive in \
`entity_version` order.
- `{{prefix}}.{ROADMAP_CHANGES}.v{TOPIC_VERSION}`: one message per change that alters a \
roadmap (feature scheduled, moved, unscheduled, status changed; release slipped, pulled in, \
shipped, cancelled), with before/after values and the decision context. Key: the product id.

Topics keep their history forever (`retention.ms=-1`): consumers can replay from the start.

## Message format

CloudEvents 1.0 in Kafka binary mode: `ce_specversion`, `ce_id`, `ce_source`, `ce_type`, \
`ce_time`, `ce_subject` and `content-type: application/json` headers; the value is the JSON \
payload described by the message's JSON Schema (draft 2020-12, in `contract/schemas/`).

## Delivery

At least once. A re-published message carries the same `ce_id` (equal to the payload's \
`event_id` / `change_id`): drop duplicates by it. Order is guaranteed per key only; there is no \
order across entities or topics (`log_position` is informative, not a sort key).

## Versioning and compatibility

- The major version is part of the topic name (`.v1`), of every `ce_type` \
(`com.pdl.<type>.v1`) and of the payload's `schema_version`.
- Within v1 the only change allowed to an existing message is adding optional fields \
(to the envelope, `data`, `before`, `after` or `details`). Consumers must ignore fields they do \
not know. No field is ever removed, renamed, retyped, made required or given a new meaning.
- Anything else is a new major version: new `com.pdl.<type>.v2` types on new `.v2` topics, \
published alongside v1 for a deprecation period announced in this document.
- A new kind of change is a new `ce_type` (with its own schema) and bumps this document's \
minor version; consumers skip `ce_type` values they do not know.
"""


def _message_component(public_type: str, version: int, summary: str, key_description: str
                       ) -> dict[str, Any]:
    ce = cloudevents.ce_type(public_type, version)
    return {
        "name": public_type,
        "title": f"{public_type} v{version}",
        "summary": summary,
        "contentType": cloudevents.CONTENT_TYPE,
        "headers": header_schema(ce, key_description),
        "payload": {"schemaFormat": SCHEMA_FORMAT,
                    "schema": {"$ref": f"./schemas/{schema_file(public_type, version)}"}},
        "bindings": {"kafka": {"bindingVersion": "0.5.0",
                               "key": {"type": "string", "format": "uuid",
                                       "description": key_description}}},
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic and message."""
    messages: dict[str, dict[str, Any]] = {}
    by_channel: dict[str, list[str]] = {entity_type: [] for entity_type in ENTITY_TYPES}
    by_channel[ROADMAP_CHANGES] = []
    for entity_type, change_type in CHANGE_TYPES.values():
        key = f"{change_type}.v{changes.SCHEMA_VERSION}"
        messages[key] = _message_component(change_type, changes.SCHEMA_VERSION,
                                           change_summary(change_type), "the entity id")
        by_channel[entity_type].append(key)
    for name, spec in ROADMAP_TYPES.items():
        key = f"{name}.v{roadmap_changes.SCHEMA_VERSION}"
        messages[key] = _message_component(name, roadmap_changes.SCHEMA_VERSION, spec.summary,
                                           "the product id")
        by_channel[ROADMAP_CHANGES].append(key)

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel, keys in by_channel.items():
        channels[channel] = {
            "address": f"{{prefix}}.{channel}.v{TOPIC_VERSION}",
            "description": (
                f"Every change of a {channel}, keyed by its id." if channel != ROADMAP_CHANGES
                else "Roadmap changes derived from feature and release changes, keyed by "
                     "product id."
            ),
            "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
            "bindings": {"kafka": {"bindingVersion": "0.5.0",
                                   "topicConfiguration": {"retention.ms": -1,
                                                          "cleanup.policy": ["delete"]}}},
        }
        operations[f"publish.{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"The service publishes to {{prefix}}.{channel}.v{TOPIC_VERSION}.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Product Decision Log change stream", "version": DOCUMENT_VERSION,
                 "description": VERSIONING},
        "defaultContentType": cloudevents.CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "The development broker of deploy/kafka.sh."}},
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {"prefix": {"default": "pdl", "description":
                                      "The topic prefix (PDL_KAFKA__TOPIC_PREFIX)."}},
            "messages": messages,
        },
    }


# Files


def rendered() -> dict[Path, str]:
    """Every generated file and its exact content."""
    files = {SCHEMA_DIR / name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
             for name, schema in schemas().items()}
    files[ASYNCAPI_PATH] = "# Generated by `python -m contract.generate`: do not edit.\n" + to_yaml(
        asyncapi())
    return files


def stale_files() -> list[str]:
    """Generated files that differ from the committed ones, plus schema files nobody generates."""
    files = rendered()
    stale = [str(p) for p, text in files.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    stale += [str(p) for p in SCHEMA_DIR.glob("*.json") if p not in files]
    return sorted(stale)


def write() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    files = rendered()
    for path in SCHEMA_DIR.glob("*.json"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path}")
        if stale:
            print("run python -m contract.generate")
        return 1 if stale else 0
    write()
    print(f"wrote {len(rendered())} files under {CONTRACT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
