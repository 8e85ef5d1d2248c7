"""``docs/consuming.md`` runs as written: each marked example, against the real broker, on
topics the relay filled with a roadmap's history, plus a third of it published again with
the same ``ce_id``s (as a relay crash does), which the examples must see through."""

import contextlib
import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from contract.changes import Change
from contract.cloudevents import messages_for
from contract.roadmap_changes import roadmap_change_from
from contract.topics import entity_topic, roadmap_topic
from services.runtime.bootstrap import build_application, build_relay
from services.runtime.settings import KafkaSettings, Settings
from tests.kafka.conftest import REPO, Broker
from tests.kafka.streams import Record, read_topics, roadmap_history, stored_changes

pytestmark = pytest.mark.kafka

GUIDE = REPO / "docs" / "consuming.md"
MARK = re.compile(r"<!-- example ([\w-]+): run by tests/kafka/test_consumer_guide\.py -->\n"
                  r"```(python|sh)\n(.*?)```", flags=re.DOTALL)


def examples() -> dict[str, tuple[str, str]]:
    """The marked blocks of the guide: name -> (language, code)."""
    return {name: (language, code) for name, language, code in MARK.findall(GUIDE.read_text())}


@dataclass
class Stream:
    """Topics the relay filled, with duplicates: what the examples should find there."""

    bootstrap: str
    prefix: str
    changes: list[Change]

    def topic(self, entity_type: str) -> str:
        return entity_topic(self.prefix, entity_type)

    def records(self, topic: str) -> list[Record]:
        return read_topics(self.bootstrap, [topic])

    def ids(self, entity_type: str) -> set[str]:
        return {c.event_id for c in self.changes if c.entity_type == entity_type}


@pytest.fixture(scope="module")
def stream(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stream]:
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, client_id="pdl-guide",
                          topic_prefix=f"g{uuid.uuid4().hex[:10]}", partitions=3)
    settings = Settings(data_dir=tmp_path_factory.mktemp("guide") / "data", kafka=kafka)
    app = build_application(settings)
    try:
        roadmap_history(app)
        relay = build_relay(app, settings)
        assert relay is not None
        relay.run_until_caught_up()
        relay.close()
        changes = stored_changes(app)
    finally:
        app.close()
    publish_again(broker.bootstrap, kafka.topic_prefix, changes[::3])
    yield Stream(broker.bootstrap, kafka.topic_prefix, changes)


def publish_again(bootstrap: str, prefix: str, changes: list[Change]) -> None:
    """The messages of ``changes`` once more, byte for byte, as a relay crash re-publishes."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for change in changes:
        for message in messages_for(change, prefix):
            producer.send(message.topic, key=message.key, value=message.value,
                          headers=message.headers)
    producer.flush()
    producer.close()


@pytest.fixture
def reader(stream: Stream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A reader's shell: the service's Kafka settings, in a folder of their own that has the
    repository's contract/ (the schema example reads the bundle there)."""
    monkeypatch.setenv("PDL_KAFKA__BOOTSTRAP_SERVERS", stream.bootstrap)
    monkeypatch.setenv("PDL_KAFKA__TOPIC_PREFIX", stream.prefix)
    (tmp_path / "contract").symlink_to(REPO / "contract")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(name: str) -> tuple[dict[str, Any], str]:
    """Run the Python example ``name``; its variables and what it printed."""
    language, code = examples()[name]
    assert language == "python"
    namespace: dict[str, Any] = {"__name__": f"consuming_{name.replace('-', '_')}"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"{GUIDE}:{name}", "exec"), namespace)
    return namespace, printed.getvalue()


def test_the_guide_marks_an_example_for_each_client() -> None:
    assert {name: language for name, (language, _) in examples().items()} == {
        "kafka-python": "python", "confluent-kafka": "python", "replay": "python",
        "schema": "python", "console-consumer": "sh", "current-state": "python"}


def test_the_kafka_python_example_reads_each_change_once_in_order_despite_duplicates(
        stream: Stream, reader: Path) -> None:
    raw = stream.records(stream.topic("feature"))

    found, printed = run("kafka-python")

    assert found["seen"] == stream.ids("feature")
    assert len(raw) > len(found["seen"])  # the duplicates were there, and were dropped
    assert {c["entity_id"] for c in found["features"].values()} == {
        c.entity_id for c in stream.changes if c.entity_type == "feature"}
    assert len(printed.splitlines()) == len(found["seen"])
    assert "com.pdl.feature.scheduled.v1" in printed and "Q1 is full." in printed


def test_the_confluent_kafka_example_handles_each_roadmap_change_once_and_replays_from_zero(
        stream: Stream, reader: Path) -> None:
    roadmap = [rc for c in stream.changes if (rc := roadmap_change_from(c)) is not None]
    raw = stream.records(roadmap_topic(stream.prefix))
    assert len(raw) > len(roadmap)

    found, printed = run("confluent-kafka")
    again, _ = run("confluent-kafka")  # the group carries on after its committed offsets

    handled = {row[0] for row in found["db"].execute("SELECT ce_id FROM handled")}
    assert handled == {rc.change_id for rc in roadmap}
    slip = next(rc for rc in roadmap if rc.type == "roadmap.release_slipped")
    assert printed.strip() == repr([(slip.entity_id, 15, "Slip: hiring.")])
    assert again["db"].execute("SELECT count(*) FROM slips").fetchone() == (1,)
    assert (reader / "slips.db").is_file()

    replayed, said = run("replay")

    assert replayed["replayed"] == len(raw)
    assert replayed["distinct"] == handled
    assert said.strip() == f"{len(raw)} messages replayed, {len(handled)} distinct changes"


def test_the_schema_example_checks_every_message_against_its_dataschema(
        stream: Stream, reader: Path) -> None:
    raw = stream.records(stream.topic("release"))

    found, printed = run("schema")

    assert found["checked"] == len(raw) > 0
    assert printed.strip() == f"{len(raw)} messages match their schemas"


def test_the_console_consumer_example_prints_every_message_with_its_headers(
        stream: Stream, reader: Path) -> None:
    raw = stream.records(stream.topic("feature"))
    _, code = examples()["console-consumer"]

    done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(raw)
    assert all(line.startswith("Partition:") for line in lines)
    assert {re.search(r"ce_id:([0-9a-f-]{36})", line).group(1)  # type: ignore[union-attr]
            for line in lines} == stream.ids("feature")
    assert all("ce_dataschema:urn:pdl:schema:feature." in line for line in lines)
    assert f"Processed a total of {len(raw)} messages" in done.stderr


def test_the_current_state_example_keeps_the_latest_state_of_each_feature(
        stream: Stream, reader: Path) -> None:
    last: dict[str, Change] = {c.entity_id: c for c in stream.changes
                               if c.entity_type == "feature"}

    found, printed = run("current-state")

    assert {key: m["entity_version"] for key, m in found["now"].items()} == {
        key: c.entity_version for key, c in last.items()}
    assert sorted(printed.splitlines()) == sorted(
        f"{m['state']['title']} {m['state']['status']} {m['state']['release_id']}"
        for m in found["now"].values())
    assert "CSV export accepted None" in printed.splitlines()
