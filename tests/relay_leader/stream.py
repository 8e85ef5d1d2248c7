"""The stream under test: a writer appending to the shared log while the relays run, the
topics read back (committed only, or everything the broker holds), and the checks on them."""

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from contract.changes import event_id_text
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings
from tests.kafka.streams import INTERVIEWS
from tests.support.builders import ATLAS


def writer_app(data_dir: Path, dsn: str | None) -> DecisionLog:
    """The writing side, in this process: on PostgreSQL at ``dsn``, else the SQLite store of
    ``data_dir``; it never publishes (Kafka is not configured here)."""
    store = StoreSettings(kind="postgres", dsn=SecretStr(dsn)) if dsn else StoreSettings()
    return build_application(Settings(data_dir=data_dir, store=store))


class Writer:
    """Re-ranks a few features of one product, one command every ``pace_s``, on a thread."""

    def __init__(self, app: DecisionLog, features: int = 12, pace_s: float = 0.01) -> None:
        self.app, self.pace_s = app, pace_s
        product = ATLAS.a_product(app, "Relayed")
        self.features = [ATLAS.a_feature(app, product, f"F{n}") for n in range(features)]
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True)
        self.failure: BaseException | None = None

    def _write(self) -> None:
        try:
            while not self._stop.wait(self.pace_s):
                feature = self.features[self.written % len(self.features)]
                self.app.change_priority(feature, float(self.written + 10), INTERVIEWS)
                self.written += 1
        except BaseException as failure:  # reported by stop()
            self.failure = failure

    def __enter__(self) -> "Writer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        assert self.failure is None, f"the writer failed: {self.failure!r}"


def stored_ids(dsn: str) -> set[str]:
    """The ``ce_id`` every event of the shared log must be published under."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT originator_id::text, originator_version FROM decisionlog_events").fetchall()
    return {event_id_text(entity, version) for entity, version in rows}


def log_end(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT max(notification_id) FROM decisionlog_events").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# Reading


@dataclass(frozen=True)
class Message:
    """A change message as read: where it sits, its key, its ce_id and its entity version."""

    topic: str
    partition: int
    offset: int
    key: str
    ce_id: str
    version: int


Marks = dict[tuple[str, int], int]


def consumer(bootstrap: str, isolation: str) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                         isolation_level=isolation)


def end_offsets(bootstrap: str, topics: list[str]) -> Marks:
    """Each partition's end offset now, uncommitted messages included."""
    reader = consumer(bootstrap, "read_uncommitted")
    try:
        partitions = _partitions(reader, topics)
        return {(tp.topic, tp.partition): offset
                for tp, offset in reader.end_offsets(partitions).items()}
    finally:
        reader.close()


def read_all(bootstrap: str, topics: list[str], isolation: str,
             timeout_s: float = 60.0) -> list[Message]:
    """Every message of ``topics`` up to their end now, with ``isolation``
    (``read_committed``: as a consumer of the contract sees them; ``read_uncommitted``: also
    the batches of aborted transactions), in offset order per partition."""
    reader = consumer(bootstrap, isolation)
    try:
        partitions = _partitions(reader, topics)
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        messages: list[Message] = []
        while any(reader.position(tp) < ends[tp] for tp in partitions):
            for tp, batch in reader.poll(timeout_ms=500).items():
                messages += [_message(tp, record) for record in batch]
            assert time.monotonic() < deadline, "timed out reading the topics"
    finally:
        reader.close()
    return sorted(messages, key=lambda m: (m.topic, m.partition, m.offset))


def _partitions(reader: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for topic in topics
            for p in sorted(reader.partitions_for_topic(topic) or ())]


def _message(tp: TopicPartition, record: Any) -> Message:
    headers = {name: value.decode() for name, value in record.headers}
    value = json.loads(record.value)
    return Message(tp.topic, tp.partition, record.offset, record.key.decode(),
                   headers["ce_id"], int(value["entity_version"]))


# Checking


def duplicates(messages: list[Message]) -> int:
    """How many messages repeat a ce_id read before."""
    return len(messages) - len({m.ce_id for m in messages})


def assert_each_key_in_order(messages: list[Message]) -> None:
    """Per key, in offset order, dropping the ce_ids already seen: versions strictly rise."""
    seen: set[str] = set()
    versions: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        if message.ce_id not in seen:
            seen.add(message.ce_id)
            versions[message.key].append(message.version)
    for key, in_order in versions.items():
        assert in_order == sorted(set(in_order)), f"{key}: versions out of order: {in_order}"


def assert_published_exactly(messages: list[Message], stored: set[str]) -> None:
    """Every stored event (``stored``: their ce_ids) has its message, and nothing else was
    published."""
    published = {m.ce_id for m in messages}
    assert published == stored, (f"{len(stored - published)} events missing, "
                                 f"{len(published - stored)} unknown messages")


def assert_no_old_versions_after(messages: list[Message], marks: Marks) -> None:
    """Nothing after ``marks`` (offsets per partition) goes back on its key: every version
    there is above every version of that key before the marks (a deposed leader would
    re-send old ones)."""
    before: dict[str, int] = defaultdict(int)
    for m in messages:
        if m.offset < marks.get((m.topic, m.partition), 0):
            before[m.key] = max(before[m.key], m.version)
    late = [m for m in messages if m.offset >= marks.get((m.topic, m.partition), 0)
            and m.version <= before[m.key]]
    assert not late, f"{len(late)} old versions published after the mark, e.g. {late[:3]}"
