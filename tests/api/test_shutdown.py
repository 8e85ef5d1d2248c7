"""SIGTERM runs the whole close path: the server drains, every store is closed, exit 0."""

import signal
from pathlib import Path

import httpx
import pytest

from tests.api.driver import Api
from tests.api.processes import serving
from tests.api.test_processes import admin_token

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_every_store_and_exits_0(tmp_path: Path, signum: int,
                                                 workers: int) -> None:
    data = tmp_path / "data"
    with serving(data, tmp_path / "logs", workers=workers) as server, \
            httpx.Client(base_url=server.url) as http:
        api = Api(http, admin_token(server.printed()))
        product = api.create_product()
        api.read(f"/products/{product['id']}/roadmap", after=product["position"])
        assert {p.name for p in data.glob("*-wal")} == {
            "events.db-wal", "views.db-wal", "service.db-wal"}  # open while serving

        server.process.send_signal(signum)
        assert server.process.wait(timeout=20) == 0

    left = {p.name for p in data.iterdir()}
    assert {"events.db", "service.db", "views.db"} <= left
    assert [name for name in left if name.endswith(("-wal", "-shm"))] == []
    with serving(data, tmp_path / "logs") as server, httpx.Client(base_url=server.url) as http:
        again = Api(http, api.token).read(f"/products/{product['id']}/roadmap")
    assert again["product"]["id"] == product["id"]
