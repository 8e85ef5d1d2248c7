"""The published contract: generated files are fresh, and every message matches its schema.

These tests need no broker: messages are built exactly as the relay builds them.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError

from contract import generate
from contract.changes import CHANGE_TYPES
from contract.cloudevents import messages_for
from contract.roadmap_changes import ROADMAP_TYPES
from contract.topics import all_topics
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings
from tests.kafka.streams import (
    WIKI,
    Record,
    assert_valid,
    decision_history,
    roadmap_history,
    stored_changes,
)
from tests.support.builders import because


@pytest.fixture
def store(tmp_path: Path) -> Any:
    app = build_application(Settings(data_dir=tmp_path))
    yield app
    app.close()


def test_the_committed_contract_files_are_what_the_generator_writes_now() -> None:
    stale = generate.stale_files()
    assert not stale, f"contract files are stale: {stale}; run python -m contract.generate"


def test_every_public_change_type_and_roadmap_change_type_has_a_schema_and_a_summary() -> None:
    names = set(generate.schemas())
    for _, change_type in CHANGE_TYPES.values():
        assert f"{change_type}.v1.json" in names
        assert change_type in generate.CHANGE_SUMMARIES, (
            f"describe {change_type} in contract/generate.py CHANGE_SUMMARIES")
    for roadmap_type in ROADMAP_TYPES:
        assert f"{roadmap_type}.v1.json" in names


def test_every_message_of_a_full_roadmap_history_matches_its_schemas(store: DecisionLog) -> None:
    product = roadmap_history(store)
    store.retire_product(product, because("Sunset.", WIKI))
    decision_history(store)
    checked: set[str] = set()
    for change in stored_changes(store):
        for message in messages_for(change, "pdl"):
            headers = {k: v.decode() for k, v in message.headers}
            assert_valid(Record(message.topic, 0, 0, message.key.decode(), headers,
                                json.loads(message.value)))
            checked.add(headers["ce_type"])
            assert message.topic in all_topics("pdl")
    expected = ({f"com.pdl.{t}.v1" for _, t in CHANGE_TYPES.values()}
                | {f"com.pdl.{t}.v1" for t in ROADMAP_TYPES})
    assert checked == expected


def test_the_asyncapi_document_references_only_things_that_exist() -> None:
    document = generate.asyncapi()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        if ref.startswith("#/"):
            node = document
            for part in ref[2:].split("/"):
                node = node[part]
        else:
            assert (generate.CONTRACT_DIR / ref).is_file(), ref
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == {
        t.replace("pdl.", "{prefix}.", 1) for t in all_topics("pdl")}


def test_the_asyncapi_document_states_the_compatibility_rule() -> None:
    description = generate.asyncapi()["info"]["description"]
    assert "only change allowed to an existing message is adding optional fields" in description
    assert "new `com.pdl.<type>.v2` types on new `.v2` topics" in description


def test_a_schema_refuses_a_message_that_breaks_the_contract(store: DecisionLog) -> None:
    roadmap_history(store)
    change = next(c for c in stored_changes(store) if c.type == "feature.scheduled")
    message = messages_for(change, "pdl")[0]
    value = json.loads(message.value)
    del value["data"]["release_id"]
    headers = {k: v.decode() for k, v in message.headers}
    with pytest.raises(ValidationError, match="release_id"):
        assert_valid(Record(message.topic, 0, 0, message.key.decode(), headers, value))
