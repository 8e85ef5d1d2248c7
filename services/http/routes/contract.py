"""The published Kafka contract, so that its references resolve; no token needed (it
describes the shape of the messages and holds no data, like ``/openapi.json``).

- ``GET /contract/asyncapi.yaml``: the AsyncAPI document; its ``./schemas/<file>``
  references resolve against this URL;
- ``GET /contract/asyncapi.bundle.yaml``: the same with every schema inlined;
- ``GET /contract/schemas``: every schema's file name and ``$id``;
- ``GET /contract/schemas/{name}``: one JSON Schema, by file name
  (``feature.scheduled.v1.json``) or by ``$id``, which is the ``ce_dataschema`` header of
  its messages (``urn:pdl:schema:feature.scheduled.v1``).
"""

from fastapi import APIRouter
from fastapi.responses import Response

from contract import documents
from services.http.problems import Problem

router = APIRouter(prefix="/contract", tags=["contract"])

#: RFC 9512 and the JSON Schema media type.
YAML = "application/yaml"
SCHEMA = "application/schema+json"
#: The contract changes only with a new version of the service.
CACHING = {"Cache-Control": "public, max-age=300"}


@router.get("/asyncapi.yaml", response_class=Response,
            responses={200: {"content": {YAML: {}}}})
def asyncapi() -> Response:
    """The AsyncAPI 3.0 document of the Kafka topics (schemas referenced beside it)."""
    return Response(documents.asyncapi(), media_type=YAML, headers=CACHING)


@router.get("/asyncapi.bundle.yaml", response_class=Response,
            responses={200: {"content": {YAML: {}}}})
def asyncapi_bundle() -> Response:
    """The AsyncAPI 3.0 document with every schema inlined: valid on its own."""
    return Response(documents.asyncapi(bundled=True), media_type=YAML, headers=CACHING)


@router.get("/schemas")
def schemas() -> dict[str, list[dict[str, str]]]:
    """Every payload schema: its `$id` (the messages' `ce_dataschema`) and where to get it."""
    return {"items": [{"id": schema_id, "url": f"/contract/schemas/{name}"}
                      for schema_id, name in documents.schema_ids().items()]}


@router.get("/schemas/{name}", response_class=Response,
            responses={200: {"content": {SCHEMA: {}}}, 404: {"description": "No such schema"}})
def schema(name: str) -> Response:
    """One payload schema (JSON Schema 2020-12), by file name or by `$id` (`ce_dataschema`)."""
    text = documents.schema(name)
    if text is None:
        raise Problem(404, "not-found", "No such schema",
                      f"No schema is named {name!r}: GET /contract/schemas lists them.")
    return Response(text, media_type=SCHEMA, headers=CACHING)
