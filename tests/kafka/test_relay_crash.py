"""A relay process killed with SIGKILL mid-stream loses nothing when it is started again."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from contract.topics import entity_topics
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from services.streaming.relay import RelayPositions
from tests.kafka.conftest import REPO, Broker
from tests.kafka.streams import (
    INTERVIEWS,
    assert_per_key_order,
    many_changes,
    read_topics,
    stored_changes,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def relay_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``pdl relay`` on the test's store and topics, small batches."""
    env = {**os.environ,
           "PDL_DATA_DIR": str(settings.data_dir),
           "PDL_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
           "PDL_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
           "PDL_KAFKA__CLIENT_ID": "pdl-test-relay"}
    return subprocess.Popen(
        [sys.executable, "-m", "services.runtime.cli", "relay", "--batch-size", "100",
         "--poll-interval", "0.05"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("ab"),
    )


def test_a_relay_killed_mid_stream_republishes_at_most_its_last_batch_and_loses_nothing(
        app: DecisionLog, settings: Settings, broker: Broker, tmp_path: Path) -> None:
    features = many_changes(app, 3000, features=200)
    positions = RelayPositions(settings.events_path)
    more = threading.Thread(
        target=lambda: [app.change_priority(features[n % 200], float(10_000 + n), INTERVIEWS)
                        for n in range(1000)])
    log = tmp_path / "relay.log"

    first = relay_process(settings, log)
    more.start()
    try:
        wait_until(lambda: positions.get("kafka") > 0, 60, "the first published batch")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = positions.get("kafka")
    more.join()
    total = app.event_count()
    assert 0 < killed_at < total, "the relay must be killed mid-stream"

    second = relay_process(settings, log)
    try:
        wait_until(lambda: positions.get("kafka") == total, 120, "the restarted relay")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()
    positions.close()

    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=total)
    stored_ids = {c.event_id for c in stored_changes(app)}
    assert {r.headers["ce_id"] for r in records} == stored_ids
    assert len(records) >= total
    assert len(records) - total <= 2 * 100  # at most the two batches in flight re-published
    assert_per_key_order(records)
