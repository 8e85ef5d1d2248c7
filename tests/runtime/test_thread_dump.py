"""`kill -USR1` makes a running `pdl` process print every thread's stack and carry on: how an
operator learns what a stuck process waits for."""

import signal
import time
from pathlib import Path

import httpx

from tests.api.processes import serving


def test_sigusr1_prints_every_threads_stack_and_the_server_keeps_serving(tmp_path: Path
                                                                           ) -> None:
    logs = tmp_path / "logs"
    with serving(tmp_path / "data", logs, workers=1) as server:
        stderr = next(logs.glob("stderr-*.txt"))
        server.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while "Current thread" not in stderr.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        printed = stderr.read_text()
        assert "Current thread" in printed, printed[-2000:]
        assert "File " in printed  # frames, with their source files
        assert server.process.poll() is None  # still running
        assert httpx.get(f"{server.url}/livez", timeout=5).status_code == 200
