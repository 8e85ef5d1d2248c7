"""SIGTERM: readiness fails at once, requests in flight finish, every acknowledged write is
kept, the relay and the catch-up record where they are, and the process exits 0."""

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.api.driver import Api
from tests.api.processes import serving
from tests.api.test_processes import admin_token

pytestmark = pytest.mark.slow


def test_sigterm_under_load_keeps_every_acknowledged_write_and_exits_0(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    writers = 6
    acknowledged: dict[str, list[str]] = {}
    with serving(data, logs, workers=1) as server, httpx.Client(base_url=server.url) as http:
        token = admin_token(server.printed())
        api = Api(http, token)
        product = api.create_product()["id"]
        features = [api.propose(product, f"Feature {n}")["id"] for n in range(writers)]
        started = threading.Barrier(writers + 1)

        def write(feature: str) -> None:
            kept = acknowledged[feature] = []
            with httpx.Client(base_url=server.url, timeout=30) as own:
                writer = Api(own, token)
                started.wait()
                for n in range(10_000):
                    text = f"{feature}-{n}"
                    try:
                        response = writer.post(f"/features/{feature}/requirements",
                                               {"text": text, "rationale": "Load"})
                    except httpx.TransportError:  # the server stopped accepting
                        return
                    assert response.status_code == 200, response.text
                    kept.append(text)

        threads = [threading.Thread(target=write, args=(f,)) for f in features]
        for thread in threads:
            thread.start()
        started.wait()
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        for thread in threads:
            thread.join()

    assert all(acknowledged[feature] for feature in features)  # every writer got answers
    with serving(data, logs, workers=1) as server, httpx.Client(base_url=server.url) as http:
        api = Api(http, token)
        stored = {f: {r["text"] for r in api.read(f"/features/{f}")["requirements"]}
                  for f in features}
    for feature in features:
        assert set(acknowledged[feature]) <= stored[feature]


def test_after_sigterm_readyz_fails_at_once_while_requests_are_still_served_for_the_drain(
        tmp_path: Path) -> None:
    with serving(tmp_path / "data", tmp_path / "logs", workers=1,
                 PDL_API__SHUTDOWN_DRAIN_S="1") as server, \
            httpx.Client(base_url=server.url) as http:
        api = Api(http, admin_token(server.printed()))
        assert http.get("/readyz").status_code == 200

        server.process.send_signal(signal.SIGTERM)
        ready = http.get("/readyz")
        live = http.get("/livez")
        written = api.create_product()
        assert server.process.wait(timeout=30) == 0

    stderr = next((tmp_path / "logs").glob("stderr-*.txt")).read_text()
    assert ready.status_code == 503
    assert ready.json()["reasons"] == ["shutting down"]
    assert live.status_code == 200
    assert written["position"] == 1
    assert "Views catch-up stopped at position" in stderr
