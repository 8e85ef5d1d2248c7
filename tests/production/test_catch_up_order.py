"""Writers committing at once on two replicas, while every replica's catch-up tails the shared
log: the views end with exactly the stored events, none skipped (a position committed after a
higher one must still be seen), none doubled, in log order."""

from pathlib import Path

import psycopg
import pytest

from tests.production.replicas import (
    clients,
    first_admin,
    in_threads,
    log_position,
    replica,
    stored_events,
    whole_audit,
)

pytestmark = pytest.mark.slow

WRITERS_PER_REPLICA = 8
EACH = 30


def stored_positions(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT notification_id FROM decisionlog_events ORDER BY notification_id").fetchall()
    return [int(position) for position, in rows]


def test_the_views_of_every_replica_hold_exactly_the_stored_events_after_concurrent_writes(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b:
        with clients(token, a) as (setup,):
            product = setup.create_product()["id"]

        def writer(n: int) -> None:
            with clients(token, (a, b)[n % 2]) as (api,):
                feature = api.propose(product, f"Feature {n}")["id"]
                for i in range(EACH):
                    if i % 3 == 0:
                        api.create_product(name=f"Product {n}-{i}")
                    else:
                        api.write(f"/features/{feature}/requirements",
                                  {"text": f"{n}-{i}", "rationale": "asked"})

        in_threads(2 * WRITERS_PER_REPLICA, writer)
        end = log_position(pg_dsn)
        with replica(tmp_path, "c", pg_dsn) as c, clients(token, a, b, c) as apis:
            audits = [whole_audit(api, end) for api in apis]

    stored = stored_events(pg_dsn)
    positions = stored_positions(pg_dsn)
    assert len(stored) == 1 + 2 * WRITERS_PER_REPLICA * (1 + EACH)
    for audit in audits:
        assert {(i["entity_id"], i["entity_version"]) for i in audit} == stored
        assert [i["position"] for i in audit] == positions
