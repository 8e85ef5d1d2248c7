"""The Kafka contract over HTTP: the AsyncAPI documents and every schema, without a token, so
that the split document's references and every message's ``ce_dataschema`` resolve."""

import json
import re
from urllib.parse import urljoin

import yaml
from fastapi.testclient import TestClient

from contract import generate
from contract.cloudevents import messages_for
from services.runtime.service import Runtime
from tests.kafka.streams import roadmap_history, stored_changes

BASE = "http://testserver"
#: RFC 3986: an absolute URI starts with its scheme (a URN's is "urn").
ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")


def test_the_asyncapi_documents_are_served_without_a_token_as_committed(
        client: TestClient) -> None:
    split = client.get("/contract/asyncapi.yaml")
    bundle = client.get("/contract/asyncapi.bundle.yaml")

    assert (split.status_code, bundle.status_code) == (200, 200)
    assert split.headers["content-type"] == "application/yaml"
    assert split.content == generate.ASYNCAPI_PATH.read_bytes()
    assert bundle.content == generate.BUNDLE_PATH.read_bytes()
    assert yaml.safe_load(bundle.content) == generate.asyncapi_bundle()


def test_every_reference_of_the_served_document_resolves_against_its_url(
        client: TestClient) -> None:
    url = f"{BASE}/contract/asyncapi.yaml"
    document = yaml.safe_load(client.get(url).content)
    payloads = [m["payload"]["schema"]["$ref"]
                for m in document["components"]["messages"].values()]

    for ref in payloads:
        answer = client.get(urljoin(url, ref))
        assert answer.status_code == 200, ref
        assert answer.headers["content-type"] == "application/schema+json"
        assert answer.json() == generate.schemas()[ref.removeprefix("./schemas/")]
    assert len(payloads) == len(generate.schemas())


def test_the_dataschema_of_every_message_is_the_id_of_the_schema_served_at_it(
        runtime: Runtime, client: TestClient) -> None:
    roadmap_history(runtime.app)
    for change in stored_changes(runtime.app):
        for message in messages_for(change, "pdl"):
            headers = dict(message.headers)
            dataschema = headers["ce_dataschema"].decode()
            assert ABSOLUTE_URI.match(dataschema), dataschema  # as CloudEvents requires
            served = client.get(f"/contract/schemas/{dataschema}")
            assert served.status_code == 200, dataschema
            assert served.json()["$id"] == dataschema
            assert served.json() == generate.schema_for_ce_type(headers["ce_type"].decode())


def test_the_schema_index_lists_every_id_with_its_url(client: TestClient) -> None:
    items = client.get("/contract/schemas").json()["items"]

    assert {item["id"] for item in items} == {s["$id"] for s in generate.schemas().values()}
    for item in items[:3]:
        assert client.get(item["url"]).json()["$id"] == item["id"]


def test_an_unknown_schema_is_a_404_problem_and_no_other_file_is_served(
        client: TestClient) -> None:
    for name in ("feature.scheduled.v9.json", "urn:pdl:schema:nothing.v1", "documents.py"):
        answer = client.get(f"/contract/schemas/{name}")
        assert answer.status_code == 404, name
        assert answer.headers["content-type"] == "application/problem+json"
        assert "GET /contract/schemas" in json.loads(answer.content)["detail"]
    for path in ("..%2Fgenerate.py", "%2E%2E%2Fcompatibility.py", "../../pyproject.toml"):
        assert client.get(f"/contract/schemas/{path}").status_code == 404, path
