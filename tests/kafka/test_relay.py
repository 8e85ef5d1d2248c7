"""The outbox relay against a real broker: what lands on which topic, in what order and shape."""

from collections import Counter
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from contract.roadmap_changes import roadmap_change_from
from contract.topics import entity_topics, roadmap_topic
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_relay
from services.runtime.settings import Settings
from services.streaming.relay import Relay, RelayPositions
from tests.kafka.conftest import Broker
from tests.kafka.streams import (
    assert_per_key_order,
    assert_roadmap_order,
    assert_valid,
    read_topics,
    roadmap_history,
    stored_changes,
    wait_until,
)

pytestmark = pytest.mark.kafka


def relay_for(app: DecisionLog, settings: Settings) -> Relay:
    relay = build_relay(app, settings)
    assert relay is not None
    return relay


def test_every_change_written_while_the_relay_runs_reaches_its_entity_topic_in_order(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    relay = relay_for(app, settings)
    relay.start()
    try:
        roadmap_history(app, "Atlas")
        roadmap_history(app, "Borealis")
        wait_until(lambda: relay.position == app.event_count(), what="the relay to catch up")
    finally:
        relay.close()
    stored = stored_changes(app)

    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=len(stored))

    assert len(records) == len(stored)
    assert {r.headers["ce_id"] for r in records} == {c.event_id for c in stored}
    assert Counter(r.topic.split(".")[1] for r in records) == Counter(
        c.entity_type for c in stored)
    assert_per_key_order(records)
    for record in records:
        assert_valid(record)
        assert record.headers["ce_specversion"] == "1.0"
        assert record.headers["content-type"] == "application/json"
        assert record.headers["ce_source"] == f"/pdl/products/{record.value['product_id']}"
        assert record.headers["ce_type"] == f"com.pdl.{record.value['type']}.v1"


def test_roadmap_changes_are_published_keyed_by_product_with_before_and_after_values(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app, "Atlas")
    roadmap_history(app, "Borealis")
    relay = relay_for(app, settings)
    relay.run_until_caught_up()
    relay.close()
    expected = [rc for c in stored_changes(app) if (rc := roadmap_change_from(c)) is not None]

    records = read_topics(broker.bootstrap, [roadmap_topic(settings.kafka.topic_prefix)],
                          at_least=len(expected))

    assert sorted(r.headers["ce_id"] for r in records) == sorted(e.change_id for e in expected)
    assert len({r.partition for r in records}) <= 2  # two products: two keys
    assert_roadmap_order(records)
    for record in records:
        assert_valid(record)
    by_type = Counter(r.value["type"] for r in records)
    assert by_type == Counter({
        "roadmap.feature_status_changed": 10, "roadmap.feature_scheduled": 6,
        "roadmap.feature_moved": 2, "roadmap.feature_unscheduled": 4,
        "roadmap.release_slipped": 2, "roadmap.release_pulled_in": 2,
        "roadmap.release_shipped": 2, "roadmap.release_cancelled": 2,
    })
    moved = next(r.value for r in records if r.value["type"] == "roadmap.feature_moved")
    assert moved["before"]["release_id"] != moved["after"]["release_id"]
    assert moved["rationale"] == "Q1 is full."
    assert moved["evidence"] == ["https://jira/EXP-1"]
    slipped = next(r.value for r in records if r.value["type"] == "roadmap.release_slipped")
    assert (slipped["before"], slipped["after"], slipped["details"]) == (
        {"target_date": "2027-03-31"}, {"target_date": "2027-04-15"}, {"delta_days": 15})


def test_a_client_that_is_not_ours_reads_the_same_messages_and_headers(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app)
    relay = relay_for(app, settings)
    relay.run_until_caught_up()
    relay.close()
    stored = {c.event_id: c for c in stored_changes(app)}
    topics = entity_topics(settings.kafka.topic_prefix)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "confluent-check",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(t, p, 0) for t in topics for p in range(3)])
        seen: dict[str, dict[str, bytes]] = {}
        wait_until(lambda: _consume_into(consumer, seen) >= len(stored), 30,
                   "confluent-kafka to read every message")
    finally:
        consumer.close()

    assert set(seen) == set(stored)
    for event_id, headers in seen.items():
        assert headers["ce_type"].decode() == f"com.pdl.{stored[event_id].type}.v1"
        assert headers["ce_subject"].decode() == stored[event_id].entity_id


def _consume_into(consumer: Consumer, seen: dict[str, dict[str, bytes]]) -> int:
    for message in consumer.consume(num_messages=500, timeout=0.5):
        assert message.error() is None, message.error()
        raw: Any = message.headers() or []
        headers = {name: bytes(value) for name, value in raw}
        seen[headers["ce_id"].decode()] = headers
    return len(seen)


def test_history_written_while_kafka_was_off_is_backfilled_in_order_when_the_relay_starts(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app, "Atlas")
    roadmap_history(app, "Borealis")
    stored = stored_changes(app)

    relay = relay_for(app, settings)
    assert relay.position == 0
    assert relay.run_until_caught_up() == len(stored)
    relay.close()

    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=len(stored))
    assert [r.headers["ce_id"] for r in records if r.key == stored[0].entity_id] == [
        c.event_id for c in stored if c.entity_id == stored[0].entity_id]
    assert len(records) == len(stored)
    assert_per_key_order(records)


def test_a_restarted_relay_resumes_after_its_recorded_position(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app, "Atlas")
    first = relay_for(app, settings)
    published = first.run_until_caught_up()
    first.close()
    assert RelayPositions(settings.events_path).get("kafka") == published

    roadmap_history(app, "Borealis")
    second = relay_for(app, settings)
    assert second.position == published
    second.run_until_caught_up()
    second.close()

    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=app.event_count())
    assert len(records) == app.event_count()  # nothing published twice
