"""The published contract as committed files, for whoever serves it (the HTTP API, under
``/contract``): the AsyncAPI document, its self-contained bundle, and the payload schemas,
found by file name or by ``$id`` (the ``ce_dataschema`` header of a message)."""

import json
from functools import cache
from pathlib import Path

CONTRACT_DIR = Path(__file__).parent
ASYNCAPI = "asyncapi.yaml"
BUNDLE = "asyncapi.bundle.yaml"


@cache
def asyncapi(*, bundled: bool = False) -> bytes:
    """The AsyncAPI document: the split one (its ``./schemas/*.json`` references resolve next
    to it) or the bundle (every schema inlined)."""
    return (CONTRACT_DIR / (BUNDLE if bundled else ASYNCAPI)).read_bytes()


@cache
def schema_files() -> dict[str, bytes]:
    """Every payload schema, by file name (``feature.scheduled.v1.json``)."""
    return {path.name: path.read_bytes()
            for path in sorted((CONTRACT_DIR / "schemas").glob("*.json"))}


@cache
def schema_ids() -> dict[str, str]:
    """The file name of every schema, by its ``$id`` (``urn:pdl:schema:feature.scheduled.v1``)."""
    return {json.loads(text)["$id"]: name for name, text in schema_files().items()}


def schema(name_or_id: str) -> bytes | None:
    """The schema with this file name or ``$id``, or None."""
    files = schema_files()
    return files.get(name_or_id) or files.get(schema_ids().get(name_or_id, ""))
