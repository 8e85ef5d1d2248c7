"""Idempotency-Key: a retried POST returns the original response and has no second effect."""

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from services.identity.idempotency import Claim, IdempotencyStore, StoredResponse, WouldWait
from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.support.builders import PRODUCT_BODY


def test_a_retry_with_the_same_key_returns_the_original_response_and_writes_once(
        editor: Api, runtime: Runtime) -> None:
    before = runtime.app.event_count()

    first = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-1"})
    retry = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-1"})

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert runtime.app.event_count() == before + 1


def test_the_same_key_with_a_different_body_is_refused(editor: Api, runtime: Runtime) -> None:
    editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-2"})
    before = runtime.app.event_count()

    other = editor.post("/products", {**PRODUCT_BODY, "name": "Other"},
                        **{"Idempotency-Key": "k-2"})

    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "already used for a different request" in other.json()["detail"]
    assert runtime.app.event_count() == before


def test_a_command_retried_with_its_key_is_not_applied_twice(
        editor: Api, runtime: Runtime) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "Share roadmaps")["id"]
    body = {"status": "accepted", "rationale": "Top customer ask"}

    first = editor.post(f"/features/{feature}/status", body, **{"Idempotency-Key": "k-3"})
    retry = editor.post(f"/features/{feature}/status", body, **{"Idempotency-Key": "k-3"})

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() == {"id": feature, "version": 2,
                                            "position": first.json()["position"]}


def test_a_refused_request_does_not_use_up_its_key(editor: Api, runtime: Runtime) -> None:
    refused = editor.post("/products", {**PRODUCT_BODY, "name": ""}, **{"Idempotency-Key": "k-4"})
    fixed = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-4"})

    assert refused.status_code == 422
    assert fixed.status_code == 201


def test_keys_belong_to_their_token(editor: Api, admin: Api, runtime: Runtime) -> None:
    mine = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "shared"})
    theirs = admin.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "shared"})

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_concurrent_requests_with_the_same_key_write_once(
        editor: Api, runtime: Runtime) -> None:
    for attempt in range(5):
        before = runtime.app.event_count()
        key = f"race-{attempt}"

        def send(_: int, key: str = key) -> int:
            return editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": key}).status_code

        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(send, range(4)))

        assert statuses.count(201) >= 1
        assert set(statuses) <= {201, 409}  # 409: the first is still in flight, retry later
        assert runtime.app.event_count() == before + 1


def test_a_malformed_key_is_refused(editor: Api, runtime: Runtime) -> None:
    response = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k" * 201})

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert runtime.app.event_count() == 0


def test_a_key_left_in_flight_by_a_crash_is_taken_over_after_its_lease(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "service.db", lease=0.0)
    store.claim("alice", "k", "print")  # the process died before storing the response

    claim, _ = store.claim("alice", "k", "print")

    assert claim is Claim.claimed
    store.close()


def test_a_key_is_forgotten_after_its_retention(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "service.db", retention=0.0)
    store.claim("alice", "k", "print")
    store.complete("alice", "k", StoredResponse(201, [], b"{}"))

    claim, _ = store.claim("alice", "k", "another request")

    assert claim is Claim.claimed
    store.close()


def crash_before_the_response_was_stored(runtime: Runtime, owner: str, key: str) -> None:
    """Leave the service database as a process that died after the command committed and
    before storing its response leaves it, with the key's lease run out."""
    statement = ("UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL, "
                 "created_at = created_at - 3600 WHERE owner = ? AND key = ?")
    settings = runtime.settings
    if settings.postgres:
        assert settings.store.dsn is not None
        with psycopg.connect(settings.store.dsn.get_secret_value(), autocommit=True) as conn:
            changed = conn.execute(statement.replace("?", "%s"), (owner, key)).rowcount
    else:
        with closing(sqlite3.connect(settings.service_db_path)) as db, db:
            changed = db.execute(statement, (owner, key)).rowcount
    assert changed == 1


@pytest.mark.parametrize("request_kind", ["create", "command"])
def test_a_retry_after_a_crash_between_commit_and_response_gets_the_original_answer(
        editor: Api, runtime: Runtime, request_kind: str) -> None:
    if request_kind == "create":
        path, body = "/products", PRODUCT_BODY
    else:
        feature = editor.propose(editor.create_product()["id"], "Share roadmaps")["id"]
        path, body = f"/features/{feature}/requirements", {"text": "CSV", "rationale": "Asked"}
    first = editor.post(path, body, **{"Idempotency-Key": "k-crash"})
    crash_before_the_response_was_stored(runtime, "alice", "k-crash")
    before = runtime.app.event_count()

    retry = editor.post(path, body, **{"Idempotency-Key": "k-crash"})

    assert first.status_code == retry.status_code and retry.status_code in (200, 201)
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    # answered from the outcome recorded with the command's events: nothing ran again
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert runtime.app.event_count() == before


def test_after_a_crash_the_key_still_refuses_a_different_request(
        editor: Api, runtime: Runtime) -> None:
    editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-crash-2"})
    crash_before_the_response_was_stored(runtime, "alice", "k-crash-2")
    before = runtime.app.event_count()

    other = editor.post("/products", {**PRODUCT_BODY, "name": "Other"},
                        **{"Idempotency-Key": "k-crash-2"})

    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "already used for a different request" in other.json()["detail"]
    assert runtime.app.event_count() == before


def test_a_store_asked_not_to_wait_refuses_while_another_process_writes(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "service.db")
    with closing(sqlite3.connect(tmp_path / "service.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write

        with pytest.raises(WouldWait):
            store.claim("alice", "k", "print", wait=False)
        other.execute("COMMIT")

        assert other.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0] == 0
    claim, _ = store.claim("alice", "k", "print", wait=False)
    assert claim is Claim.claimed
    store.close()


@pytest.mark.sqlite_only  # (on PostgreSQL no key is written on the event loop at all)
def test_a_keyed_post_waits_for_another_process_off_the_event_loop(
        editor: Api, viewer: Api, runtime: Runtime) -> None:
    assert not runtime.idempotency.synced  # keys are written on the event loop
    with closing(sqlite3.connect(runtime.settings.service_db_path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # e.g. `pdl token create` writing the service DB
        with ThreadPoolExecutor(1) as pool:
            keyed = pool.submit(editor.post, "/products", PRODUCT_BODY,
                                **{"Idempotency-Key": "k-w"})
            time.sleep(0.3)  # the keyed POST is now waiting for the service DB

            # Had it blocked the event loop, this read would wait for it, and it for us.
            assert viewer.get("/products").status_code == 200
            other.execute("COMMIT")
            first = keyed.result()
    retry = editor.post("/products", PRODUCT_BODY, **{"Idempotency-Key": "k-w"})

    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
