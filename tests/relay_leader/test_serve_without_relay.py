"""``pdl serve`` with ``PDL_KAFKA__RELAY=false`` is no candidate: it never publishes, never
takes the lease, and its ``/readyz`` has no relay to report."""

import time
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer

from tests.api.processes import serving
from tests.kafka.conftest import Broker
from tests.production.replicas import on_postgres
from tests.relay_leader.candidates import lease_holder, published_position, relay_env
from tests.relay_leader.stream import Writer, writer_app

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def test_pdl_serve_without_its_relay_publishes_nothing(
        pg_dsn: str, broker: Broker, prefix: str, tmp_path: Path) -> None:
    env = {**on_postgres(pg_dsn), **relay_env(pg_dsn, broker.bootstrap, prefix),
           "PDL_KAFKA__RELAY": "false"}
    app = writer_app(tmp_path / "writer", pg_dsn)
    try:
        with serving(tmp_path / "serve", tmp_path / "logs", workers=1, **env) as server:
            with Writer(app):
                time.sleep(3)  # three times a candidate's retry, thirty polls
            ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
    finally:
        app.close()

    printed = "".join(log.read_text() for log in (tmp_path / "logs").iterdir())
    assert "relay" not in ready, ready
    assert "pdl.relay" not in printed and "relay 'kafka'" not in printed, printed[-3000:]
    assert lease_holder(pg_dsn) is None
    assert published_position(pg_dsn) == 0
    admin = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    try:
        assert not [topic for topic in admin.topics() if topic.startswith(prefix)]
    finally:
        admin.close()
