"""Row 11: the roadmap page of the web app (``GET /ui/products/{id}``, HTML) against the JSON
roadmap read (``GET /products/{id}/roadmap``) of the same product, over HTTP, in the same run.

The product has 300 features and 10 releases (270 features scheduled, 27 per release, and 30
in the backlog). One server (``benchmarks.servers ours``, uvicorn, one worker) is read over one
keep-alive connection from this process, one request at a time, the page and the JSON
alternating (their order swapped every round) so that a slow patch of the machine hits both.
Each is signed in the way its users are: the JSON with a viewer's bearer token, the page with
the same token in the web app's session cookie.

Both are kept at the views' position once read (the JSON by :mod:`services.http.read_cache`,
the page by the web app, per person), so the timed reads are what a roadmap costs while
nothing is written. What a read costs afresh, just after a write, is measured in process and
given in the notes: the roadmap read and serialized, against the page read and rendered.

Run alone: ``.venv/bin/python -m benchmarks.ui_roadmap [--quick | --smoke]``.
"""

import http.client
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import orjson

from benchmarks.harness import (
    Measure,
    Mode,
    Result,
    describe,
    latency_summary,
    sizes,
    standalone,
)
from benchmarks.http import serving
from benchmarks.workload import REASON, scratch_dir, seed_features
from services.http.ui import pages, render
from services.http.ui.session import SESSION_COOKIE, Session, csrf_of
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import Settings

NAME = "ui_roadmap"
ROW = 11
TARGET_RATIO = 2.0  # the page's p50 within 2x of the JSON read's
FEATURES = 300
RELEASES = 10
SCHEDULED = 270
WARM_UP = 10


def run(mode: Mode) -> Result:
    rounds = sizes(mode, smoke=20, quick=400, full=2000)
    with scratch_dir() as tmp:
        data = tmp / "ours"
        runtime = build_runtime(Settings(data_dir=data))
        try:
            token, product = seed(runtime)
            fresh = fresh_reads(runtime, token, product, sizes(mode, smoke=5, quick=50,
                                                                full=200))
        finally:
            runtime.close()
        with serving("ours", data) as port:
            timed, size = alternate(port, token, product, rounds)
    json_ms, page_ms = (latency_summary(timed[k]) for k in ("json", "page"))
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=f"roadmap page (HTML, /ui) vs JSON roadmap, {FEATURES} features, "
              f"{RELEASES} releases",
        baseline=Measure("GET /products/{id}/roadmap (JSON), p50", json_ms["p50_ms"], "ms",
                         higher_is_better=False, extra=json_ms),
        ours=Measure("GET /ui/products/{id} (the page), p50", page_ms["p50_ms"], "ms",
                     higher_is_better=False, extra=page_ms),
        target=f"page p50 ≤ {TARGET_RATIO:g}x JSON p50",
        met=page_ms["p50_ms"] <= TARGET_RATIO * json_ms["p50_ms"],
        params={"features": FEATURES, "releases": RELEASES, "scheduled": SCHEDULED,
                "rounds": rounds, "bytes": size, "fresh_ms": fresh},
        notes=[f"read afresh (after a write), in process, p50: JSON {fresh['json']:.2f} ms "
               f"(roadmap read + serialized), page {fresh['page']:.2f} ms (roadmap read + "
               f"rendered); {size['page']:,} bytes of HTML against {size['json']:,} of JSON"],
    )


def seed(runtime: Runtime) -> tuple[str, UUID]:
    """The product, its releases and features; a viewer's token."""
    app = runtime.app
    token, _ = runtime.tokens.create("reader", Role.viewer)
    product, features = seed_features(app, FEATURES)
    releases = [app.plan_release(product, actor="bench", name=f"{n + 1}.0",
                                 target_date=date(2027, n + 1, 1), theme="Planned").id
                for n in range(RELEASES)]
    for n, feature in enumerate(features[:SCHEDULED]):
        app.schedule_feature(feature, releases[n % RELEASES], REASON)
    runtime.catchup.run_until_caught_up()
    return token, product


def fresh_reads(runtime: Runtime, token: str, product: UUID, samples: int) -> dict[str, float]:
    """p50 (ms) of each read made afresh: nothing kept between two reads."""
    identity = runtime.tokens.authenticate(token)
    assert identity is not None
    session = Session(runtime, identity, csrf_of(token))
    base = {"session": session, "csrf": session.csrf, "notice": None, "errors": [],
            "form": {}, "conflict": None}
    reads: dict[str, Callable[[], Any]] = {
        "json": lambda: orjson.dumps(runtime.views.roadmap(product)),
        "page": lambda: render.html(pages.product(session, product), base).body,
    }
    timed: dict[str, list[float]] = {name: [] for name in reads}
    for _ in range(samples + 2):
        for name, read in reads.items():
            started = time.perf_counter()
            read()
            timed[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(times[2:]) * 1000, 3)
            for name, times in timed.items()}


def alternate(port: int, token: str, product: UUID,
              rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seconds per request of each read, alternating; the size of each body."""
    requests = {
        "json": (f"/products/{product}/roadmap", {"Authorization": f"Bearer {token}"}),
        "page": (f"/ui/products/{product}", {"Cookie": f"{SESSION_COOKIE}={token}"}),
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timed: dict[str, list[float]] = {name: [] for name in requests}
    size = {}
    try:
        for n in range(WARM_UP + rounds):
            order = list(requests) if n % 2 else list(reversed(requests))
            for name in order:
                path, headers = requests[name]
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
                size[name] = len(body)
                if n >= WARM_UP:
                    timed[name].append(elapsed)
    finally:
        connection.close()
    return timed, size


def main(argv: list[str] | None = None) -> int:
    return standalone("python -m benchmarks.ui_roadmap", __doc__, run,
                      lambda outcome: describe(outcome), argv)


if __name__ == "__main__":
    sys.exit(main())
