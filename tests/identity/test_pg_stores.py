"""Tokens and idempotency keys: the same behaviour on SQLite and on PostgreSQL, and on
PostgreSQL, what several replicas sharing one database see of each other's writes."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from services.identity.idempotency import Claim, IdempotencyStore, StoredResponse, WouldWait
from services.identity.pg_stores import PgIdempotencyStore, PgTokenStore
from services.identity.tokens import LastAdminToken, Role, TokenNameTaken, TokenStore
from services.store.postgres import connection_pool, migrate_pool

Tokens = TokenStore | PgTokenStore
Keys = IdempotencyStore | PgIdempotencyStore
RESPONSE = StoredResponse(201, [("Location", "/products/1"), ("ETag", '"1"')], b'{"id": 1}')


class Backing:
    """Where the stores keep their rows: one SQLite file, or one PostgreSQL database. Each
    store opened on it stands for another process (SQLite) or replica (PostgreSQL)."""

    def __init__(self, kind: str, tmp_path: Path, dsn: str | None, stack: ExitStack) -> None:
        self.kind, self._path, self._dsn, self._stack = kind, tmp_path / "service.db", dsn, stack

    def pool(self) -> ConnectionPool:
        """A replica's own pool on the database, with every table migrated."""
        assert self._dsn is not None
        pool = connection_pool(self._dsn, size=10, connect_timeout_s=10,
                               statement_timeout_s=30, name="test-replica")
        self._stack.callback(pool.close)
        for store in (PgTokenStore, PgIdempotencyStore):
            migrate_pool(pool, store.COMPONENT, store.MIGRATIONS)
        return pool

    def tokens(self) -> Tokens:
        store = TokenStore(self._path) if self.kind == "sqlite" else PgTokenStore(self.pool())
        self._stack.callback(store.close)
        return store

    def keys(self, **options: Any) -> Keys:
        store = (IdempotencyStore(self._path, **options) if self.kind == "sqlite"
                 else PgIdempotencyStore(self.pool(), **options))
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


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """``action(0)`` … ``action(count - 1)``, each in its own thread, started together."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        return action(i)

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(run, range(count)))


# Tokens, on both stores


def test_a_created_token_authenticates_as_its_name_and_role(backing: Backing) -> None:
    store = backing.tokens()
    token, identity = store.create("bob", Role.editor)

    assert store.authenticate(token) == identity
    assert identity.name == "bob" and identity.role is Role.editor


def test_a_token_given_its_value_is_created_with_it(backing: Backing) -> None:
    store = backing.tokens()
    token, _ = store.create("ci", Role.viewer, token="pdl_" + "x" * 40)

    assert token == "pdl_" + "x" * 40
    found = store.authenticate(token)
    assert found is not None and found.name == "ci"


def test_an_unknown_token_authenticates_nobody(backing: Backing) -> None:
    store = backing.tokens()
    store.create("bob", Role.editor)

    assert store.authenticate("pdl_unknown") is None
    assert store.authenticate("") is None


def test_a_second_token_with_a_taken_name_is_refused(backing: Backing) -> None:
    store = backing.tokens()
    store.create("bob", Role.editor)

    with pytest.raises(TokenNameTaken, match="'bob' already exists"):
        store.create("bob", Role.viewer)
    assert [(t.name, t.role) for t in store.list()] == [("bob", Role.editor)]


def test_tokens_are_listed_by_name_and_counted(backing: Backing) -> None:
    store = backing.tokens()
    for name, role in (("zoe", Role.viewer), ("ann", Role.admin), ("max", Role.editor)):
        store.create(name, role)

    assert [(t.name, t.role) for t in store.list()] == [
        ("ann", Role.admin), ("max", Role.editor), ("zoe", Role.viewer)]
    assert store.count() == 3


def test_a_revoked_token_is_refused_and_an_unknown_name_revokes_nothing(
        backing: Backing) -> None:
    store = backing.tokens()
    token, _ = store.create("bob", Role.editor)

    assert store.revoke("bob") is True
    assert store.authenticate(token) is None
    assert store.revoke("bob") is False
    assert store.revoke("nobody") is False
    assert store.count() == 0


def test_the_last_admin_token_cannot_be_revoked_but_one_of_two_can(backing: Backing) -> None:
    store = backing.tokens()
    store.create("root", Role.admin)

    with pytest.raises(LastAdminToken, match="'root' is the last admin token"):
        store.revoke("root")
    store.create("second", Role.admin)
    assert store.revoke("second") is True
    with pytest.raises(LastAdminToken):
        store.revoke("root")
    assert [t.name for t in store.list()] == ["root"]


def test_two_admins_revoking_each_other_at_once_leave_one_admin(backing: Backing) -> None:
    setup = backing.tokens()
    for name in ("ann", "bob"):
        setup.create(name, Role.admin)
    stores = [backing.tokens(), backing.tokens()]  # two processes, or two replicas

    def revoke(i: int) -> bool | str:
        try:
            return stores[i].revoke(("ann", "bob")[i])
        except LastAdminToken:
            return "refused"

    assert sorted(at_once(2, revoke), key=str) == [True, "refused"]
    assert [t.role for t in setup.list()] == [Role.admin]


# Tokens, across PostgreSQL replicas


def test_a_token_created_on_one_replica_works_on_another_at_once(postgres: Backing) -> None:
    one, other = postgres.tokens(), postgres.tokens()

    token, identity = one.create("bob", Role.editor)

    assert other.authenticate(token) == identity
    assert [t.name for t in other.list()] == ["bob"]


def test_a_token_revoked_on_one_replica_is_refused_on_another_at_once(
        postgres: Backing) -> None:
    one, other = postgres.tokens(), postgres.tokens()
    token, _ = one.create("bob", Role.editor)
    assert other.authenticate(token) is not None

    assert one.revoke("bob") is True

    assert other.authenticate(token) is None


def test_replicas_revoking_many_admins_at_once_always_leave_one(postgres: Backing) -> None:
    setup = postgres.tokens()
    names = [f"admin{i}" for i in range(6)]
    for name in names:
        setup.create(name, Role.admin)
    replicas = [postgres.tokens() for _ in range(3)]

    def revoke(i: int) -> bool | str:
        try:
            return replicas[i % 3].revoke(names[i])
        except LastAdminToken:
            return "refused"

    outcomes = at_once(len(names), revoke)

    assert sorted(outcomes, key=str) == [True] * 5 + ["refused"]
    assert [t.role for t in setup.list()] == [Role.admin]


def test_closing_a_store_leaves_the_shared_pool_open(postgres: Backing) -> None:
    pool = postgres.pool()
    PgTokenStore(pool).close()
    PgIdempotencyStore(pool).close()

    assert PgTokenStore(pool).count() == 0
    assert not pool.closed


def test_postgres_stores_say_their_calls_block() -> None:
    assert PgTokenStore.blocking and PgIdempotencyStore.blocking


# Idempotency keys, on both stores


def test_a_key_is_claimed_once_then_in_flight_until_its_response_is_stored(
        backing: Backing) -> None:
    store = backing.keys()

    assert store.claim("alice", "k", "print") == (Claim.claimed, None)
    assert store.claim("alice", "k", "print") == (Claim.in_flight, None)
    store.complete("alice", "k", RESPONSE)
    assert store.claim("alice", "k", "print") == (Claim.replay, RESPONSE)


def test_a_key_used_for_another_request_is_a_mismatch(backing: Backing) -> None:
    store = backing.keys()
    store.claim("alice", "k", "print")

    assert store.claim("alice", "k", "another print") == (Claim.mismatch, None)
    store.complete("alice", "k", RESPONSE)
    assert store.claim("alice", "k", "another print") == (Claim.mismatch, None)


def test_keys_belong_to_their_owner(backing: Backing) -> None:
    store = backing.keys()
    store.claim("alice", "k", "print")

    assert store.claim("bob", "k", "print") == (Claim.claimed, None)


def test_a_released_claim_can_be_claimed_again_but_a_completed_one_stays(
        backing: Backing) -> None:
    store = backing.keys()
    store.claim("alice", "failed", "print")
    store.claim("alice", "done", "print")
    store.complete("alice", "done", RESPONSE)

    store.release("alice", "failed")
    store.release("alice", "done")

    assert store.claim("alice", "failed", "print") == (Claim.claimed, None)
    assert store.claim("alice", "done", "print") == (Claim.replay, RESPONSE)


def test_a_key_left_in_flight_by_a_crash_is_taken_over_after_its_lease(
        backing: Backing) -> None:
    store = backing.keys(lease=0.0)
    store.claim("alice", "k", "print")  # the process died before storing the response

    claim, _ = store.claim("alice", "k", "print")

    assert claim is Claim.claimed


def test_a_completed_key_outlives_its_lease(backing: Backing) -> None:
    store = backing.keys(lease=0.0)
    store.claim("alice", "k", "print")
    store.complete("alice", "k", RESPONSE)

    assert store.claim("alice", "k", "print") == (Claim.replay, RESPONSE)


def test_a_key_is_forgotten_after_its_retention(backing: Backing) -> None:
    store = backing.keys(retention=0.0)
    store.claim("alice", "k", "print")
    store.complete("alice", "k", StoredResponse(201, [], b"{}"))

    claim, _ = store.claim("alice", "k", "another request")

    assert claim is Claim.claimed


def test_an_unsynced_store_keeps_the_same_promises(backing: Backing) -> None:
    store = backing.keys(synced=False)

    assert store.claim("alice", "k", "print") == (Claim.claimed, None)
    store.complete("alice", "k", RESPONSE)
    assert store.claim("alice", "k", "print") == (Claim.replay, RESPONSE)
    assert store.claim("alice", "k", "other") == (Claim.mismatch, None)


def test_an_empty_response_body_is_replayed_empty(backing: Backing) -> None:
    store = backing.keys()
    store.claim("alice", "k", "print")
    store.complete("alice", "k", StoredResponse(204, [], b""))

    assert store.claim("alice", "k", "print") == (Claim.replay, StoredResponse(204, [], b""))


# Idempotency keys, across PostgreSQL replicas


def test_a_postgres_store_asked_not_to_wait_never_touches_the_database(
        postgres: Backing) -> None:
    store = postgres.keys()

    with pytest.raises(WouldWait):
        store.claim("alice", "k", "print", wait=False)
    with pytest.raises(WouldWait):
        store.complete("alice", "k", RESPONSE, wait=False)
    with pytest.raises(WouldWait):
        store.release("alice", "k", wait=False)
    assert store.claim("alice", "k", "print") == (Claim.claimed, None)


def test_one_key_claimed_from_two_replicas_at_once_is_claimed_once(postgres: Backing) -> None:
    replicas = [postgres.keys(), postgres.keys()]

    claims = at_once(20, lambda i: replicas[i % 2].claim("alice", "k", "print")[0])

    assert sorted(c.value for c in claims) == ["claimed"] + ["in_flight"] * 19


def test_an_abandoned_key_taken_over_from_two_replicas_at_once_is_claimed_once(
        postgres: Backing) -> None:
    replicas = [postgres.keys(), postgres.keys()]
    replicas[0].claim("alice", "k", "print")
    with postgres.pool().connection() as conn:  # its lease ran out an hour ago
        conn.execute("UPDATE idempotency_keys SET created_at = created_at - 3600")

    claims = at_once(20, lambda i: replicas[i % 2].claim("alice", "k", "print")[0])

    assert sorted(c.value for c in claims) == ["claimed"] + ["in_flight"] * 19


def test_a_response_stored_on_one_replica_is_replayed_by_another(postgres: Backing) -> None:
    one, other = postgres.keys(), postgres.keys()
    one.claim("alice", "k", "print")

    assert other.claim("alice", "k", "print") == (Claim.in_flight, None)
    one.complete("alice", "k", RESPONSE)
    assert other.claim("alice", "k", "print") == (Claim.replay, RESPONSE)


def test_replicas_migrating_at_once_create_the_tables_once(postgres: Backing) -> None:
    at_once(6, lambda i: postgres.pool())

    with postgres.pool().connection() as conn:
        versions = conn.execute("SELECT component, version FROM pdl_schema ORDER BY component"
                                ).fetchall()
    assert versions == [(PgIdempotencyStore.COMPONENT, 1), (PgTokenStore.COMPONENT, 1)]
