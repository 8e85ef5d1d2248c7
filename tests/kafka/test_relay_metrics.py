"""The relay as ``pdl serve`` runs it, seen from /metrics and /readyz, against a real broker."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from contract.topics import entity_topics
from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import Settings
from tests.api.driver import Api
from tests.api.test_metrics import moved, scrape, value
from tests.kafka.streams import read_topics, wait_until

pytestmark = pytest.mark.kafka


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


def test_published_events_and_the_relay_lag_are_reported(runtime: Runtime) -> None:
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        before = scrape(client)
        api = Api(client, token)
        api.create_product()
        api.create_product()
        wait_until(lambda: client.get("/readyz").json()["relay"]["lag"] == 0,
                   what="the relay to publish both events")
        after = scrape(client)
        ready = client.get("/readyz").json()

    assert moved(before, after, "pdl_relay_published_events_total") == 2
    assert moved(before, after, "pdl_relay_failures_total") == 0
    assert value(after, "pdl_relay_position") == 2
    assert value(after, "pdl_relay_lag_events") == 0
    assert {k: ready["relay"][k] for k in ("state", "position", "lag", "leading")} == {
        "state": "publishing", "position": 2, "lag": 0, "leading": True}
    assert ready["relay"]["leader"] == runtime.relay.leadership().holder  # this process
    assert ready["relay"]["since"] is not None


def test_a_runtime_started_twice_runs_one_relay_that_publishes_each_event_once(
        runtime: Runtime, settings: Settings) -> None:
    # A test's runtime started, then the app's lifespan starting it again: two relay loops on
    # one producer fenced each other at the broker, and nothing was published.
    runtime.start()
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        before = scrape(client)
        api = Api(client, token)
        for _ in range(5):
            api.create_product()
        wait_until(lambda: client.get("/readyz").json()["relay"]["lag"] == 0,
                   what="the relay to publish every event")
        after = scrape(client)

    records = read_topics(settings.kafka.bootstrap_servers or "",
                          entity_topics(settings.kafka.topic_prefix), at_least=5)
    assert len(records) == len({r.headers["ce_id"] for r in records}) == 5
    assert moved(before, after, "pdl_relay_failures_total") == 0
    assert moved(before, after, "pdl_relay_published_events_total") == 5
