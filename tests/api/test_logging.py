"""Log lines: JSON a collector parses, one access line per request with its request id, the
caller's name and the route template; never a token."""

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.runtime import logs
from services.runtime.service import Runtime
from services.runtime.settings import LogSettings
from tests.api.driver import Api
from tests.api.processes import serving
from tests.api.test_processes import admin_token

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """Logging configured as ``pdl serve`` does with ``PDL_LOG__FORMAT=json``; the lines
    written so far, each parsed with ``json.loads``."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    written = io.StringIO()
    logs.configure(LogSettings(format="json", level="INFO"), written)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in written.getvalue().splitlines()]

    yield lines
    root.handlers[:] = handlers
    root.setLevel(level)


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "pdl.access"]


def test_each_request_writes_one_json_access_line_with_its_id_actor_route_and_status(
        client: TestClient, editor: Api, json_lines: Lines) -> None:
    product = editor.create_product()["id"]
    seen = len(json_lines())

    response = editor.http.get(f"/products/{product}",
                               headers=editor.headers(**{"X-Request-ID": "trace-42"}))

    [line] = access_lines(json_lines()[seen:])
    assert response.headers["X-Request-ID"] == "trace-42"
    assert line["request_id"] == "trace-42"
    assert line["actor"] == "alice"
    assert (line["method"], line["route"], line["status"]) == (
        "GET", "/products/{product_id}", 200)
    assert line["level"] == "INFO" and line["duration_ms"] >= 0
    assert "timestamp" in line and product not in json.dumps(line)


def test_a_request_without_a_usable_request_id_gets_a_new_one(
        client: TestClient, editor: Api, json_lines: Lines) -> None:
    unusable = ["two words", "x" * 129, "", "a/b"]

    answered = [client.get("/livez", headers={"X-Request-ID": given}) for given in unusable]
    plain = client.get("/livez")

    ids = [response.headers["X-Request-ID"] for response in [*answered, plain]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    assert len(set(ids)) == len(ids)


def test_no_token_ever_appears_in_a_log_line(
        client: TestClient, editor: Api, admin: Api, json_lines: Lines) -> None:
    created = admin.write("/tokens", {"name": "bob", "role": "viewer"})["token"]
    product = editor.create_product()["id"]
    editor.write(f"/products/{product}/vision", {"vision": "v2", "rationale": "r"},
                 **{"Idempotency-Key": "k-1"})
    editor.write(f"/products/{product}/vision", {"vision": "v2", "rationale": "r"},
                 **{"Idempotency-Key": "k-1"})
    Api(client, created).read("/products")
    Api(client, "pdl_not_a_valid_token_but_secret_all_the_same").get("/products")
    client.get("/products", headers={"Authorization": f"Bearer {editor.token}",
                                     "X-Request-ID": editor.token})

    lines = json_lines()
    written = json.dumps(lines)
    assert len(access_lines(lines)) == 7
    for secret in (editor.token, admin.token, created,
                   "pdl_not_a_valid_token_but_secret_all_the_same"):
        assert secret not in written


def test_a_line_written_while_serving_a_request_carries_its_request_id(
        client: TestClient, editor: Api, runtime: Runtime, json_lines: Lines,
        monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()["id"]
    answering = TestClient(client.app, raise_server_exceptions=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime.views, "roadmap", broken)
    failed = answering.get(f"/products/{product}/roadmap", headers=editor.headers())

    errors = [line for line in json_lines() if line["level"] == "ERROR"]
    [access] = [line for line in access_lines(json_lines()) if line["status"] == 500]
    assert failed.status_code == 500
    assert errors and all(line["request_id"] == access["request_id"] for line in errors)


@pytest.mark.slow
def test_pdl_serve_writes_json_lines_only_and_no_token(tmp_path: Path) -> None:
    with serving(tmp_path / "data", tmp_path / "logs", workers=1,
                 PDL_LOG__FORMAT="json") as server, httpx.Client(base_url=server.url) as http:
        token = admin_token(server.printed())
        api = Api(http, token)
        product = api.create_product()
        api.read(f"/products/{product['id']}/roadmap", after=product["position"])
        asked = http.get("/health", headers={"X-Request-ID": "probe-1"})
        server.process.terminate()
        assert server.process.wait(timeout=20) == 0
    stderr = next((tmp_path / "logs").glob("stderr-*.txt")).read_text()

    lines = [json.loads(line) for line in stderr.splitlines()]
    loggers = {line["logger"] for line in lines}
    access = [line for line in lines if line["logger"] == "pdl.access"]
    assert asked.headers["X-Request-ID"] == "probe-1"
    assert token not in stderr
    assert {"uvicorn.error", "services.runtime.service", "projections.feeding.catch_up"} \
        <= loggers
    assert "uvicorn.access" not in loggers
    assert [(line["method"], line["route"], line["actor"]) for line in access] == [
        ("POST", "/products", "admin"), ("GET", "/products/{product_id}/roadmap", "admin")]
    assert any(line["message"].startswith("Views catch-up stopped at position 1")
               for line in lines)
