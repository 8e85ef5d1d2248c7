"""Relay positions: the same behaviour on SQLite and on PostgreSQL (no broker needed), and on
PostgreSQL, a position that never goes back whichever replica writes it."""

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from services.store.postgres import connection_pool, migrate_pool
from services.streaming.pg_positions import PgRelayPositions
from services.streaming.positions import RelayPositions, Resume, Target

Positions = RelayPositions | PgRelayPositions
HERE = Target("cluster-a", "pdl.")
THERE = Target("cluster-b", "pdl.")


class Backing:
    """One SQLite file or one PostgreSQL database; each store opened on it stands for
    another relay process or replica."""

    def __init__(self, kind: str, tmp_path: Path, dsn: str | None, stack: ExitStack) -> None:
        self.kind, self._path, self._dsn, self._stack = kind, tmp_path / "events.db", dsn, stack

    def positions(self) -> Positions:
        if self.kind == "sqlite":
            store: Positions = RelayPositions(self._path)
        else:
            assert self._dsn is not None
            pool = connection_pool(self._dsn, size=10, connect_timeout_s=10,
                                   statement_timeout_s=30, name="test-replica")
            self._stack.callback(pool.close)
            migrate_pool(pool, PgRelayPositions.COMPONENT, PgRelayPositions.MIGRATIONS)
            store = PgRelayPositions(pool)
        self._stack.callback(store.close)
        return store


@pytest.fixture(params=["sqlite", "postgres"])
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backing]:
    dsn = request.getfixturevalue("pg_dsn") if request.param == "postgres" else None
    with ExitStack() as stack:
        yield Backing(request.param, tmp_path, dsn, stack)


@pytest.fixture
def postgres(tmp_path: Path, pg_dsn: str) -> Iterator[Backing]:
    with ExitStack() as stack:
        yield Backing("postgres", tmp_path, pg_dsn, stack)


def at_once(count: int, action: Any) -> list[Any]:
    """``action(0)`` … ``action(count - 1)``, each in its own thread, started together."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        return action(i)

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(run, range(count)))


# On both stores


def test_a_relay_that_never_published_is_at_zero(backing: Backing) -> None:
    positions = backing.positions()

    assert positions.get("kafka") == 0
    assert positions.get("kafka", HERE) == 0


def test_a_new_target_resumes_from_zero_and_is_recorded(backing: Backing) -> None:
    positions = backing.positions()

    assert positions.resume("kafka", HERE, published_there=False) == Resume(0, 0)
    positions.set("kafka", HERE, 7, 5)
    assert positions.resume("kafka", HERE, published_there=True) == Resume(7, 5)


def test_a_recorded_position_is_read_back_per_target(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 10, 10)
    positions.set("kafka", THERE, 3, 2)

    assert positions.get("kafka", HERE) == 10
    assert positions.get("kafka", THERE) == 3
    assert positions.get("kafka", Target("cluster-a", "other.")) == 0
    assert positions.get("other-relay", HERE) == 0


def test_without_a_target_the_position_recorded_last_is_read(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 10, 10)
    positions.set("kafka", THERE, 3, 3)

    assert positions.get("kafka") == 3


def test_a_position_never_moves_back(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 10, 8)

    positions.set("kafka", HERE, 4, 9)  # a late batch: its states only are further on

    assert positions.resume("kafka", HERE, published_there=False) == Resume(10, 9)


def test_a_rewind_moves_both_positions_back(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 10, 10)

    positions.rewind("kafka", HERE, 4)

    assert positions.resume("kafka", HERE, published_there=False) == Resume(4, 4)
    positions.set("kafka", HERE, 6, 6)
    assert positions.get("kafka", HERE) == 6


def test_a_reset_forgets_every_target_of_one_relay_only(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 10, 10)
    positions.set("kafka", THERE, 3, 3)
    positions.set("other", HERE, 5, 5)

    positions.reset("kafka")

    assert positions.get("kafka") == 0
    assert positions.get("kafka", HERE) == positions.get("kafka", THERE) == 0
    assert positions.get("other", HERE) == 5


def test_positions_beyond_32_bits_are_kept(backing: Backing) -> None:
    positions = backing.positions()
    positions.set("kafka", HERE, 2**40, 2**40 - 1)

    assert positions.resume("kafka", HERE, published_there=False) == Resume(2**40, 2**40 - 1)


# Across PostgreSQL replicas


def test_a_position_recorded_by_one_replica_is_read_by_another(postgres: Backing) -> None:
    one, other = postgres.positions(), postgres.positions()

    one.set("kafka", HERE, 12, 12)

    assert other.get("kafka", HERE) == 12
    assert other.resume("kafka", HERE, published_there=False) == Resume(12, 12)


def test_a_deposed_relay_writing_late_does_not_take_the_position_back(
        postgres: Backing) -> None:
    leader, deposed = postgres.positions(), postgres.positions()
    leader.set("kafka", HERE, 100, 100)

    deposed.set("kafka", HERE, 40, 40)

    assert leader.get("kafka", HERE) == 100
    assert leader.resume("kafka", HERE, published_there=False) == Resume(100, 100)


def test_positions_written_by_replicas_at_once_end_at_the_highest(postgres: Backing) -> None:
    replicas = [postgres.positions() for _ in range(3)]
    written = random.Random(13).sample(range(1, 10_000), 30)

    at_once(30, lambda i: replicas[i % 3].set("kafka", HERE, written[i], written[i] - 1))

    assert replicas[0].resume("kafka", HERE, published_there=False) == Resume(
        max(written), max(written) - 1)


def test_replicas_resuming_a_new_target_at_once_all_start_from_zero(postgres: Backing) -> None:
    replicas = [postgres.positions() for _ in range(4)]

    resumed = at_once(8, lambda i: replicas[i % 4].resume("kafka", HERE, published_there=True))

    assert resumed == [Resume(0, 0)] * 8


def test_replicas_migrating_at_once_create_the_table_once(postgres: Backing) -> None:
    replicas = at_once(6, lambda i: postgres.positions())
    replicas[0].set("kafka", HERE, 1, 1)

    assert all(r.get("kafka", HERE) == 1 for r in replicas)
