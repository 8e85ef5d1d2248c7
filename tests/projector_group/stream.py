"""The shared PostgreSQL store under test: events written in this process, relayed to the
entity topics, and what the views built from them answer."""

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from pydantic import SecretStr

from contract.changes import event_id_text
from contract.topics import all_topics, entity_topics
from domain.clock import use_clock
from projections.feeding.catch_up import StoreCatchUp
from projections.pg_views import PgViews
from projections.views import Views
from services.runtime.bootstrap import build_application, build_relay
from services.runtime.settings import KafkaSettings, Settings, StoreSettings
from services.streaming.kafka_io import ensure_topics
from tests.kafka.streams import many_changes, roadmap_history
from tests.production.replicas import stored_events
from tests.relay_leader.stream import Message, read_all

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
#: Partitions per topic: with three members, each holds some of every topic's.
PARTITIONS = 6


class Stream:
    """Writes events to the PostgreSQL log at ``dsn``, one minute apart from :data:`T0`, and
    publishes them with an in-process relay (as ``pdl relay`` would)."""

    def __init__(self, tmp_path: Path, dsn: str, bootstrap: str, prefix: str) -> None:
        self.dsn, self.bootstrap, self.prefix = dsn, bootstrap, prefix
        self.settings = Settings(
            data_dir=tmp_path / "writer",
            store=StoreSettings(kind="postgres", dsn=SecretStr(dsn)),
            kafka=KafkaSettings(bootstrap_servers=bootstrap, topic_prefix=prefix,
                                client_id="pdl-test", partitions=PARTITIONS))
        self.app = build_application(self.settings)
        # The topics exist before any member starts (members meeting on topics just made
        # may leave one of them out: test_joining.py).
        ensure_topics(self.settings.kafka, all_topics(prefix))
        self.products: list[UUID] = []
        self.minutes = 0

    def env(self) -> dict[str, str]:
        """The PDL_* configuration of a projector on this store and these topics."""
        return {"PDL_STORE__KIND": "postgres", "PDL_STORE__DSN": self.dsn,
                "PDL_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
                "PDL_KAFKA__TOPIC_PREFIX": self.prefix, "PDL_KAFKA__CLIENT_ID": "pdl-test",
                "PDL_KAFKA__PARTITIONS": str(PARTITIONS)}

    def _tick(self) -> datetime:
        self.minutes += 1
        return T0 + timedelta(minutes=self.minutes)

    def write_products(self, count: int) -> None:
        """``count`` products, each with a history holding every kind of change."""
        with use_clock(self._tick):
            for _ in range(count):
                self.products.append(roadmap_history(self.app, f"P{len(self.products)}"))

    def write_bulk(self, count: int) -> None:
        """A product (not among :attr:`products`) with ``count`` priority changes over its
        features: a backlog."""
        with use_clock(self._tick):
            many_changes(self.app, count)

    def publish(self) -> None:
        """Relay everything written so far to the topics."""
        relay = build_relay(self.app, self.settings)
        assert relay is not None
        try:
            relay.run_until_caught_up()
        finally:
            relay.close()

    def middle(self) -> datetime:
        """An instant half-way through the history written."""
        return T0 + timedelta(minutes=self.minutes // 2, seconds=30)

    def close(self) -> None:
        self.app.close()


# The topics


def topics(prefix: str) -> list[str]:
    return entity_topics(prefix)


def messages(stream: Stream) -> list[Message]:
    """Every message on the entity topics, as a member reads them: the projectors' consumer
    keeps Kafka's default isolation (``read_uncommitted``), so a batch the relay aborted is
    handed to it too (it repeats stored events; applying them again changes nothing)."""
    return read_all(stream.bootstrap, topics(stream.prefix), "read_uncommitted")


def consumed_all(stream: Stream) -> dict[str, int]:
    """Per ``kafka:<topic>:<partition>`` holding messages: the offset after its last one,
    what a member that has consumed everything records (a transactional relay's commit
    marker may follow it: no consumer is ever handed that)."""
    ends: dict[str, int] = {}
    for m in messages(stream):
        where = f"kafka:{m.topic}:{m.partition}"
        ends[where] = max(ends.get(where, 0), m.offset + 1)
    return ends


def assert_all_consumed(stream: Stream) -> None:
    """Every partition's recorded offset is the one after its last message."""
    recorded, wanted = tracked(stream.dsn), consumed_all(stream)
    differ = {where: (recorded.get(where), wanted.get(where))
              for where in recorded.keys() | wanted.keys()
              if recorded.get(where) != wanted.get(where)}
    assert not differ, f"recorded offsets differ from the partitions' ends: {differ}"


def idle(stream: Stream, within_s: float = 60) -> None:
    """Wait until the members have recorded, for every partition holding messages, the
    offset after its last message (fails, naming the partitions behind, after
    ``within_s``)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and tracked(stream.dsn) != consumed_all(stream):
        time.sleep(0.2)
    assert_all_consumed(stream)


def write_and_publish(stream: Stream, rounds: int, products: int = 2) -> None:
    """``rounds`` times: write ``products`` products' histories, then relay them."""
    for _ in range(rounds):
        stream.write_products(products)
        stream.publish()


# The shared database


def tracked(dsn: str) -> dict[str, int]:
    """The offsets the members recorded with the views, per partition source."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT source, position FROM tracking WHERE source LIKE 'kafka:%'").fetchall()
    return {str(source): int(position) for source, position in rows}


def batch_rows(dsn: str) -> set[tuple[str, int, str]]:
    """The tracking rows every applied batch writes (each partition's next offset and the
    highest log position applied from it), with their row version (``xmin``): a batch
    rewrites them, even to the same values. (The ``bound:`` rows, an idle member's record of
    how far the views are complete, are rewritten without any batch.)"""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT source, position, xmin::text FROM tracking "
            "WHERE source LIKE 'kafka:%' OR source LIKE 'applied:%'").fetchall()
    return {(str(s), int(p), str(x)) for s, p, x in rows}


def applied_with_offsets(dsn: str) -> tuple[dict[str, int], set[str]]:
    """In one snapshot (members may be writing): the recorded offsets, and the event id of
    every audit row."""
    with psycopg.connect(dsn) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            offsets = conn.execute(
                "SELECT source, position FROM tracking WHERE source LIKE 'kafka:%'").fetchall()
            rows = conn.execute("SELECT entity_id, entity_version FROM audit").fetchall()
    return ({str(s): int(p) for s, p in offsets},
            {event_id_text(str(entity), int(version)) for entity, version in rows})


def assert_rows_match_offsets(stream: Stream) -> None:
    """The views hold the rows of exactly the messages below each partition's recorded
    offset: rows and offsets are written together, never one without the other."""
    offsets, present = applied_with_offsets(stream.dsn)
    expected = ids_applied_below(messages(stream), offsets)
    assert present == expected, (f"{len(expected - present)} rows missing below the recorded "
                                 f"offsets, {len(present - expected)} rows beyond them")


def stored_count(dsn: str) -> int:
    return len(stored_events(dsn))


# What the views answer


def whole_audit(views: Views) -> list[dict[str, Any]]:
    """Every audit item, in (entity, version) order: members apply in partition order, not
    in log order, so the rows' own sequence differs from a store-fed audit's."""
    items: list[dict[str, Any]] = []
    page = views.audit(limit=1000)
    items += page["items"]
    while page["next_cursor"] is not None:
        page = views.audit(limit=1000, cursor=page["next_cursor"])
        items += page["items"]
    return sorted(items, key=lambda i: (i["entity_id"], i["entity_version"]))


def audited(views: Views) -> list[tuple[str, int]]:
    """(entity, version) of every audit row, repeats kept."""
    return sorted((str(i["entity_id"]), int(i["entity_version"])) for i in whole_audit(views))


def checksum(views: Views) -> str:
    return hashlib.sha256(json.dumps(whole_audit(views), sort_keys=True,
                                     default=str).encode()).hexdigest()


def answers(views: Views, stream: Stream) -> dict[str, Any]:
    """What a reader asks of each product, now and half-way through, and the whole audit."""
    middle = stream.middle()
    return {
        "roadmaps": {str(p): views.roadmap(p) for p in stream.products},
        "roadmaps_then": {str(p): views.roadmap(p, middle) for p in stream.products},
        "product_histories": {str(p): views.product_history(p) for p in stream.products},
        "audit": whole_audit(views),
    }


def store_fed(stream: Stream, path: Path) -> dict[str, Any]:
    """The answers of views caught up from the store itself (the reference)."""
    views = Views(path)
    try:
        StoreCatchUp(stream.app, views).run_until_caught_up()
        return answers(views, stream)
    finally:
        views.close()


def kafka_fed(stream: Stream) -> dict[str, Any]:
    """The answers of the shared PostgreSQL views the members built."""
    views = PgViews(stream.dsn)
    try:
        return answers(views, stream)
    finally:
        views.close()


def assert_same_answers(stream: Stream, tmp_path: Path) -> None:
    """The members' views answer exactly as store-fed views, and hold one audit row per
    stored event (nothing missing, nothing stale or repeated)."""
    expected = store_fed(stream, tmp_path / "ref.db")
    actual = kafka_fed(stream)
    assert None not in expected["roadmaps"].values()
    assert expected["roadmaps_then"] != expected["roadmaps"]  # the instant is meaningful
    assert len(expected["audit"]) == stored_count(stream.dsn)
    rows = [(str(i["entity_id"]), int(i["entity_version"])) for i in actual["audit"]]
    assert len(rows) == len(set(rows)), "an event has several audit rows"
    assert set(rows) == stored_events(stream.dsn), (
        f"{len(stored_events(stream.dsn) - set(rows))} events missing, "
        f"{len(set(rows) - stored_events(stream.dsn))} rows of no stored event")
    for question in ("roadmaps", "roadmaps_then", "product_histories", "audit"):
        assert actual[question] == expected[question], f"{question} differ"


def ids_applied_below(messages_: list[Message], offsets: dict[str, int]) -> set[str]:
    """The ce_ids of the messages below each partition's recorded offset."""
    return {m.ce_id for m in messages_
            if m.offset < offsets.get(f"kafka:{m.topic}:{m.partition}", 0)}
