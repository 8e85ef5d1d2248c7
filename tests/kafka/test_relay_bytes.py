"""The relay's fast paths publish exactly the bytes of the plain, reference encoding.

The relay caches topic names and header values, shares the encoded header values between a
change's message and its roadmap change, and derives roadmap change ids without building UUID
objects. Every message it hands the producer for a history holding every kind of change must
equal, key, header and value byte for byte, the message built the straightforward way (the
encoding as it was before those fast paths). The relay publishes to the real broker and the
messages are read back raw, as any consumer receives them.
"""

import time
import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from contract.changes import SCHEMA_VERSION, Change
from contract.roadmap_changes import (
    ROADMAP_ID_NAMESPACE,
    RoadmapChange,
    roadmap_change_from,
    roadmap_change_id,
)
from contract.roadmap_changes import SCHEMA_VERSION as ROADMAP_SCHEMA_VERSION
from contract.topics import entity_topic, roadmap_topic
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from services.runtime.bootstrap import positions_for
from services.runtime.settings import Settings
from services.streaming.relay import Relay, RelayOptions
from tests.decisions.scenario import KIM, PAT, a_roadmap
from tests.kafka.streams import many_changes, roadmap_history, stored_changes
from tests.support.builders import KNOW_WHY, by

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]

pytestmark = pytest.mark.kafka


def reference_names(history: list[Change]) -> list[dict[str, Any] | None]:
    """The ``names`` of each change's roadmap change, worked out the plain way: the latest
    name (and target date) of every id from the changes before it."""
    name: dict[str, str] = {}
    target: dict[str, str] = {}
    result: list[dict[str, Any] | None] = []
    for change in history:
        data, entity = change.data, change.entity_id
        found: dict[str, Any] = {"product": name.get(change.product_id)}
        if change.entity_type == "release":
            found["release"] = name.get(entity)
        else:
            found["feature"] = name.get(entity)
        if change.type in ("feature.scheduled", "feature.unscheduled"):
            old, new = data.get("old_release_id"), data.get("release_id")
            found.update(release_before=name.get(old or ""), release_after=name.get(new or ""),
                         target_date_before=target.get(old or ""),
                         target_date_after=target.get(new or ""))
        result.append({k: v for k, v in found.items() if v is not None} or None)
        if change.type in ("product.created", "release.planned"):
            name[entity] = data["name"]
        if change.type == "feature.proposed":
            name[entity] = data["title"]
        if change.type == "feature.details_revised" and "title" in data["changes"]:
            name[entity] = data["changes"]["title"]["new"]
        if change.type in ("release.planned", "release.target_date_changed"):
            target[entity] = data["target_date"]
    return result


def reference_messages(change: Change, prefix: str, names: dict[str, Any] | None
                       ) -> list[Record]:
    """The messages for ``change``, built the plain way: the contract spelled out."""

    def message(topic: str, key: str, ce_id: str, kind: str, data: Any) -> Record:
        headers = {"ce_specversion": "1.0", "ce_id": ce_id,
                   "ce_source": f"/pdl/products/{change.product_id}",
                   "ce_type": f"com.pdl.{kind}", "ce_time": change.occurred_at,
                   "ce_subject": change.entity_id, "ce_dataschema": f"urn:pdl:schema:{kind}",
                   "content-type": "application/json"}
        return (topic, key.encode(), orjson.dumps(data),
                [(name, value.encode()) for name, value in headers.items()])

    records = [message(entity_topic(prefix, change.entity_type), change.entity_id,
                       change.event_id, f"{change.type}.v{SCHEMA_VERSION}", change)]
    roadmap = roadmap_change_from(change)
    if roadmap is not None:
        change_id = str(uuid.uuid5(ROADMAP_ID_NAMESPACE, change.event_id))
        assert roadmap.change_id == change_id
        expected: RoadmapChange = replace(roadmap, change_id=change_id, names=names)
        records.append(message(roadmap_topic(prefix), change.product_id, change_id,
                               f"{roadmap.type}.v{ROADMAP_SCHEMA_VERSION}", expected))
    return records


def raw_records(bootstrap: str, topics: list[str]) -> list[Record]:
    """Every message of ``topics`` as stored: topic, key, value and headers, undecoded."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None)
    try:
        partitions = [TopicPartition(t, p) for t in topics
                      for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list[Record] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records.extend((tp.topic, m.key, m.value, list(m.headers)) for m in batch)
            assert time.monotonic() < deadline, "timed out reading the topics"
        return records
    finally:
        consumer.close()


@pytest.mark.parametrize("batch_size", [1, 7, 2_000])
def test_the_relay_publishes_exactly_the_reference_bytes(app: DecisionLog, settings: Settings,
                                                         batch_size: int) -> None:
    roadmap_history(app, 'Atlas ünïcode ☃ "quoted" \\ back')
    many_changes(app, 40, features=4)
    road = a_roadmap(app)
    search = KNOW_WHY.a_feature(app, road.product, "Search")
    app.schedule_feature(search, road.r1, by(PAT))
    app.score_priority(road.csv, "rice", {"reach": 1000, "impact": 1, "confidence": 0.5,
                                          "effort": 0.3}, by(PAT, "Scoring ✓."))
    app.accept_decision(road.propose(title="CSV to 2.0"), [MoveFeature(road.csv, road.r2)],
                        actor=KIM)
    app.accept_decision(road.propose(title="Slip"),
                        [ChangeTargetDate(road.r2, date(2027, 6, 8))], actor=KIM)
    app.change_priority(search, 123456789.125, by(PAT))
    kafka = settings.kafka
    history = stored_changes(app)
    expected = [record for change, names in zip(history, reference_names(history), strict=True)
                for record in reference_messages(change, kafka.topic_prefix, names)]
    relay = Relay(app, kafka, positions_for(settings), RelayOptions(batch_size=batch_size))
    try:
        relay.run_until_caught_up()
    finally:
        relay.close()
    published = raw_records(str(kafka.bootstrap_servers), sorted({r[0] for r in expected}))

    assert len(expected) > 100
    assert {r[3][3][1].split(b".")[2] for r in expected} >= {b"decision", b"roadmap"}
    assert b'"release_before":"Q1","release_after":"Q2"' in b"".join(r[2] for r in expected)
    # Kafka orders per partition only: compare every message, byte for byte, as a multiset.
    assert sorted(published) == sorted(expected)


def test_roadmap_change_ids_are_the_standard_uuid5() -> None:
    for name in [str(uuid.uuid4()) for _ in range(2_000)] + ["", "é", "x" * 200]:
        assert roadmap_change_id(name) == str(uuid.uuid5(ROADMAP_ID_NAMESPACE, name))
