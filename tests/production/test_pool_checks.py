"""The pools ping a connection only when it sat idle (a round trip saved per checkout under
load), and a connection that died while idle is never handed out: it fails its ping and the
pool replaces it, so the first request after a database restart succeeds."""

import time

import psycopg
import pytest

from services.store.postgres import PingWhenIdle, connection_pool


def backend_pids(dsn: str) -> set[int]:
    with psycopg.connect(dsn, autocommit=True) as admin:
        return {row[0] for row in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")}


def terminate(dsn: str, pids: set[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_killed_while_idle_is_replaced_before_it_is_handed_out(pg_dsn: str
                                                                            ) -> None:
    pool = connection_pool(pg_dsn, size=1, connect_timeout_s=3, statement_timeout_s=5,
                           name="ping-test")
    try:
        with pool.connection() as conn:
            first = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert first is not None
        terminate(pg_dsn, backend_pids(pg_dsn))  # as a database restart would
        time.sleep(PingWhenIdle().idle_s + 0.2)  # idle long enough to be pinged

        with pool.connection() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None and row[0] != first[0]  # a new connection, and it works
    finally:
        pool.close()


def test_only_a_connection_that_sat_idle_is_pinged(pg_dsn: str) -> None:
    ping = PingWhenIdle(idle_s=60)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        ping.returned(conn)
        terminate(pg_dsn, {conn.info.backend_pid})
        time.sleep(0.2)
        ping.check(conn)  # back a moment ago: handed out without a round trip
        ping.idle_s = 0
        with pytest.raises(psycopg.OperationalError):
            ping.check(conn)  # idle: pinged, and found dead
