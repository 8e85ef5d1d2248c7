"""A leader paused (SIGSTOP) for longer than its lease while writes go on: another candidate
takes over; resumed, the old one publishes nothing, not even into aborted transactions, and
says that it no longer leads."""

import signal
import time
from pathlib import Path

import pytest

from contract.topics import entity_topics
from tests.kafka.conftest import Broker
from tests.kafka.streams import wait_until
from tests.relay_leader.candidates import (
    BATCH,
    Candidate,
    holder_pid,
    leader,
    lease_holder,
    next_leader,
    published_position,
    relay_env,
    start,
    stop_all,
)
from tests.relay_leader.stream import (
    Writer,
    assert_each_key_in_order,
    assert_no_old_versions_after,
    assert_published_exactly,
    duplicates,
    end_offsets,
    log_end,
    read_all,
    stored_ids,
    writer_app,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LEASE_S = 3.0
#: How long the resumed leader runs on beside the new one while writes continue.
AFTER_RESUME_S = 4.0


def test_a_leader_paused_beyond_its_lease_publishes_nothing_once_it_resumes(
        pg_dsn: str, broker: Broker, prefix: str, tmp_path: Path,
        started: list[Candidate]) -> None:
    env = relay_env(pg_dsn, broker.bootstrap, prefix, PDL_KAFKA__RELAY_LEASE_S=str(LEASE_S))
    topics = entity_topics(prefix)
    app = writer_app(tmp_path / "writer", pg_dsn)
    try:
        with Writer(app):
            started += [start(tmp_path, f"relay{n}", env) for n in range(2)]
            old = leader(started, pg_dsn)
            at = published_position(pg_dsn)
            wait_until(lambda: published_position(pg_dsn) > at, 30, "the leader publishing")
            old.process.send_signal(signal.SIGSTOP)
            paused = time.monotonic()
            new, _ = next_leader(started, 2 * LEASE_S)
            at = published_position(pg_dsn)
            wait_until(lambda: published_position(pg_dsn) > at, 30, "the new leader publishing")
            time.sleep(max(0.0, paused + LEASE_S + 1 - time.monotonic()))
            marks = end_offsets(broker.bootstrap, topics)
            old.process.send_signal(signal.SIGCONT)
            time.sleep(AFTER_RESUME_S)
        end = log_end(pg_dsn)
        wait_until(lambda: published_position(pg_dsn) >= end, 60, "the new leader to catch up")
        holder = lease_holder(pg_dsn)
        deposed = old.was_deposed()
        stop_all(started)
    finally:
        app.close()

    assert deposed, old.printed()[-3000:]
    assert holder_pid(holder) == new.pid, (holder, new.pid)
    everything = read_all(broker.bootstrap, topics, "read_uncommitted")
    assert_no_old_versions_after(everything, marks)
    committed = read_all(broker.bootstrap, topics, "read_committed")
    assert_published_exactly(committed, stored_ids(pg_dsn))
    assert_each_key_in_order(committed)
    assert duplicates(committed) <= BATCH  # at most the batch the paused leader committed
