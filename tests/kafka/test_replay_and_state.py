"""Current-state topics, and replaying the log anywhere: to a new prefix, a new cluster, or again
from a position. Against the real broker."""

import os
import signal
import sqlite3
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from contract import generate
from contract.states import STATE_FIELDS, STATE_SUMMARIES, public_state
from contract.topics import ENTITY_TYPES, entity_topics, roadmap_topic, state_topics
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.bootstrap import positions_for
from services.runtime.settings import KafkaSettings, Settings
from services.streaming.positions import RelayPositions, Target
from services.streaming.relay import Relay, RelayOptions
from tests.kafka.conftest import REPO, Broker
from tests.kafka.streams import (
    WIKI,
    Record,
    assert_per_key_order,
    assert_valid,
    decision_history,
    read_topics,
    roadmap_history,
    stored_changes,
    wait_until,
)
from tests.support.builders import because

pytestmark = pytest.mark.kafka


# Writing and publishing


def full_history(app: DecisionLog) -> list[UUID]:
    """Two roadmaps with every kind of change, a retired product and decisions accepted,
    rejected, reversed and superseded; returns the product ids."""
    atlas, borealis = roadmap_history(app, "Atlas"), roadmap_history(app, "Borealis")
    app.retire_product(borealis, because("Sunset.", WIKI))
    return [atlas, borealis, decision_history(app)]


def publish(app: DecisionLog, settings: Settings, kafka: KafkaSettings | None = None,
            **options: Any) -> tuple[int, int]:
    """Run a relay to the end of the log; its position and states position."""
    relay = Relay(app, kafka or settings.kafka, positions_for(settings), RelayOptions(**options))
    try:
        relay.run_until_caught_up()
        return relay.position, relay.states_position
    finally:
        relay.close()


def with_prefix(settings: Settings, prefix: str) -> KafkaSettings:
    return settings.kafka.model_copy(update={"topic_prefix": prefix})


def change_topics(prefix: str) -> list[str]:
    return [*entity_topics(prefix), roadmap_topic(prefix)]


# Reading


def last_per_key(records: list[Record]) -> dict[str, dict[str, Any]]:
    """What a compacted topic holds once compacted: the last value of each key (records of
    one key are in one partition, read in order)."""
    return {record.key: record.value for record in records}


def ids_per_key(records: list[Record]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = defaultdict(list)
    for record in records:
        ids[record.key].append(record.headers["ce_id"])
    return dict(ids)


def store_states(app: DecisionLog) -> dict[str, dict[str, Any]]:
    """Every entity as the application loads it, with its last change, as a state message
    describes it."""
    last = {change.entity_id: change for change in stored_changes(app)}
    expected = {}
    for entity_id, change in last.items():
        aggregate: Any = app.repository.get(UUID(entity_id))
        expected[entity_id] = {
            "entity_type": change.entity_type, "entity_version": aggregate.version,
            "product_id": change.product_id, "state": public_state(change.entity_type, aggregate),
            "occurred_at": change.occurred_at, "actor": change.actor,
            "rationale": change.rationale, "evidence": change.evidence,
            "decision_id": change.decision_id, "source_event_id": change.event_id,
            "source_type": change.type, "log_position": change.log_position,
        }
    return expected


def published_states(broker: Broker, prefix: str, at_least: int) -> list[Record]:
    return read_topics(broker.bootstrap, state_topics(prefix), at_least=at_least)


@pytest.fixture
def views(app: DecisionLog, tmp_path: Path) -> Iterator[Views]:
    views = Views(tmp_path / "views.db")
    yield views
    views.close()


# Current-state topics


def test_every_entity_type_has_a_state_shape_a_summary_and_a_schema() -> None:
    assert set(STATE_FIELDS) == set(STATE_SUMMARIES) == set(ENTITY_TYPES)
    assert {f"{t}.state.v1.json" for t in ENTITY_TYPES} <= set(generate.schemas())


def test_a_state_topic_read_from_the_start_holds_every_entitys_current_state(
        app: DecisionLog, settings: Settings, broker: Broker, views: Views) -> None:
    products = full_history(app)
    assert publish(app, settings) == (app.event_count(), app.event_count())
    stored = stored_changes(app)

    records = published_states(broker, settings.kafka.topic_prefix, len(stored))
    current = last_per_key(records)

    # One state message per change, right after it: the same versions in the same order.
    assert len(records) == len(stored)
    assert_per_key_order(records)
    for record in records:
        assert_valid(record)
        assert record.topic == f"{settings.kafka.topic_prefix}.{record.value['entity_type']}" \
                               ".state.v1"
    expected = store_states(app)
    assert set(current) == set(expected)
    for entity_id, value in current.items():
        assert {k: value[k] for k in expected[entity_id]} == expected[entity_id], entity_id
    # The same facts as the views, which fold the changes with their own rules.
    StoreCatchUp(app, views).run_until_caught_up()
    for product in products:
        roadmap = views.roadmap(product)
        assert roadmap is not None
        features = [*roadmap["backlog"], *roadmap["rejected"],
                    *(f for r in roadmap["releases"] for f in r["features"])]
        for feature in features:
            state = current[feature["id"]]["state"]
            assert (state["title"], state["status"], state["priority"], state["release_id"]) \
                == (feature["title"], feature["status"], feature["priority"],
                    feature["release_id"])
            assert current[feature["id"]]["entity_version"] == feature["version"]
        for release in roadmap["releases"]:
            state = current[release["id"]]["state"]
            assert (state["name"], state["target_date"], state["state"], state["shipped_on"]) \
                == (release["name"], release["target_date"], release["state"],
                    release["shipped_on"])
        assert current[str(product)]["state"]["retired"] == roadmap["product"]["retired"]
    # What the states hold, spelled out for one entity of each kind.
    by_title = {v["state"].get("title") or v["state"].get("name"): v for v in current.values()}
    csv_export = next(v for v in current.values() if v["state"].get("title") == "CSV export"
                      and v["product_id"] == str(products[0]))
    assert csv_export["state"]["priority"] == 4.0
    assert list(csv_export["state"]["requirements"]) == ["R2"]
    assert csv_export["state"]["requirements"]["R2"]["acceptance_criteria"] == [
        "UTF-8 BOM", "CRLF"]
    assert by_title["Slip 3.0"]["state"]["status"] == "superseded"
    assert by_title["CSV to 2.0"]["state"]["status"] == "reversed"
    assert set(by_title["Q1"]["state"]) == set(STATE_FIELDS["release"])


def test_state_messages_can_be_switched_off(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app)
    quiet = settings.kafka.model_copy(update={"state_topics": False})

    assert publish(app, settings, quiet) == (app.event_count(), 0)

    assert read_topics(broker.bootstrap, state_topics(quiet.topic_prefix)) == []


# Replay anywhere


def test_a_new_prefix_gets_the_whole_history_with_the_same_ids_in_the_same_order_per_key(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app, "Atlas")
    first, second = settings.kafka.topic_prefix, f"{settings.kafka.topic_prefix}-replay"
    publish(app, settings)
    roadmap_history(app, "Borealis")  # written after the first prefix got its history
    publish(app, settings)
    total = app.event_count()

    assert publish(app, settings, with_prefix(settings, second)) == (total, total)

    for topics in (change_topics, state_topics):
        original = read_topics(broker.bootstrap, topics(first), at_least=total)
        replayed = read_topics(broker.bootstrap, topics(second), at_least=total)
        assert ids_per_key(replayed) == ids_per_key(original)
        assert len(replayed) == len(original)
    assert sorted(recorded_targets(settings)) == [(first, total, total), (second, total, total)]


def recorded_targets(settings: Settings) -> list[tuple[str, int, int]]:
    """Each (prefix, position, states position) recorded, on the broker's one cluster."""
    db = sqlite3.connect(settings.events_path)
    try:
        return db.execute("SELECT topic_prefix, position, states_position"
                          " FROM kafka_relay_targets").fetchall()
    finally:
        db.close()


def test_a_position_recorded_for_another_cluster_does_not_hold_back_this_one(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app)
    total, prefix = app.event_count(), settings.kafka.topic_prefix
    positions = RelayPositions(settings.events_path)
    positions.set("kafka", Target("another-cluster", prefix), total, total)
    positions.close()

    assert publish(app, settings) == (total, total)

    assert len(read_topics(broker.bootstrap, entity_topics(prefix), at_least=total)) == total


def test_from_position_publishes_everything_after_it_again_with_the_same_ids_in_order(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app)
    publish(app, settings)
    total, middle = app.event_count(), app.event_count() // 2
    stored = stored_changes(app)

    assert publish(app, settings, from_position=middle) == (total, total)

    prefix = settings.kafka.topic_prefix
    records = read_topics(broker.bootstrap, entity_topics(prefix), at_least=2 * total - middle)
    again = [c.event_id for c in stored if c.log_position is not None and c.log_position > middle]
    assert sorted(r.headers["ce_id"] for r in records) == sorted(
        [c.event_id for c in stored] + again)
    assert_per_key_order(records)
    for key, ids in ids_per_key(records).items():  # each key: its history, then its replay
        history = [c.event_id for c in stored if c.entity_id == key]
        assert ids == history + [i for i in history if i in again]
    states = last_per_key(published_states(broker, prefix, 2 * total - middle))
    assert {k: v["entity_version"] for k, v in states.items()} == {
        k: v["entity_version"] for k, v in store_states(app).items()}


def test_pdl_relay_from_position_zero_publishes_the_whole_history_again(
        app: DecisionLog, settings: Settings, broker: Broker, tmp_path: Path) -> None:
    roadmap_history(app)
    publish(app, settings)
    total = app.event_count()
    log = tmp_path / "relay.log"

    process = relay_process(settings, log, "--from-position", "0")
    try:
        records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                              at_least=2 * total, timeout_s=120)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()

    assert len(records) == 2 * total
    assert all(len(ids) % 2 == 0 for ids in ids_per_key(records).values())
    assert_per_key_order(records)
    assert "publishing everything after position 0 again" in log.read_text()


def test_pdl_relay_refuses_a_position_beyond_the_end_of_the_log(
        app: DecisionLog, settings: Settings, tmp_path: Path) -> None:
    roadmap_history(app)
    log = tmp_path / "relay.log"
    process = relay_process(settings, log, "--from-position", str(app.event_count() + 1))

    assert process.wait(60) == 2
    assert "beyond the end of the log" in log.read_text()


def relay_process(settings: Settings, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ,
           "PDL_DATA_DIR": str(settings.data_dir),
           "PDL_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
           "PDL_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
           "PDL_KAFKA__CLIENT_ID": "pdl-test-relay"}
    return subprocess.Popen(
        [sys.executable, "-m", "services.runtime.cli", "relay", "--poll-interval", "0.05",
         *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"))


# Upgrading in place


def as_before_positions_per_target(settings: Settings) -> None:
    """Turn the recorded positions into what a relay kept before they were per target: one
    row per relay name."""
    db = sqlite3.connect(settings.events_path)
    try:
        with db:
            rows = db.execute("SELECT relay, position, updated_at FROM kafka_relay_targets")
            db.executemany("INSERT INTO kafka_relay_positions VALUES (?, ?, ?)", list(rows))
            db.execute("DELETE FROM kafka_relay_targets")
    finally:
        db.close()


def test_a_store_upgraded_in_place_publishes_no_change_again_and_backfills_the_states(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app, "Atlas")
    before = settings.kafka.model_copy(update={"state_topics": False})
    published = publish(app, settings, before)[0]
    as_before_positions_per_target(settings)
    roadmap_history(app, "Borealis")
    total, prefix = app.event_count(), settings.kafka.topic_prefix

    assert publish(app, settings) == (total, total)

    changes = read_topics(broker.bootstrap, entity_topics(prefix), at_least=total)
    assert len(changes) == total  # nothing published twice
    assert 0 < published < total
    records = published_states(broker, prefix, total)
    assert len(records) == total
    current = last_per_key(records)
    assert {k: v["state"] for k, v in current.items()} == {
        k: v["state"] for k, v in store_states(app).items()}


def test_an_old_position_is_not_taken_to_a_prefix_that_was_never_published_to(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    roadmap_history(app)
    publish(app, settings)
    as_before_positions_per_target(settings)
    total, old = app.event_count(), settings.kafka.topic_prefix
    fresh = with_prefix(settings, f"{old}-new")

    assert publish(app, settings, fresh) == (total, total)
    # The old position still waits for the prefix it belongs to, whose topics exist.
    assert publish(app, settings) == (total, total)

    for prefix in (fresh.topic_prefix, old):
        records = read_topics(broker.bootstrap, entity_topics(prefix), at_least=total)
        assert len(records) == total, prefix


def test_a_relay_following_the_log_publishes_each_new_change_and_its_state(
        app: DecisionLog, settings: Settings, broker: Broker) -> None:
    relay = Relay(app, settings.kafka, positions_for(settings))
    relay.start()
    try:
        roadmap_history(app)
        wait_until(lambda: relay.states_position == app.event_count(), what="the relay")
    finally:
        relay.close()
    records = published_states(broker, settings.kafka.topic_prefix, app.event_count())
    assert {k: v["state"] for k, v in last_per_key(records).items()} == {
        k: v["state"] for k, v in store_states(app).items()}
