"""On one host (the SQLite store), two ``pdl relay`` of one data folder: the file lock lets
one publish; killed, it lets go of the lock and the other takes over."""

import time
from pathlib import Path

import pytest

from contract.topics import entity_topics
from services.runtime.settings import Settings
from services.streaming.relay import RelayPositions
from tests.kafka.conftest import Broker
from tests.kafka.streams import stored_changes, wait_until
from tests.relay_leader.candidates import BATCH, Candidate, next_leader, relay_env, start
from tests.relay_leader.stream import (
    Writer,
    assert_each_key_in_order,
    assert_published_exactly,
    duplicates,
    read_all,
    writer_app,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: A candidate tries the lock every second; the rest is margin.
TAKEOVER_S = 3.0


def test_two_relays_of_one_data_folder_publish_one_at_a_time_through_the_file_lock(
        broker: Broker, prefix: str, tmp_path: Path, started: list[Candidate]) -> None:
    data = tmp_path / "host"
    app = writer_app(data, None)
    positions = RelayPositions(Settings(data_dir=data).events_path)
    env = relay_env(None, broker.bootstrap, prefix)
    try:
        with Writer(app, pace_s=0.02):
            started += [start(tmp_path, f"relay{n}", env, data) for n in range(2)]
            wait_until(lambda: positions.get("kafka") > 0, 60, "the first batch")
            wait_until(lambda: all("starting" in c.printed() for c in started), 30, "both")
            time.sleep(1.5)  # long enough for the other to have tried the lock
            assert sorted(c.times_leading() for c in started) == [0, 1]
            first = next(c for c in started if c.leads())
            first.kill()
            second, took = next_leader(started, TAKEOVER_S)
            at = positions.get("kafka")
            wait_until(lambda: positions.get("kafka") > at, 30, "the second publishing")
        end = app.recorder.max_notification_id() or 0
        wait_until(lambda: positions.get("kafka") >= end, 60, "the second to catch up")
        second.stop()
        stored = {change.event_id for change in stored_changes(app)}
    finally:
        positions.close()
        app.close()

    assert took <= TAKEOVER_S, f"the take-over took {took:.1f} s"
    messages = read_all(broker.bootstrap, entity_topics(prefix), "read_committed")
    assert_published_exactly(messages, stored)
    assert_each_key_in_order(messages)
    assert duplicates(messages) <= BATCH
