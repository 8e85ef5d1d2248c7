"""The leader killed with ``kill -9`` mid-stream, again and again: another candidate takes
over within the lease (plus a margin), and in the end nothing is missing, each key in order."""

from pathlib import Path

import pytest

from contract.topics import entity_topics
from tests.kafka.conftest import Broker
from tests.kafka.streams import wait_until
from tests.relay_leader.candidates import (
    BATCH,
    Candidate,
    leader,
    next_leader,
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

LEASE_S = 3.0
#: A dead leader's lease runs out at most LEASE_S after the kill; a candidate tries every
#: second; the rest is the take-over's own round trips.
MARGIN_S = 2.0
KILLS = 3


def test_a_killed_leader_is_replaced_within_its_lease_and_nothing_is_lost(
        pg_dsn: str, broker: Broker, prefix: str, tmp_path: Path,
        started: list[Candidate]) -> None:
    env = relay_env(pg_dsn, broker.bootstrap, prefix, PDL_KAFKA__RELAY_LEASE_S=str(LEASE_S))
    app = writer_app(tmp_path / "writer", pg_dsn)
    takeovers: list[float] = []
    try:
        with Writer(app):
            started += [start(tmp_path, f"relay{n}", env) for n in range(2)]

            takeovers += [kill_the_leader(started, pg_dsn, tmp_path, env) for _ in range(KILLS)]
        end = log_end(pg_dsn)
        wait_until(lambda: published_position(pg_dsn) >= end, 60, "the last leader to catch up")
        stop_all(started)
    finally:
        app.close()

    assert max(takeovers) <= LEASE_S + MARGIN_S, f"take-overs took {takeovers} s"
    messages = read_all(broker.bootstrap, entity_topics(prefix), "read_committed")
    assert_published_exactly(messages, stored_ids(pg_dsn))
    assert_each_key_in_order(messages)
    assert duplicates(messages) <= KILLS * BATCH  # at most the batch each dead leader sent


def kill_the_leader(started: list[Candidate], dsn: str, tmp_path: Path,
                    env: dict[str, str]) -> float:
    """Kill the leader once it publishes; how long until another one leads. Then start a
    fresh candidate: always two at least."""
    killed, at = leader(started, dsn), published_position(dsn)
    wait_until(lambda: published_position(dsn) > at, 30, "the leader publishing")
    killed.kill()
    successor, took = next_leader(started, LEASE_S + MARGIN_S)
    assert successor is leader(started, dsn)
    fresh = start(tmp_path, f"relay{len(started)}", env)
    started.append(fresh)
    wait_until(lambda: "starting" in fresh.printed(), 30, "the fresh candidate")
    return took
