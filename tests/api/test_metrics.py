"""/metrics: Prometheus text, labelled by route template, with counters that move."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.http.app import create_app
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import ApiSettings, Settings
from tests.api.driver import Api
from tests.api.processes import serving
from tests.api.test_processes import admin_token

Labels = tuple[tuple[str, str], ...]


def scrape(http: httpx.Client | TestClient) -> dict[str, dict[Labels, float]]:
    """Every sample of ``/metrics``: name → labels → value."""
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


def value(samples: dict[str, dict[Labels, float]], name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def moved(before: dict[str, Any], after: dict[str, Any], name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_and_timed_by_route_template_never_by_raw_path(
        client: TestClient, editor: Api) -> None:
    product = editor.create_product()["id"]
    before = scrape(client)

    editor.read(f"/products/{product}")
    editor.read(f"/products/{product}")
    client.get(f"/nowhere/{product}")
    after = scrape(client)

    route = {"method": "GET", "route": "/products/{product_id}"}
    assert moved(before, after, "pdl_http_requests_total", **route, status="200") == 2
    assert moved(before, after, "pdl_http_request_duration_seconds_count", **route) == 2
    assert moved(before, after, "pdl_http_requests_total", method="GET", route="unmatched",
                 status="404") == 1
    labels = {v for series in after.values() for key in series for _, v in key}
    assert not any(product in label for label in labels)


def test_a_method_no_route_takes_is_counted_as_other(client: TestClient) -> None:
    before = scrape(client)

    client.request("BREW", "/products")
    after = scrape(client)

    assert sum(after["pdl_http_requests_total"].values()) - \
        sum(before.get("pdl_http_requests_total", {}).values()) == 2  # a scrape, the brew
    assert not any(("method", "BREW") in key for key in after["pdl_http_requests_total"])
    assert moved(before, after, "pdl_http_request_duration_seconds_count", method="other",
                 route="/products") == 1


def test_commands_are_counted_by_type_and_outcome(client: TestClient, editor: Api) -> None:
    product = editor.create_product()["id"]
    before = scrape(client)

    editor.write(f"/products/{product}/vision", {"vision": "v2", "rationale": "r"})
    stale = editor.post(f"/products/{product}/vision", {"vision": "v3", "rationale": "r"},
                        **{"If-Match": '"1"'})
    invalid = editor.post(f"/products/{product}/vision", {"vision": "v3"})
    for _ in range(2):
        editor.write(f"/products/{product}/retire", {"rationale": "Done"},
                     **{"Idempotency-Key": "retire-once"})
    refused = editor.post(f"/products/{product}/retire", {"rationale": "Again"})
    after = scrape(client)

    assert (stale.status_code, invalid.status_code, refused.status_code) == (412, 422, 409)
    counts = {(command, outcome): moved(before, after, "pdl_commands_total", command=command,
                                        outcome=outcome)
              for command, outcome in [("revise_vision", "ok"), ("revise_vision", "conflict"),
                                       ("revise_vision", "invalid"), ("retire_product", "ok"),
                                       ("retire_product", "replayed"),
                                       ("retire_product", "refused")]}
    assert set(counts.values()) == {1}, list(counts.items())


def test_group_commits_and_their_sizes_are_observed(client: TestClient, editor: Api) -> None:
    before = scrape(client)

    editor.create_product()
    editor.create_product()
    after = scrape(client)

    batches = moved(before, after, "pdl_group_commit_batch_size_count", queue="commands")
    commands = moved(before, after, "pdl_group_commit_batch_size_sum", queue="commands")
    assert batches >= 1 and commands == 2


def test_the_state_of_the_stores_is_read_at_the_scrape(
        client: TestClient, editor: Api, runtime: Runtime) -> None:
    product = editor.create_product()
    editor.read(f"/products/{product['id']}", after=product["position"])
    caught_up = scrape(client)
    runtime.catchup.stop()
    editor.create_product()
    behind = scrape(client)

    assert value(caught_up, "pdl_leader") == 1
    assert value(caught_up, "pdl_views_lag_events") == 0
    assert value(caught_up, "pdl_views_lag_seconds") == 0
    assert value(behind, "pdl_log_position") == 2
    assert value(behind, "pdl_views_lag_events") == 1
    assert value(behind, "pdl_views_lag_seconds") >= 0
    assert set(behind.get("pdl_wal_bytes", {})) == {(("file", name),) for name in (
        () if runtime.settings.postgres else ("events.db", "views.db", "service.db"))}


def test_a_request_failed_by_the_storage_is_counted_as_a_store_error(
        client: TestClient, runtime: Runtime, editor: Api,
        monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()["id"]
    answering = TestClient(client.app, raise_server_exceptions=False)  # 500, not a raise
    before = scrape(answering)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(runtime.views, "roadmap", broken)
    failed = Api(answering, editor.token).get(f"/products/{product}/roadmap")
    after = scrape(answering)

    assert failed.status_code == 500
    assert moved(before, after, "pdl_store_errors_total", error="OperationalError") == 1
    assert moved(before, after, "pdl_http_requests_total", method="GET",
                 route="/products/{product_id}/roadmap", status="500") == 1


@pytest.fixture
def without_metrics(tmp_path: Path) -> Iterator[TestClient]:
    runtime = build_runtime(Settings(data_dir=tmp_path / "off", api=ApiSettings(metrics=False)))
    with TestClient(create_app(runtime)) as client:
        yield client
    runtime.close()


def test_metrics_can_be_switched_off(without_metrics: TestClient) -> None:
    response = without_metrics.get("/metrics")

    assert response.status_code == 404
    assert "PDL_API__METRICS=false" in response.json()["detail"]


@pytest.mark.slow
def test_every_worker_process_answers_a_scrape_with_the_counts_of_all_of_them(
        tmp_path: Path) -> None:
    requests = 12
    with serving(tmp_path / "data", tmp_path / "logs", workers=2) as server:
        headers = {"Authorization": f"Bearer {admin_token(server.printed())}"}
        for _ in range(requests):  # a connection each, so both workers take some
            assert httpx.get(server.url + "/products", headers=headers).status_code == 200
        scrapes = []
        for _ in range(6):  # a connection each: any worker may answer
            with httpx.Client(base_url=server.url) as http:
                scrapes.append(scrape(http))

    for samples in scrapes:
        assert value(samples, "pdl_http_requests_total", method="GET", route="/products",
                     status="200") == requests
    assert {value(samples, "pdl_leader") for samples in scrapes} <= {0, 1}
