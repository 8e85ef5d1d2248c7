"""Reads that wait for ``?after=``: a position past the log's end is refused at once, and
readers waiting for a written position hold no worker thread, so they never hold up writes.

The app is driven on one event loop (httpx's ASGI transport); the views' catch-up runs only
when a test starts it, so a written position stays unapplied for as long as a test needs.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import ApiSettings, Settings
from tests.support.builders import PRODUCT_BODY

READERS = 100
#: Long enough that a reader answered at once was not answered by its timeout.
WAIT_S = 60.0


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(Settings(
        data_dir=tmp_path / "data", api=ApiSettings(read_your_writes_timeout_s=WAIT_S)))
    yield runtime
    runtime.close()


Session = Callable[[httpx.AsyncClient], Awaitable[None]]


def over_http(runtime: Runtime, session: Session) -> None:
    """Run ``session`` against the app (no catch-up running) on a fresh event loop."""
    token, _ = runtime.tokens.create("alice", Role.editor)

    async def main() -> None:
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://pdl", timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            await session(client)

    anyio.run(main)


def borrowed_threads() -> int:
    """Worker threads lent out now by the thread pool that runs ``def`` routes."""
    return int(anyio.to_thread.current_default_thread_limiter().borrowed_tokens)


def test_a_hundred_reads_after_a_position_past_the_end_of_the_log_are_refused_at_once(
        runtime: Runtime) -> None:
    answers: list[httpx.Response] = []

    async def session(client: httpx.AsyncClient) -> None:
        await client.post("/products", json=PRODUCT_BODY)
        answers.extend(await asyncio.gather(*[
            client.get("/audit", params={"after": 10**12}) for _ in range(READERS)]))

    started = time.monotonic()
    over_http(runtime, session)

    assert time.monotonic() - started < WAIT_S / 4
    assert {a.status_code for a in answers} == {409}
    problem = answers[0].json()
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert (problem["position"], problem["log_end"]) == (10**12, runtime.app.event_count())
    assert f"Position {10**12} is past the end of the event log, which ends at position " \
           f"{runtime.app.event_count()}" in problem["detail"]


def test_readers_waiting_for_a_written_position_hold_no_thread_and_a_write_goes_through(
        runtime: Runtime) -> None:
    seen: dict[str, Any] = {}

    async def session(client: httpx.AsyncClient) -> None:
        product = (await client.post("/products", json=PRODUCT_BODY)).json()
        path = f"/products/{product['id']}/roadmap"
        readers = [asyncio.ensure_future(client.get(path, params={"after": product["position"]}))
                   for _ in range(READERS)]
        deadline = time.monotonic() + 20
        while runtime.views.waiting < READERS and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # until every reader is past its checks, waiting
        seen["waiting"] = runtime.views.waiting
        seen["threads while waiting"] = borrowed_threads()

        write = await client.post(f"/products/{product['id']}/vision",
                                  json={"vision": "Sooner", "rationale": "Board review"})

        seen["write"] = write.status_code
        seen["readers answered before the views moved"] = sum(r.done() for r in readers)
        await anyio.to_thread.run_sync(runtime.catchup.run_until_caught_up)
        seen["readers"] = {r.status_code for r in await asyncio.gather(*readers)}
        seen["waiting after"] = runtime.views.waiting

    over_http(runtime, session)

    assert seen == {"waiting": READERS, "threads while waiting": 0, "write": 200,
                    "readers answered before the views moved": 0, "readers": {200},
                    "waiting after": 0}


def test_a_reader_whose_position_is_not_applied_in_time_gets_503_and_stops_waiting(
        tmp_path: Path) -> None:
    runtime = build_runtime(Settings(
        data_dir=tmp_path / "data", api=ApiSettings(read_your_writes_timeout_s=0.2)))
    answers: list[httpx.Response] = []

    async def session(client: httpx.AsyncClient) -> None:
        position = (await client.post("/products", json=PRODUCT_BODY)).json()["position"]
        answers.append(await client.get("/audit", params={"after": position}))

    try:
        over_http(runtime, session)
        assert runtime.views.waiting == 0
    finally:
        runtime.close()
    assert answers[0].status_code == 503
    assert answers[0].headers["Retry-After"] == "1"
    assert "have not reached position" in answers[0].json()["detail"]
