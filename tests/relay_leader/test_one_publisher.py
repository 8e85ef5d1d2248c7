"""Two or three ``pdl relay`` candidates on one PostgreSQL store: exactly one publishes, and a
consumer reading committed messages gets every stored event once, each key in order."""

import time
from pathlib import Path

import pytest

from contract.topics import entity_topics
from tests.kafka.conftest import Broker
from tests.kafka.streams import wait_until
from tests.relay_leader.candidates import (
    Candidate,
    published_position,
    relay_env,
    start,
    stop_all,
)
from tests.relay_leader.stream import (
    Writer,
    assert_each_key_in_order,
    assert_published_exactly,
    duplicates,
    log_end,
    read_all,
    stored_ids,
    writer_app,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.mark.parametrize("count", [2, 3])
def test_of_several_candidates_exactly_one_publishes_every_event_once_and_in_order(
        count: int, pg_dsn: str, broker: Broker, prefix: str, tmp_path: Path,
        started: list[Candidate]) -> None:
    app = writer_app(tmp_path / "writer", pg_dsn)
    try:
        with Writer(app):
            started += [start(tmp_path, f"relay{n}", relay_env(pg_dsn, broker.bootstrap, prefix))
                        for n in range(count)]
            wait_until(lambda: published_position(pg_dsn) > 0, 60, "the first batch")
            time.sleep(2)  # writing on while the leader publishes
        end = log_end(pg_dsn)
        wait_until(lambda: published_position(pg_dsn) >= end, 60, "the leader to catch up")
        leading = sorted(c.times_leading() for c in started)
        stop_all(started)
    finally:
        app.close()

    assert leading == [0] * (count - 1) + [1], [c.printed()[-2000:] for c in started]
    messages = read_all(broker.bootstrap, entity_topics(prefix), "read_committed")
    assert_published_exactly(messages, stored_ids(pg_dsn))
    assert_each_key_in_order(messages)
    assert duplicates(messages) == 0  # no hand-over, no message twice
