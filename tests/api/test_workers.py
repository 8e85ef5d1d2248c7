"""``pdl serve --workers 2``: two server processes on one data folder, one of them leading.

Requests on separate connections land on either process. Every write is kept (no lost
update across processes), every read with ``?after=`` sees the write, whichever process
took it, and when the leading process is killed the other takes the views over.
"""

import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.api.driver import Api
from tests.api.processes import serving
from tests.api.test_processes import admin_token

pytestmark = pytest.mark.slow

WRITERS = 6
EACH = 10


def test_two_workers_keep_every_concurrent_write_and_read_each_others_writes(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "logs", workers=2) as server:
        token = admin_token(server.printed())
        with httpx.Client(base_url=server.url) as http:
            api = Api(http, token)
            product = api.create_product()
            feature = api.propose(product["id"], "Export")
        positions: list[int] = []
        failures: list[str] = []

        def writer(n: int) -> None:
            for i in range(EACH):  # a new connection per request: both processes take some
                with httpx.Client(base_url=server.url) as http:
                    api = Api(http, token)
                    response = api.post(f"/features/{feature['id']}/requirements",
                                        {"text": f"writer {n} item {i}", "rationale": "asked"})
                    if response.status_code != 200:
                        failures.append(response.text)
                        continue
                    position = response.json()["position"]
                    positions.append(position)
                    history = api.get(f"/features/{feature['id']}/history", after=position)
                    if history.status_code != 200:
                        failures.append(history.text)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with httpx.Client(base_url=server.url) as http:
            api = Api(http, token)
            current = api.read(f"/features/{feature['id']}")
            history = api.read(f"/features/{feature['id']}/history", after=max(positions))
            health = api.read("/health")

    texts = {r["text"] for r in current["requirements"]}
    assert texts == {f"writer {n} item {i}" for n in range(WRITERS) for i in range(EACH)}
    assert current["version"] == feature["version"] + WRITERS * EACH
    assert len(history["items"]) == 1 + WRITERS * EACH
    assert health["views_position"] == health["log_position"] == max(positions)
    assert server.process.returncode == 0


def test_when_the_leading_worker_dies_the_views_keep_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "logs", workers=2) as server, \
            httpx.Client(base_url=server.url) as http:
        api = Api(http, admin_token(server.printed()))
        product = api.create_product()
        api.read("/products", after=product["position"])
        leader = int((data / "leader.lock").read_text())
        assert leader != server.process.pid

        os.kill(leader, signal.SIGKILL)
        for i in range(5):
            with httpx.Client(base_url=server.url) as fresh:
                api = Api(fresh, api.token)
                created = api.create_product(name=f"After {i}")
                names = {p["name"] for p in api.read("/products", after=created["position"])[
                    "items"]}
                assert f"After {i}" in names
        assert int((data / "leader.lock").read_text()) != leader
