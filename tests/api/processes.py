"""Run ``pdl`` as a real process: the CLI, and ``pdl serve`` on a free port."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN_LINE = "Created admin token"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDL_")}
    return {**env, **extra}


def pdl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``pdl ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "services.runtime.cli", *args], cwd=ROOT,
                          env=environment(**env), capture_output=True, text=True, timeout=60)


def kill_survivors(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """``kill -9`` each of ``processes`` still running (a failed test's; paused ones too)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    stdout: Path
    process: subprocess.Popen[bytes]

    def printed(self) -> str:
        return self.stdout.read_text()


@contextmanager
def serving(data_dir: Path, logs: Path, *, workers: int | None = None,
            options: Sequence[str] = (), **env: str) -> Iterator[Server]:
    """``pdl serve OPTIONS`` on ``data_dir`` (with ``env`` added; ``workers``: its default,
    one per core, unless given) until the block ends (then a graceful SIGTERM, unless the
    test killed it)."""
    port = free_port()
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"stdout-{port}.txt", logs / f"stderr-{port}.txt"
    options = [*options, *(["--workers", str(workers)] if workers else [])]
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.cli", "--data-dir", str(data_dir), "serve",
             "--port", str(port), *options], cwd=ROOT, env=environment(**env), stdout=stdout,
            stderr=stderr)
    try:
        server = Server(f"http://127.0.0.1:{port}", out, process)
        wait_until_healthy(server, process, err)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_healthy(server: Server, process: subprocess.Popen[bytes], err: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pdl serve exited: {err.read_text()}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"pdl serve did not become healthy: {err.read_text()}")
