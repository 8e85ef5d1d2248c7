"""Replicas of ``pdl serve`` (own processes, own data folders) sharing one PostgreSQL database
answer as one service: the same views, tokens, idempotency keys and versions everywhere, and a
write made on one replica is readable at once on another with ``?after=``."""

import itertools
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.api.driver import Api
from tests.production.replicas import clients, first_admin, in_threads, replica, whole_audit
from tests.support.builders import PRODUCT_BODY, decision_body, move_body

pytestmark = pytest.mark.slow


def play_history(writers: list[Api]) -> dict[str, Any]:
    """A product's life, each step written on the next replica in turn; the ids, the highest
    position returned, and an instant between its first and second half."""
    turn = itertools.cycle(writers)
    positions: list[int] = []

    def on_next(write: Any, *args: Any) -> dict[str, Any]:
        outcome: dict[str, Any] = write(next(turn), *args)
        positions.append(outcome["position"])
        return outcome

    product = on_next(Api.create_product)["id"]
    share = on_next(Api.propose, product, "Share roadmaps", 3)["id"]
    export = on_next(Api.propose, product, "Export to CSV", 2)["id"]
    dark = on_next(Api.propose, product, "Dark mode", 1)["id"]
    r1 = on_next(Api.plan, product, "1.0", "2027-03-01")["id"]
    r2 = on_next(Api.plan, product, "1.1", "2027-06-01")["id"]
    on_next(Api.schedule, share, r1, "Core of the first release")
    on_next(Api.schedule, export, r1, "Customers asked for it in the beta")
    time.sleep(0.05)
    midway = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    decision = on_next(Api.write, f"/products/{product}/decisions", decision_body(
        "Export in 1.1", "Team capacity"))["id"]
    on_next(Api.write, f"/decisions/{decision}/accept", {"changes": [move_body(export, r2)]})
    on_next(Api.slip, r1, "2027-04-15", "The vendor's SSO API is late")
    on_next(Api.set_status, dark, "rejected", "Not aligned with the vision")
    on_next(Api.ship, r1, datetime.now(UTC).date().isoformat(), "Released early")
    return {"product": product, "export": export, "r1": r1, "decision": decision,
            "midway": midway, "position": max(positions)}


def everything_served(api: Api, ids: dict[str, Any]) -> dict[str, Any]:
    """What a replica's views answer about the history, once they have reached its end."""
    after, product = ids["position"], ids["product"]
    return {
        "roadmap": api.read(f"/products/{product}/roadmap", after=after),
        "roadmap_midway": api.read(f"/products/{product}/roadmap", after=after,
                                   as_of=ids["midway"]),
        "audit": whole_audit(api, after),
        "products": api.read("/products", after=after),
        "feature": api.read(f"/features/{ids['export']}/history", after=after),
        "release": api.read(f"/releases/{ids['r1']}/history", after=after),
        "decision": api.read(f"/decisions/{ids['decision']}"),
    }


def test_a_history_written_through_three_replicas_reads_the_same_on_each(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b, \
            replica(tmp_path, "c", pg_dsn) as c, clients(token, a, b, c) as apis:
        ids = play_history(apis)
        served = [everything_served(api, ids) for api in apis]

    assert served[0]["roadmap"]["shipped"][0]["id"] == ids["r1"]
    assert served[0]["roadmap_midway"]["releases"][0]["target_date"] == "2027-03-01"
    assert len(served[0]["audit"]) >= 13
    assert served[1] == served[0]
    assert served[2] == served[0]


def test_a_token_made_on_one_replica_works_on_another_at_once_and_dies_everywhere_at_once(
        tmp_path: Path, pg_dsn: str) -> None:
    admin = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b, \
            clients(admin, a, b) as (on_a, on_b):
        outcomes = []
        for n in range(5):
            made = on_a.write("/tokens", {"name": f"carol{n}", "role": "editor"})["token"]
            carol_on_a, carol_on_b = Api(on_a.http, made), Api(on_b.http, made)
            works_on_b = carol_on_b.get("/products").status_code
            works_on_a = carol_on_a.get("/products").status_code  # now known to A as well
            revoked = on_b.http.delete(f"/tokens/carol{n}", headers=on_b.headers()).status_code
            after_revoke = (carol_on_a.get("/products").status_code,
                            carol_on_b.get("/products").status_code)
            outcomes.append((works_on_b, works_on_a, revoked, after_revoke))

    assert outcomes == [(200, 200, 204, (401, 401))] * 5


KEYS = 40


def test_the_same_idempotency_key_on_two_replicas_makes_one_product(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b, \
            clients(token, a, b) as (on_a, on_b):
        answers = []
        for n in range(KEYS):  # the retry follows the answer at once, every time
            body = {**PRODUCT_BODY, "name": f"Only once {n}"}
            first = on_a.post("/products", body, **{"Idempotency-Key": f"once-{n}"})
            again = on_b.post("/products", body, **{"Idempotency-Key": f"once-{n}"})
            answers.append((first, again))
        after = max(first.json()["position"] for first, _ in answers)
        listed = [api.read("/products", after=after)["items"] for api in (on_a, on_b)]

    statuses = [(first.status_code, again.status_code) for first, again in answers]
    assert statuses == [(201, 201)] * KEYS, [again.text for _, again in answers
                                             if again.status_code != 201]
    for first, again in answers:
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["Location"] == first.headers["Location"]
    for items in listed:
        assert sorted(p["id"] for p in items) == sorted(f.json()["id"] for f, _ in answers)


WRITERS_PER_REPLICA = 3
ROUNDS = 8


def test_if_match_races_across_replicas_lose_no_update_and_refuse_only_stale_versions(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b:
        with clients(token, a) as (setup,):
            _, feature = setup.new_feature()
            start = setup.read(f"/features/{feature}")["version"]
        refusals: list[tuple[int, int]] = []  # (the version sent, the current one named)
        successes: list[int] = []
        lock = threading.Lock()

        def writer(n: int) -> None:
            server = (a, b)[n % 2]
            with clients(token, server) as (api,):
                for i in range(ROUNDS):
                    while True:
                        sent = api.get(f"/features/{feature}").headers["ETag"]
                        response = api.post(f"/features/{feature}/priority",
                                            {"priority": n * 100 + i, "rationale": "race"},
                                            **{"If-Match": sent})
                        if response.status_code == 200:
                            with lock:
                                successes.append(int(sent.strip('"')))
                            break
                        assert response.status_code == 412, response.text
                        named = response.json()["current_version"]
                        assert response.headers["ETag"] == f'"{named}"'
                        with lock:
                            refusals.append((int(sent.strip('"')), named))

        in_threads(2 * WRITERS_PER_REPLICA, writer)
        with clients(token, a, b) as apis:
            final = [api.read(f"/features/{feature}")["version"] for api in apis]

    assert len(successes) == 2 * WRITERS_PER_REPLICA * ROUNDS
    assert final == [start + len(successes)] * 2
    assert sorted(successes) == list(range(start, start + len(successes)))  # one per version
    assert refusals, "no race happened: the test proves nothing"
    assert [(sent, named) for sent, named in refusals if named <= sent] == []


def test_a_write_on_one_replica_is_read_at_once_on_another_with_after(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    with replica(tmp_path, "a", pg_dsn) as a, replica(tmp_path, "b", pg_dsn) as b, \
            clients(token, a, b) as (on_a, on_b):
        product = on_a.create_product()["id"]
        missed = []
        for i in range(50):
            writer, reader = (on_a, on_b) if i % 2 == 0 else (on_b, on_a)
            written = writer.propose(product, f"Feature {i}")
            history = reader.get(f"/features/{written['id']}/history",
                                 after=written["position"])
            if history.status_code != 200 or len(history.json()["items"]) != 1:
                missed.append((i, history.status_code, history.text))

    assert missed == []
