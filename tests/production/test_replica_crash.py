"""A replica killed (SIGKILL) under write load loses nothing that was acknowledged and applies
nothing twice: its clients retry on another replica with the same Idempotency-Key. Restarted
on its data folder, it catches up with the others; rebuilt views answer the same."""

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.driver import Api
from tests.api.processes import pdl
from tests.production.replicas import (
    clients,
    first_admin,
    in_threads,
    log_position,
    on_postgres,
    replica,
    whole_audit,
)
from tests.support.builders import PRODUCT_BODY

pytestmark = pytest.mark.slow

WRITERS = 4
EACH = 25
#: Writes acknowledged before A is killed.
KILL_AFTER = 30
#: A key claimed by the killed replica is free for a retry after this long.
LEASE = {"PDL_API__IDEMPOTENCY_LEASE_S": "2"}


def acknowledged(first: Api, fallback: Api, body: dict[str, Any], key: str,
                 rerouted: list[str]) -> dict[str, Any]:
    """POST ``body`` with ``key`` to ``first`` until it is acknowledged; once ``first`` stops
    answering, to ``fallback`` (noting ``key`` in ``rerouted``); a request in flight
    elsewhere or a 503: wait, and retry."""
    target, deadline = first, time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            response = target.post("/products", body, **{"Idempotency-Key": key})
        except httpx.TransportError:
            rerouted.append(key)
            target = fallback
            continue
        if response.status_code == 201:
            outcome: dict[str, Any] = response.json()
            return outcome
        assert response.status_code in (409, 503), response.text
        time.sleep(0.2)
    raise AssertionError(f"{key} was never acknowledged")


def served(api: Api, after: int) -> dict[str, Any]:
    return {"products": sorted(api.read("/products", after=after)["items"],
                               key=lambda p: p["id"]),
            "audit": whole_audit(api, after)}


def test_a_replica_killed_under_load_loses_no_acknowledged_write_and_doubles_none(
        tmp_path: Path, pg_dsn: str) -> None:
    token = first_admin(pg_dsn, tmp_path / "cli")
    acks: dict[str, dict[str, Any]] = {}
    rerouted: list[str] = []
    with replica(tmp_path, "b", pg_dsn, **LEASE) as b:
        with replica(tmp_path, "a", pg_dsn, **LEASE) as a:
            killed = threading.Event()

            def work(n: int) -> None:
                if n == WRITERS:  # the killer
                    while len(acks) < KILL_AFTER:
                        time.sleep(0.01)
                    os.kill(a.process.pid, signal.SIGKILL)
                    killed.set()
                    return
                with clients(token, a, b) as (on_a, on_b):
                    first = on_a if n % 2 == 0 else on_b
                    for i in range(EACH):
                        key = f"w{n}-{i}"
                        acks[key] = acknowledged(first, on_b, {**PRODUCT_BODY, "name": key}, key,
                                                 rerouted)

            in_threads(WRITERS + 1, work)
            assert killed.is_set() and a.process.wait(timeout=5) == -signal.SIGKILL
        with clients(token, b) as (on_b,):
            on_b_after_crash = served(on_b, log_position(pg_dsn))
        with replica(tmp_path, "a", pg_dsn) as a, clients(token, a) as (on_a,):
            on_a_restarted = served(on_a, log_position(pg_dsn))

    rebuilt = pdl("--data-dir", str(tmp_path / "b"), "projections", "rebuild",
                  **on_postgres(pg_dsn))
    assert rebuilt.returncode == 0, rebuilt.stderr
    with replica(tmp_path, "b", pg_dsn) as b, clients(token, b) as (on_b,):
        on_b_rebuilt = served(on_b, log_position(pg_dsn))

    assert rerouted, "A was killed with no request left for it: the test proves nothing"
    names = [p["name"] for p in on_b_after_crash["products"]]
    assert len(acks) == WRITERS * EACH
    assert sorted(names) == sorted(acks)  # each acknowledged once, nothing doubled
    assert {p["name"]: p["id"] for p in on_b_after_crash["products"]} == \
        {key: ack["id"] for key, ack in acks.items()}
    assert len(on_b_after_crash["audit"]) == WRITERS * EACH
    assert on_a_restarted == on_b_after_crash
    assert on_b_rebuilt == on_b_after_crash
