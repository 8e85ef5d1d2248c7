"""Serving an app in a child process and loading it from another child process."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import Mode, sizes
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import Settings

CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(kind: str, data_dir: Path, settings: Settings | None = None) -> Iterator[int]:
    """Run ``benchmarks.servers kind`` on a free port until the block ends; yields the port.
    ``settings``: the store the server uses (default: SQLite in ``data_dir``)."""
    port = free_port()
    env: dict[str, str] = {**os.environ, **(store_env(settings) if settings else {})}
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.servers", kind, str(port),
                               str(data_dir)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} server did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def generate_load(port: int, requests: list[dict[str, str]], mode: Mode, folder: Path,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Load ``port`` from a separate process; the load generator's JSON summary."""
    spec = {"host": "127.0.0.1", "port": port, "connections": CONNECTIONS,
            "seconds": sizes(mode, smoke=1, quick=5, full=15), "start": 1,
            "headers": headers or {}, "requests": requests}
    spec_path = folder / f"load-{port}.json"
    spec_path.write_text(json.dumps(spec))
    # A short warm-up, then the measured run.
    warm = {**spec, "seconds": 0.5 if mode == "smoke" else 1, "start": 10**8}
    warm_path = folder / f"warm-{port}.json"
    warm_path.write_text(json.dumps(warm))
    for path in (warm_path, spec_path):
        done = subprocess.run([sys.executable, "-m", "benchmarks.loadgen", str(path)],
                              check=True, capture_output=True, text=True, timeout=300)
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def store_env(settings: Settings) -> dict[str, str]:
    """The environment giving a server process the store of ``settings``."""
    store = settings.store
    env: dict[str, str] = {"PDL_STORE__KIND": store.kind}
    if store.dsn is not None:
        env["PDL_STORE__DSN"] = store.dsn.get_secret_value()
    return env


def seed_service(data_dir: Path, features: int,
                 settings: Settings | None = None) -> tuple[str, list[str]]:
    """A service data dir with an editor token and ``features`` features; (token, ids).
    ``settings``: the store to seed (default: SQLite in ``data_dir``)."""
    from benchmarks.workload import seed_features

    runtime: Runtime = build_runtime(settings or Settings(data_dir=data_dir))
    try:
        token, _ = runtime.tokens.create("bench", Role.editor)
        _, ids = seed_features(runtime.app, features)
        runtime.catchup.run_until_caught_up()
        return token, [str(i) for i in ids]
    finally:
        runtime.close()
