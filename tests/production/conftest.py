"""Fixtures for the production tests: a PostgreSQL cluster of the test's own, which it may stop
and start again (``deploy/postgres.sh``), beside the shared ``pg_dsn`` database."""

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.processes import ROOT, environment, free_port

SCRIPT = ROOT / "deploy" / "postgres.sh"


@dataclass
class OwnPostgres:
    """A throwaway cluster: ``stop`` and ``start`` it at will; the data stays between them."""

    run_dir: Path
    port: int
    dsn: str = ""

    def script(self, command: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), command], capture_output=True, text=True, timeout=120,
            env=environment(PG_RUN_DIR=str(self.run_dir), PG_PORT=str(self.port), PG_FAST="1"))
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        self.dsn = self.script("start").strip().splitlines()[-1]

    def stop(self) -> None:
        self.script("stop")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A running cluster of this test's own, on a free port (its run dir under /tmp: the
    unprivileged user that runs the server cannot enter pytest's tmp_path)."""
    cluster = OwnPostgres(Path(tempfile.mkdtemp(prefix="pdl-pg-", dir="/tmp")), free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.run_dir, ignore_errors=True)
