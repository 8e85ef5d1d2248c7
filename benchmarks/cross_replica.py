"""Row 13: read-your-writes across replicas on PostgreSQL (two ``pdl serve``, one database).

Two real ``pdl serve --workers 1`` processes, A and B, each with a data folder of its own
(its views) and the same PostgreSQL database (a durable server, :mod:`benchmarks.postgres`);
the first admin token is made with ``pdl token create`` against it, as an operator would. One
client with a keep-alive connection to each: a command on A (``POST
/features/{id}/priority``), then ``GET /features/{id}/history?after=POSITION`` with the
position A answered. Ours: that read on B, woken by PostgreSQL ``NOTIFY`` from A's commit
(:mod:`services.runtime.notifications`). Baseline: the same read on A, the writer's own
replica, in the same rounds (one of each per round, in alternating order). Latency runs from
the write's response to the read's response.
"""

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import Measure, Mode, Result, latency_summary, log, sizes
from benchmarks.http import free_port, store_env
from benchmarks.postgres import REPO, unavailable
from benchmarks.workload import durability_note, seed_features, settings_for, store
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings

__all__ = ["NAME", "P50_MS", "P99_MS", "run", "unavailable"]

NAME = "cross_replica"
P50_MS, P99_MS = 10, 50
BODY = {"priority": 0, "rationale": "Customer interviews moved this up.",
        "evidence": ["https://example.com/research/42"]}


def run(mode: Mode) -> Result:
    rounds = sizes(mode, smoke=20, quick=500, full=2_000)
    features = max(10, rounds // 5)  # a short history per feature: the read stays small
    with store("postgres", mode) as used:
        assert used.databases is not None
        dsn = used.databases.create("replicas")
        a = settings_for(used.folder / "a", kind="postgres", dsn=dsn)
        b = settings_for(used.folder / "b", kind="postgres", dsn=dsn)
        token = admin_token(a)
        ids = seed(a, features)
        with ExitStack() as servers:
            writer = servers.enter_context(replica(a, used.folder / "logs"))
            reader = servers.enter_context(replica(b, used.folder / "logs"))
            for server in (writer, reader):
                server.token = token
                server.wait_caught_up()
            own, other = measure(writer, reader, ids, rounds)
        durability, notes = used.durability(), durability_note(used)

    ours, base = latency_summary(other), latency_summary(own)
    return Result(
        name=NAME, row=13,
        title="cross-replica read-your-writes: write on A, GET ?after= on B (two pdl serve, "
              "PostgreSQL)",
        mode=mode,
        baseline=Measure("write on A → the same read on A (p50)", base["p50_ms"], "ms",
                         higher_is_better=False, extra=base),
        ours=Measure("write on A → GET /features/{id}/history?after= on B (p50)",
                     ours["p50_ms"], "ms", higher_is_better=False, extra=ours),
        target=f"p50 ≤ {P50_MS} ms, p99 ≤ {P99_MS} ms",
        met=ours["p50_ms"] <= P50_MS and ours["p99_ms"] <= P99_MS,
        params={"rounds": rounds, "features": features, "workers_per_replica": 1,
                **durability},
        notes=[*notes, f"B's wait beyond A's own read: p50 "
               f"{ours['p50_ms'] - base['p50_ms']:.2f} ms, p99 "
               f"{ours['p99_ms'] - base['p99_ms']:.2f} ms (NOTIFY delivery, B's catch-up "
               f"reading the log, applying and waking the request)"],
    )


def measure(writer: "Replica", reader: "Replica", ids: list[str],
            rounds: int) -> tuple[list[float], list[float]]:
    """Seconds from each write's response to its read's response: (read on A, read on B)."""
    own: list[float] = []
    other: list[float] = []
    for n in range(rounds):
        order = [(writer, own), (reader, other)]
        for k, (server, lags) in enumerate(order if n % 2 else order[::-1]):
            feature = ids[(2 * n + k) % len(ids)]
            position = writer.write(feature, n)
            written = time.perf_counter()
            server.read(feature, position)
            lags.append(time.perf_counter() - written)
    return own, other


def admin_token(settings: Settings) -> str:
    """The first admin token, made as an operator does: ``pdl token create --role admin``
    against the database."""
    made = subprocess.run([sys.executable, "-m", "services.runtime.cli", "token", "create",
                           "--role", "admin", "--name", "bench"], cwd=REPO,
                          env=environment(settings), capture_output=True, text=True,
                          timeout=60, check=True)
    return made.stdout.strip().splitlines()[-1]


def seed(settings: Settings, features: int) -> list[str]:
    """``features`` proposed features in the shared log; their ids."""
    app = build_application(settings)
    try:
        _, ids = seed_features(app, features)
    finally:
        app.close()
    return [str(i) for i in ids]


def environment(settings: Settings) -> dict[str, str]:
    """This process's environment without its ``PDL_`` variables, plus ``settings``' store
    and data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDL_")}
    return {**env, **store_env(settings), "PDL_DATA_DIR": str(settings.data_dir)}


@dataclass
class Replica:
    """One ``pdl serve`` process and a keep-alive connection to it."""

    port: int
    process: subprocess.Popen[bytes]
    errors: Path
    token: str = ""

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.conn.request(method, path, json.dumps(body) if body else None, headers)
        response = self.conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {answer[:300]!r}")
        return json.loads(answer)

    def write(self, feature: str, n: int) -> int:
        """Change the priority of ``feature``; the position the write answers."""
        answer = self.request("POST", f"/features/{feature}/priority",
                              {**BODY, "priority": n + 1})
        return int(answer["position"])

    def read(self, feature: str, position: int) -> None:
        """The feature's history, once the views have reached ``position``."""
        self.request("GET", f"/features/{feature}/history?after={position}")

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Until this replica's views have the whole log (seeded before it started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.request("GET", "/health")
            if health["views_position"] >= health["log_position"]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"replica on port {self.port} did not catch up")


@contextmanager
def replica(settings: Settings, logs: Path) -> Iterator[Replica]:
    """``pdl serve --workers 1`` on ``settings`` (a free port) until the block ends."""
    port = free_port()
    logs.mkdir(parents=True, exist_ok=True)
    errors = logs / f"stderr-{port}.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.cli", "serve", "--port", str(port),
             "--workers", "1"], cwd=REPO, env=environment(settings),
            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_listening(port, process, errors)
        server = Replica(port, process, errors)
        yield server
        server.conn.close()
    finally:
        process.terminate()
        if process.wait(timeout=30) != 0:
            log(f"pdl serve on port {port} exited {process.returncode}: "
                f"{errors.read_text()[-2000:]}")


def wait_listening(port: int, process: subprocess.Popen[bytes], errors: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pdl serve exited: {errors.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"pdl serve did not become healthy: {errors.read_text()[-2000:]}")
