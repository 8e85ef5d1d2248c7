"""Views fed from Kafka equal views fed from the store, whatever the delivery order and repeats."""

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from kafka import KafkaProducer

from contract.changes import Change
from contract.cloudevents import messages_for
from domain.clock import use_clock
from projections.feeding import tracking
from projections.feeding.catch_up import StoreCatchUp
from projections.feeding.kafka import FeedOptions, KafkaFeed
from projections.views import Views, apply_changes
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application, build_relay
from services.runtime.settings import Settings
from services.streaming.kafka_io import views_feed
from services.streaming.relay import RelayPositions
from tests.kafka.conftest import REPO
from tests.kafka.streams import roadmap_history, stored_changes

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def write_history(app: DecisionLog) -> list[UUID]:
    """Two products' histories, stamped one minute apart so as-of reads are meaningful."""
    ticks: Iterator[int] = iter(range(100_000))
    with use_clock(lambda: T0 + timedelta(minutes=next(ticks))):
        return [roadmap_history(app, "Atlas"), roadmap_history(app, "Borealis")]


@pytest.fixture
def history(app: DecisionLog) -> list[UUID]:
    return write_history(app)


def outputs(views: Views, products: list[UUID], entities: set[str]) -> dict[str, Any]:
    """Everything a reader can ask the views, now and half-way through the history."""
    middle = T0 + timedelta(minutes=40)  # Atlas complete, Borealis half-way
    return {
        "products": views.list_products(),
        "products_then": views.list_products(middle),
        "roadmaps": [views.roadmap(p) for p in products],
        "roadmaps_then": [views.roadmap(p, middle) for p in products],
        "audit": views.audit(limit=1000),
        "product_histories": [views.product_history(p) for p in products],
        "histories": {e: views.history(UUID(e)) for e in sorted(entities)},
        "event_count": views.event_count(),
    }


def store_fed(app: DecisionLog, path: Path) -> Views:
    views = Views(path)
    StoreCatchUp(app, views).run_until_caught_up()
    return views


def kafka_fed(views: Views, settings: Settings, group: str) -> KafkaFeed:
    feed = views_feed(views, settings.kafka, FeedOptions(group_id=group))
    feed.run_until_caught_up(timeout_s=60)
    return feed


def publish(app: DecisionLog, settings: Settings, *, from_start: bool = False) -> None:
    if from_start:  # forget what was published: everything goes out again (duplicates)
        positions = RelayPositions(settings.events_path)
        positions.reset("kafka")
        positions.close()
    relay = build_relay(app, settings)
    assert relay is not None
    relay.run_until_caught_up()
    relay.close()


@pytest.mark.kafka
def test_views_built_from_kafka_equal_views_built_from_the_store(
        app: DecisionLog, settings: Settings, history: list[UUID], tmp_path: Path) -> None:
    publish(app, settings)
    entities = {c.entity_id for c in stored_changes(app)}
    from_store = store_fed(app, tmp_path / "store.db")
    from_kafka = Views(tmp_path / "kafka.db")
    feed = kafka_fed(from_kafka, settings, "views-a")
    feed.close()
    try:
        expected = outputs(from_store, history, entities)
        assert feed.applied == app.event_count() == len(expected["audit"]["items"])
        assert None not in expected["roadmaps"] + expected["roadmaps_then"]
        assert expected["roadmaps_then"] != expected["roadmaps"]
        assert outputs(from_kafka, history, entities) == expected
    finally:
        from_store.close()
        from_kafka.close()


@pytest.mark.kafka
def test_redelivered_and_replayed_messages_change_nothing(
        app: DecisionLog, settings: Settings, history: list[UUID], tmp_path: Path) -> None:
    publish(app, settings)
    publish(app, settings, from_start=True)  # every message is now on its topic twice
    entities = {c.entity_id for c in stored_changes(app)}
    views = Views(tmp_path / "kafka.db")
    try:
        kafka_fed(views, settings, "views-b").close()
        once = outputs(views, history, entities)
        assert once["event_count"] == app.event_count()

        with views.transaction() as conn:  # forget the offsets: replay both copies again
            conn.execute("DELETE FROM tracking WHERE source LIKE 'kafka:%'")
        replay = kafka_fed(views, settings, "views-c")
        replay.close()

        assert replay.applied == 2 * app.event_count()
        assert outputs(views, history, entities) == once
    finally:
        views.close()


@pytest.mark.kafka
def test_the_feed_resumes_from_the_offsets_stored_with_the_views_not_from_kafka(
        app: DecisionLog, settings: Settings, history: list[UUID], tmp_path: Path) -> None:
    publish(app, settings)
    views = Views(tmp_path / "kafka.db")
    try:
        kafka_fed(views, settings, "views-d").close()
        with views.transaction() as conn:
            stored = {row[0]: row[1] for row in conn.execute(
                "SELECT source, position FROM tracking WHERE source LIKE 'kafka:%'")}
        assert sum(stored.values()) == app.event_count()

        # A new group has no committed offsets in Kafka, yet it reads nothing again.
        again = kafka_fed(views, settings, "views-e")
        again.close()
        assert again.applied == 0
        with views.transaction() as conn:
            assert tracking.tracked(conn, next(iter(stored))) == next(iter(stored.values()))
    finally:
        views.close()


def by_entity_type_reversed(changes: list[Change]) -> list[Change]:
    """Per-entity order kept, everything else as adversarial as possible: features before the
    releases they are scheduled in, releases before their products, entities interleaved."""
    rank = {"feature": 0, "decision": 1, "release": 2, "product": 3}
    shuffled = sorted(changes, key=lambda c: (rank[c.entity_type], random.random()))
    per_entity: dict[str, list[Change]] = {}
    for change in changes:
        per_entity.setdefault(change.entity_id, []).append(change)
    # Re-seat each entity's changes, in their own order, into that entity's slots.
    cursors = {entity: iter(items) for entity, items in per_entity.items()}
    return [next(cursors[c.entity_id]) for c in shuffled]


def test_cross_entity_order_does_not_change_the_views(tmp_path: Path) -> None:
    app = build_application(Settings(data_dir=tmp_path / "data"))
    history = write_history(app)
    changes = stored_changes(app)
    entities = {c.entity_id for c in changes}
    random.seed(7)
    from_store = store_fed(app, tmp_path / "store.db")
    for attempt in range(3):
        views = Views(tmp_path / f"shuffled-{attempt}.db")
        with views.transaction() as conn:
            for change in by_entity_type_reversed(changes):
                apply_changes(conn, [change])
        try:
            assert outputs(views, history, entities) == outputs(from_store, history, entities)
        finally:
            views.close()
    from_store.close()
    app.close()


@pytest.mark.kafka
def test_pdl_project_from_kafka_builds_the_same_views_as_from_the_store(
        app: DecisionLog, settings: Settings, history: list[UUID], tmp_path: Path) -> None:
    publish(app, settings)
    env = {**os.environ, "PDL_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
           "PDL_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix}
    for source in ("kafka", "store"):
        data_dir = settings.data_dir if source == "store" else tmp_path / "kafka-fed"
        if source == "kafka":  # a read-model host: its own folder, no event store at all
            data_dir.mkdir()
        done = subprocess.run(
            [sys.executable, "-m", "services.runtime.cli", "project", "--source", source,
             "--data-dir", str(data_dir)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"hold {app.event_count()} changes (source: {source})" in done.stderr
    entities = {c.entity_id for c in stored_changes(app)}
    from_kafka = Views(tmp_path / "kafka-fed" / "views.db")
    from_store = Views(settings.views_path)
    try:
        assert outputs(from_kafka, history, entities) == outputs(from_store, history, entities)
    finally:
        from_kafka.close()
        from_store.close()


@pytest.mark.kafka
def test_catching_up_waits_for_a_transaction_sent_before_it_until_it_commits(
        app: DecisionLog, settings: Settings, history: list[UUID], tmp_path: Path) -> None:
    # A read_committed consumer's end offset stops before an open transaction (and, after the
    # relay committed one, until the broker wrote its markers): a feed comparing its position
    # with it called itself caught up without the messages the relay had just published.
    changes = stored_changes(app)
    prefix = settings.kafka.topic_prefix
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers,
                             transactional_id=f"{prefix}.open-transaction", acks="all",
                             enable_idempotence=True)
    views = Views(tmp_path / "kafka.db")
    feed = views_feed(views, settings.kafka, FeedOptions(group_id=f"{prefix}.open"))
    try:
        producer.init_transactions()
        producer.begin_transaction()
        for change in changes:  # each change's own message (the feed reads the entity topics)
            for message in messages_for(change, prefix)[:1]:
                producer.send(message.topic, key=message.key, value=message.value,
                              headers=message.headers)
        producer.flush()  # on the broker, not committed

        done = threading.Event()
        catching_up = threading.Thread(
            target=lambda: (feed.run_until_caught_up(timeout_s=60), done.set()), daemon=True)
        catching_up.start()
        assert not done.wait(2.0), "caught up without the messages sent before it started"
        assert views.event_count() == 0  # read_committed: nothing of the open transaction

        producer.commit_transaction()
        assert done.wait(30.0)
        assert feed.applied == len(changes)
        assert views.event_count() == app.event_count()
    finally:
        producer.close()
        feed.close()
        views.close()
