"""Helpers for the Kafka tests: write a roadmap's history (of
:data:`tests.support.builders.ATLAS`), read topics back, check what was read."""

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from kafka import KafkaConsumer, TopicPartition

from contract import generate
from contract.changes import Change, change_from_event
from contract.topics import ROADMAP_CHANGES
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from tests.decisions.scenario import KIM, PAT, a_roadmap
from tests.support.builders import ACTOR, ATLAS, because, by, today

#: The evidence of every reason here that names none of its own.
WIKI = "https://wiki/x"
#: The reason for a change, where a test gives none.
INTERVIEWS = because("Customer interviews.", WIKI)


# Writing


def roadmap_history(app: DecisionLog, name: str = "Atlas") -> Any:
    """A product whose history holds every kind of change; returns the product id."""
    product = ATLAS.a_product(app, name)
    app.revise_vision(product, "Plan in the open, together.", because("Board review.", WIKI))
    app.revise_strategy(product, "Land and expand.", because("Sales feedback.", WIKI))
    q1 = app.plan_release(product, actor=ACTOR, name="Q1", target_date=date(2027, 3, 31)).id
    q2 = app.plan_release(product, actor=ACTOR, name="Q2", target_date=date(2027, 6, 30)).id
    q3 = app.plan_release(product, actor=ACTOR, name="Q3", target_date=date(2027, 9, 30),
                          theme="Scale").id
    search = ATLAS.a_feature(app, product, "Search", 5)
    export = ATLAS.a_feature(app, product, "Export", 3)
    sso = ATLAS.a_feature(app, product, "SSO", 8)
    for status in ("accepted", "in_progress", "done"):
        app.change_feature_status(search, status, because(f"Search is {status}.", WIKI))
    app.change_feature_status(export, "accepted", INTERVIEWS)
    app.schedule_feature(search, q1, because("Top priority.", WIKI))
    app.schedule_feature(export, q1, because("Fits Q1.", WIKI))
    app.schedule_feature(export, q2, because("Q1 is full.", "https://jira/EXP-1"))  # moved
    app.schedule_feature(sso, q3, because("Enterprise deal.", WIKI))
    app.unschedule_feature(sso, because("Deal slipped.", WIKI))
    app.change_priority(export, 4, because("More requests.", WIKI))
    app.revise_feature(export, because("Clearer title.", WIKI), title="CSV export")
    app.add_requirement(export, "Excel opens it", ["UTF-8 BOM"], INTERVIEWS)
    app.revise_requirement(export, "R2", "Excel opens it cleanly", ["UTF-8 BOM", "CRLF"],
                           INTERVIEWS)
    app.remove_requirement(export, "R1", because("Covered by R2.", WIKI))
    app.change_target_date(q1, date(2027, 4, 15), because("Slip: hiring.", WIKI))
    app.change_target_date(q2, date(2027, 6, 1), because("Pull in: less scope.", WIKI))
    app.ship_release(q1, today(), because("Shipped!", WIKI))  # early
    app.cancel_release(q2, because("Folded into Q3.", WIKI))
    return product


def decision_history(app: DecisionLog) -> Any:
    """Every decision change type, and a scored priority; returns the product's id."""
    road = a_roadmap(app)
    app.score_priority(road.csv, "rice", {"reach": 100, "impact": 2, "confidence": 0.5,
                                          "effort": 2}, by(PAT))
    first = road.propose(title="CSV to 2.0")
    app.accept_decision(first, [MoveFeature(road.csv, road.r2)], actor=KIM)
    app.reject_decision(road.propose(title="Drop PDF"), by(KIM))
    app.reverse_decision(first, by(KIM, "The pilot moved."))
    slip = road.propose(title="Slip 3.0")
    app.accept_decision(slip, [ChangeTargetDate(road.r3, date(2027, 9, 15))], actor=KIM)
    replacement = road.propose(title="Slip 3.0 further", supersedes=slip)
    app.accept_decision(replacement, [ChangeTargetDate(road.r3, date(2027, 9, 30))], actor=KIM)
    return road.product


def many_changes(app: DecisionLog, count: int, features: int = 20) -> list[Any]:
    """A product with ``features`` features and ``count`` priority changes spread over them."""
    product = ATLAS.a_product(app, "Bulk")
    ids = [ATLAS.a_feature(app, product, f"F{i}") for i in range(features)]
    for n in range(count):
        app.change_priority(ids[n % features], float(n + 10), because("Re-ranked.", WIKI))
    return ids


# Reading


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    headers: dict[str, str]
    value: dict[str, Any]


def read_topics(bootstrap: str, topics: list[str], *, at_least: int = 0,
                timeout_s: float = 60.0) -> list[Record]:
    """Every record of ``topics`` from the beginning (no consumer group), in partition order.

    Reads until each partition's end offset is reached and at least ``at_least`` records
    were read, or fails after ``timeout_s``.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None)
    try:
        deadline = time.monotonic() + timeout_s
        records: list[Record] = []
        while True:
            partitions = [TopicPartition(t, p) for t in topics
                          for p in sorted(consumer.partitions_for_topic(t) or ())]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            records = []
            while any(consumer.position(tp) < ends[tp] for tp in partitions):
                for tp, batch in consumer.poll(timeout_ms=500).items():
                    records.extend(_record(tp, m) for m in batch)
                assert time.monotonic() < deadline, "timed out reading the topics"
            if len(records) >= at_least:
                return records
            assert time.monotonic() < deadline, (
                f"only {len(records)} of at least {at_least} records arrived")
            time.sleep(0.2)
    finally:
        consumer.close()


def _record(tp: TopicPartition, m: Any) -> Record:
    return Record(tp.topic, tp.partition, m.offset, m.key.decode(),
                  {k: v.decode() for k, v in m.headers}, json.loads(m.value))


# Checking


def first_occurrences(records: list[Record]) -> list[Record]:
    """The records without re-published duplicates (same ce_id), first occurrence kept."""
    seen: set[str] = set()
    unique = []
    for record in records:
        if record.headers["ce_id"] not in seen:
            seen.add(record.headers["ce_id"])
            unique.append(record)
    return unique


def assert_per_key_order(records: list[Record]) -> None:
    """Per key (entity), first occurrences come in entity_version order 1, 2, 3, ..."""
    versions: dict[str, list[int]] = defaultdict(list)
    for record in first_occurrences(records):
        versions[record.key].append(record.value["entity_version"])
    for key, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{key}: versions out of order: {seen}"


def assert_roadmap_order(records: list[Record]) -> None:
    """Per product key, roadmap changes come in log order (per entity: in version order)."""
    positions: dict[str, list[int]] = defaultdict(list)
    for record in first_occurrences(records):
        positions[record.key].append(record.value["log_position"])
    for key, seen in positions.items():
        assert seen == sorted(seen), f"roadmap changes of {key} out of order: {seen}"


@cache
def _validators(ce_type: str) -> tuple[Draft202012Validator, ...]:
    schema = generate.schema_for_ce_type(ce_type)
    checker = Draft202012Validator.FORMAT_CHECKER
    headers = generate.header_schema(ce_type, "key")
    return (Draft202012Validator(schema, format_checker=checker),
            Draft202012Validator(closed(schema), format_checker=checker),
            Draft202012Validator(headers, format_checker=checker))


def closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that lists properties:
    a produced message must carry no field the contract does not document."""
    if isinstance(schema, dict):
        result = {k: closed(v) for k, v in schema.items()}
        if "properties" in schema:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def assert_valid(record: Record) -> None:
    """The record's value and headers match its message type's schemas (open and closed)."""
    value_schema, closed_schema, header_schema = _validators(record.headers["ce_type"])
    value_schema.validate(record.value)
    closed_schema.validate(record.value)
    header_schema.validate(record.headers)
    value = record.value
    assert record.headers["ce_id"] == value.get("event_id",
                                                value.get("change_id", value.get("state_id")))
    assert record.headers["ce_time"] == record.value["occurred_at"]
    assert record.headers["ce_subject"] == record.value["entity_id"]
    assert record.headers["ce_dataschema"] == value_schema.schema["$id"]
    is_roadmap = record.topic.endswith(f".{ROADMAP_CHANGES}.v1")
    assert record.key == (record.value["product_id"] if is_roadmap else record.value["entity_id"])


def stored_changes(app: DecisionLog) -> list[Change]:
    """Every change in the store, in log order."""
    notifications = app.recorder.select_notifications(0, 1_000_000, inclusive_of_start=False)
    return [change_from_event(app.mapper.to_domain_event(n), n.id)  # type: ignore[arg-type]
            for n in notifications]


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)
