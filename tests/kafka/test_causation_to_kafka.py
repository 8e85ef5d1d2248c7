"""End to end: a cascade over HTTP reaches Kafka tied to its cause and to the request."""

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
from tests.kafka.streams import assert_valid, read_topics, stored_changes, wait_until

pytestmark = pytest.mark.kafka

TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


def test_cancelling_over_http_publishes_the_cascade_under_its_cause_and_the_request(
        runtime: Runtime, settings: Settings, broker: Broker) -> None:
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        api = Api(client, token)
        product = api.create_product()["id"]
        q1 = api.plan(product, "Q1", "2027-03-31")["id"]
        features = [api.propose(product, f"Feature {n}")["id"] for n in range(2)]
        for feature in features:
            api.schedule(feature, q1, "Fits Q1.")
        api.write(f"/releases/{q1}/cancel", {"rationale": "Merged into Q2."},
                  **{"X-Request-ID": "cancel-q1-1", "traceparent": TRACE})
        wait_until(lambda: runtime.relay is not None
                   and runtime.relay.position == runtime.app.event_count(), 30,
                   "the service's relay to publish every write")
        audited = api.read("/audit", correlation="cancel-q1-1",
                           after=runtime.app.event_count())["items"]
    prefix = settings.kafka.topic_prefix
    stored = stored_changes(runtime.app)
    records = read_topics(broker.bootstrap, entity_topics(prefix), at_least=len(stored))
    roadmap = read_topics(broker.bootstrap, [roadmap_topic(prefix)])

    cancel = [r for r in records if r.value.get("correlation_id") == "cancel-q1-1"]
    [cancelled] = [r.value for r in cancel if r.value["type"] == "release.cancelled"]
    cascade = [r.value for r in cancel if r.value is not cancelled]
    assert sorted(c["type"] for c in cascade) == [
        "feature.unscheduled", "feature.unscheduled",
        "release.feature_removed", "release.feature_removed"]
    assert {(c["caused_by"]["event_id"], c["caused_by"]["type"]) for c in cascade} == {
        (cancelled["event_id"], "release.cancelled")}
    assert cancelled["caused_by"] is None
    assert {r.headers.get("ce_traceparent") for r in cancel} == {TRACE}
    # The earlier, manual schedules: their own correlation, no trace, the release mirror
    # caused by the feature's change.
    earlier = [r for r in records if r not in cancel]
    assert all("ce_traceparent" not in r.headers for r in earlier)
    added = [r.value for r in earlier if r.value["type"] == "release.feature_added"]
    assert {a["caused_by"]["type"] for a in added} == {"feature.scheduled"}
    unscheduled = [r.value for r in roadmap if r.value["type"] == "roadmap.feature_unscheduled"]
    assert {(u["correlation_id"], u["caused_by"]["event_id"]) for u in unscheduled} == {
        ("cancel-q1-1", cancelled["event_id"])}
    for record in records + roadmap:
        assert_valid(record)
    # The store and the audit (fed from it) tell the same: in log order, the cascade first.
    in_order = [r.value for r in sorted(cancel, key=lambda r: r.value["log_position"])]
    assert [c.caused_by for c in stored if c.correlation_id == "cancel-q1-1"] == [
        v["caused_by"] for v in in_order]
    assert [(a["event_id"], a["caused_by"], a["correlation_id"]) for a in audited] == [
        (v["event_id"], v["caused_by"], "cancel-q1-1") for v in in_order]
    assert [v["occurred_at"] for v in in_order] == sorted(v["occurred_at"] for v in in_order)
