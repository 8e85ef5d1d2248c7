"""Row 4: reads over HTTP — a product's roadmap and a feature's history — under concurrent load.

The product has releases whose dates slipped and features moved between them (see
:mod:`benchmarks.history`). Baseline: a bare FastAPI route returning a precomputed row from
SQLite — the very JSON bodies our two routes return, so both sides send the same bytes.
"""

import sqlite3
import urllib.request
from pathlib import Path

from benchmarks.harness import Measure, Mode, Result
from benchmarks.history import write_history
from benchmarks.http import CONNECTIONS, generate_load, serving
from benchmarks.servers import ROWS_DB
from benchmarks.workload import scratch_dir
from services.identity.tokens import Role
from services.runtime.service import build_runtime
from services.runtime.settings import Settings

NAME = "http_reads"
TARGET = 0.8


def run(mode: Mode) -> Result:
    with scratch_dir() as tmp:
        token, paths = seed(tmp / "ours")
        auth = {"Authorization": f"Bearer {token}"}
        with serving("ours", tmp / "ours") as port:
            bodies = [fetch(port, path, auth) for path in paths]
            precompute(tmp / ROWS_DB, bodies)
            ours = generate_load(port, [{"method": "GET", "path": p} for p in paths], mode, tmp,
                                 headers=auth)
        with serving("bare", tmp) as port:
            bare = generate_load(port, [{"method": "GET", "path": f"/row/{n}"}
                                        for n in range(len(paths))], mode, tmp)
    return Result(
        name=NAME, row=4, title=f"reads: roadmap + feature history, {CONNECTIONS} connections",
        mode=mode,
        baseline=Measure("bare FastAPI GET of a precomputed SQLite row (same bytes)",
                         bare["ok_per_s"], "req/s", extra=_latency(bare)),
        ours=Measure("GET roadmap / feature history (50/50)", ours["ok_per_s"], "req/s",
                     extra=_latency(ours)),
        target=f"≥ {TARGET}x", met=ours["ok_per_s"] / bare["ok_per_s"] >= TARGET,
        params={"connections": CONNECTIONS, "bytes": [len(b) for b in bodies],
                "statuses_ours": ours["statuses"], "statuses_bare": bare["statuses"]},
    )


def seed(data_dir: Path) -> tuple[str, list[str]]:
    """A product with history; a viewer token and the two paths to read."""
    runtime = build_runtime(Settings(data_dir=data_dir))
    try:
        token, _ = runtime.tokens.create("reader", Role.viewer)
        write_history(runtime.app, 1)  # one product, ~2,000 events
        runtime.catchup.run_until_caught_up()
        (product,) = runtime.views.list_products()
        roadmap = runtime.views.roadmap(product["id"])
        assert roadmap is not None
        feature_id = roadmap["releases"][0]["features"][0]["id"]
        return token, [f"/products/{product['id']}/roadmap", f"/features/{feature_id}/history"]
    finally:
        runtime.close()


def fetch(port: int, path: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
        return body


def precompute(path: Path, bodies: list[bytes]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, body BLOB)")
        conn.executemany("INSERT INTO rows VALUES (?, ?)", [(str(n), b)
                                                            for n, b in enumerate(bodies)])
    conn.close()


def _latency(summary: dict[str, float]) -> dict[str, float]:
    return {k: summary[k] for k in ("p50_ms", "p99_ms")}
