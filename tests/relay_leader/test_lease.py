"""The relay lease in PostgreSQL on its own: one holder at a time, taken over only once it
expired, and an epoch that goes up with every change of hands (also after a clean release)."""

import time
from collections.abc import Iterator

import pytest
from psycopg_pool import ConnectionPool

from services.store import postgres
from services.streaming.leases import PgRelayLease


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool]:
    pool = postgres.connection_pool(pg_dsn, size=4, connect_timeout_s=3,
                                    statement_timeout_s=5, name="lease-test")
    postgres.migrate_pool(pool, PgRelayLease.COMPONENT, PgRelayLease.MIGRATIONS)
    yield pool
    pool.close()


def test_one_holder_at_a_time_and_the_epoch_goes_up_with_each_holder(
        pool: ConnectionPool) -> None:
    first, second = (PgRelayLease(pool, "pdl.kafka", ttl_s=1.0) for _ in range(2))

    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held  # not expired yet
    assert first.try_acquire()  # a renewal: the same holding
    assert first.leadership().epoch == 1
    assert second.leadership().holder == first.me

    time.sleep(1.2)  # first stops renewing: its lease expires
    assert not first.held
    assert second.try_acquire()
    assert second.leadership().epoch == 2
    assert not first.try_acquire()

    second.release()  # a clean stop: the other may take over at once
    assert first.try_acquire()
    assert first.leadership().epoch == 3


def test_leases_of_different_targets_are_independent(pool: ConnectionPool) -> None:
    one, other = PgRelayLease(pool, "a.kafka", ttl_s=5), PgRelayLease(pool, "b.kafka", ttl_s=5)

    assert one.try_acquire() and other.try_acquire()
