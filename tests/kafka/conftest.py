"""Fixtures for the tests against a real Kafka broker.

The broker is the one named by ``KAFKA_BOOTSTRAP_SERVERS`` (``deploy/test.sh`` starts it and
also exports ``KAFKA_RUN_DIR``, which lets the outage test stop and restart it). Without that
variable, one is started here with ``deploy/kafka.sh`` in a temporary run dir on free ports and
stopped after the session. Every test gets its own topic prefix, so tests never see each
other's messages.
"""

import os
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import KafkaSettings, Settings

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "deploy" / "kafka.sh"


@dataclass
class Broker:
    """A broker the tests can reach, and stop/start when they know its run dir."""

    bootstrap: str
    run_dir: Path | None = None

    @property
    def restartable(self) -> bool:
        return self.run_dir is not None and (self.run_dir / "server.properties").exists()

    def _env(self) -> dict[str, str]:
        assert self.run_dir is not None
        config = (self.run_dir / "server.properties").read_text()
        controller = re.search(r"CONTROLLER://[^:,\s]+:(\d+)", config)
        assert controller, "no CONTROLLER listener in server.properties"
        return {**os.environ, "KAFKA_RUN_DIR": str(self.run_dir),
                "KAFKA_PORT": self.bootstrap.rsplit(":", 1)[1],
                "KAFKA_CONTROLLER_PORT": controller.group(1)}

    def stop(self) -> None:
        subprocess.run([str(KAFKA_SH), "stop"], env=self._env(), check=True,
                       stdout=subprocess.DEVNULL)

    def start(self) -> None:
        subprocess.run([str(KAFKA_SH), "start"], env=self._env(), check=True,
                       stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        known = os.environ.get("KAFKA_RUN_DIR")
        yield Broker(configured.split(",")[0], Path(known) if known else None)
        return
    run_dir = tmp_path_factory.mktemp("kafka")
    port = free_port()
    env = {**os.environ, "KAFKA_RUN_DIR": str(run_dir), "KAFKA_PORT": str(port),
           "KAFKA_CONTROLLER_PORT": str(free_port())}
    started = subprocess.run([str(KAFKA_SH), "start"], env=env, check=True,
                             stdout=subprocess.PIPE, text=True)
    broker = Broker(started.stdout.strip().splitlines()[-1], run_dir)
    try:
        yield broker
    finally:
        subprocess.run([str(KAFKA_SH), "stop"], env=env, check=False)


@pytest.fixture
def kafka(broker: Broker) -> KafkaSettings:
    """Kafka settings with a topic prefix of this test's own."""
    return KafkaSettings(bootstrap_servers=broker.bootstrap,
                         topic_prefix=f"t{uuid.uuid4().hex[:10]}", client_id="pdl-test",
                         partitions=3)


@pytest.fixture
def settings(tmp_path: Path, kafka: KafkaSettings) -> Settings:
    return Settings(data_dir=tmp_path / "data", kafka=kafka)


@pytest.fixture
def app(settings: Settings) -> Iterator[DecisionLog]:
    application = build_application(settings)
    yield application
    application.close()
