"""/livez, /readyz and /health: answered without a token, in time, with the reasons."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.http.app import create_app
from services.runtime.readiness import Positions, Readiness
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import ApiSettings, KafkaSettings, Settings
from tests.api.driver import Api
from tests.support.builders import PRODUCT_BODY


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data",
                    api=ApiSettings(ready_max_lag=0, ready_timeout_s=0.2))


def readiness_of(client: TestClient) -> Readiness:
    readiness: Readiness = client.app.state.readiness  # type: ignore[attr-defined]
    return readiness


def test_livez_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_is_ready_when_the_stores_answer_and_the_views_are_caught_up(
        client: TestClient, editor: Api) -> None:
    product = editor.create_product()
    editor.read(f"/products/{product['id']}", after=product["position"])

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "reasons": [], "leader": True,
                               "log_position": 1, "views_position": 1, "views_lag": 0}


def test_health_keeps_its_fields(client: TestClient, editor: Api) -> None:
    editor.create_product()

    assert client.get("/health").json().keys() >= {"status", "log_position", "views_position"}


def test_readyz_fails_while_the_views_are_behind_by_more_than_the_limit(
        client: TestClient, editor: Api, runtime: Runtime) -> None:
    runtime.catchup.stop()
    editor.create_product()

    behind = client.get("/readyz")
    runtime.catchup.run_until_caught_up()
    caught_up = client.get("/readyz")

    assert behind.status_code == 503
    assert behind.json()["status"] == "unready"
    assert behind.json()["reasons"] == [
        "the views are 1 events behind the log (limit 0: PDL_API__READY_MAX_LAG)"]
    assert caught_up.status_code == 200


def test_readyz_fails_naming_the_file_when_a_store_cannot_be_opened(
        client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    unreachable = tmp_path / "gone" / "events.db"
    runtime.settings = runtime.settings.model_copy(update={
        "store": runtime.settings.store.model_copy(update={"sqlite_path": unreachable})})

    response = client.get("/readyz")

    assert response.status_code == 503
    [reason] = response.json()["reasons"]
    assert reason.startswith("events.db: unable to open database file")


def test_readyz_answers_in_time_while_a_store_hangs_and_starts_no_second_look(
        client: TestClient) -> None:
    readiness = readiness_of(client)
    released, looks = threading.Event(), []

    def hanging() -> Positions:
        looks.append(1)
        released.wait(10)
        return Positions(log=0, relay=None)

    readiness.look = hanging  # type: ignore[method-assign]
    try:
        first = client.get("/readyz")
        second = client.get("/readyz")
    finally:
        released.set()

    assert first.status_code == second.status_code == 503
    assert "the stores have not answered for" in first.json()["reasons"][0]
    assert "PDL_API__READY_TIMEOUT_S" in first.json()["reasons"][0]
    assert looks == [1]  # the second probe waited for the same look


def test_readyz_fails_at_once_when_shutting_down_while_livez_still_answers(
        client: TestClient) -> None:
    readiness_of(client).shut_down()

    ready, live = client.get("/readyz"), client.get("/livez")

    assert ready.status_code == 503
    assert ready.json()["reasons"] == ["shutting down"]
    assert live.status_code == 200


@pytest.fixture
def relayed(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime with a relay to a broker nobody listens on; the relay is not started."""
    runtime = build_runtime(Settings(
        data_dir=tmp_path / "relayed",
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        api=ApiSettings(ready_max_relay_lag=0)))
    yield runtime
    runtime.close()


def test_a_relay_behind_is_reported_and_fails_readiness_only_beyond_its_own_limit(
        relayed: Runtime) -> None:
    relayed.app.create_product(actor="alice", **PRODUCT_BODY)
    relayed.catchup.run_until_caught_up()
    assert relayed.relay is not None
    relayed.relay.leading = relayed.relay.failing = True  # the leader, and Kafka is down
    client = TestClient(create_app(relayed))  # not started: nothing runs in the background

    limited = client.get("/readyz")
    relayed.settings.api.ready_max_relay_lag = None
    unlimited = client.get("/readyz")

    assert limited.status_code == 503
    assert limited.json()["reasons"] == [
        "the Kafka relay is 1 events behind the log (kafka unreachable; limit 0: "
        "PDL_API__READY_MAX_RELAY_LAG)"]
    assert unlimited.status_code == 200
    relay = unlimited.json()["relay"]
    assert {k: relay[k] for k in ("state", "position", "lag", "leading")} == {
        "state": "kafka unreachable", "position": 0, "lag": 1, "leading": True}
