"""End to end: commands over HTTP, the relay inside the running service, messages on the topics."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from contract.topics import entity_topics, roadmap_topic
from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import Settings
from tests.api.driver import Api
from tests.kafka.conftest import Broker
from tests.kafka.streams import (
    assert_per_key_order,
    assert_valid,
    read_topics,
    stored_changes,
    wait_until,
)
from tests.support.builders import today

pytestmark = pytest.mark.kafka


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


def test_http_writes_reach_the_topics_through_the_relay_running_in_the_service(
        runtime: Runtime, settings: Settings, broker: Broker) -> None:
    assert runtime.relay is not None, "Kafka is configured: the service runs the relay"
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        api = Api(client, token)
        product = api.create_product()["id"]
        q1 = api.plan(product, "Q1", "2027-03-31")["id"]
        q2 = api.plan(product, "Q2", "2027-06-30")["id"]
        features = [api.propose(product, f"Feature {n}", priority=n)["id"] for n in range(5)]
        for feature in features:
            api.set_status(feature, "accepted", "Worth it.")
            api.schedule(feature, q1, "Fits Q1.", ["https://jira/PDL-1"])
        api.schedule(features[0], q2, "Q1 is full.")
        api.slip(q1, "2027-04-15", "Hiring.")
        for status in ("in_progress", "done"):
            api.set_status(features[1], status, "Progress.")
        api.ship(q1, today().isoformat(), "Shipped.")  # early
        wait_until(lambda: runtime.relay is not None
                   and runtime.relay.position == runtime.app.event_count(), 30,
                   "the service's relay to publish every write")
    stored = stored_changes(runtime.app)

    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=len(stored))
    roadmap = read_topics(broker.bootstrap, [roadmap_topic(settings.kafka.topic_prefix)])

    assert len(records) == len(stored)
    assert {r.headers["ce_id"] for r in records} == {c.event_id for c in stored}
    assert_per_key_order(records)
    for record in records + roadmap:
        assert_valid(record)
    assert {r.value["actor"] for r in records} == {"alice"}
    moved = [r.value for r in roadmap if r.value["type"] == "roadmap.feature_moved"]
    assert [(m["before"]["release_id"], m["after"]["release_id"], m["rationale"])
            for m in moved] == [(q1, q2, "Q1 is full.")]
    slips = [r.value for r in roadmap if r.value["type"] == "roadmap.release_slipped"]
    assert [(s["entity_id"], s["details"]["delta_days"]) for s in slips] == [(q1, 15)]
