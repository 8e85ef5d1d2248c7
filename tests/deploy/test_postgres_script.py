"""deploy/postgres.sh, for real: a throwaway cluster in a temp folder on a free port answers on
the DSN it prints, starts idempotently, reports its status, and stops leaving no process."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.api.processes import ROOT

SCRIPT = ROOT / "deploy" / "postgres.sh"


@dataclass
class Cluster:
    """deploy/postgres.sh bound to one run dir and port."""

    run_dir: Path
    port: int

    def run(self, command: str, **settings: str) -> subprocess.CompletedProcess[str]:
        # The script's own settings come only from the test (the test command exports PG_FAST
        # for its own cluster: inherited, it would make every cluster here fast).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PG_")}
        env = inherited | {"PG_RUN_DIR": str(self.run_dir), "PG_PORT": str(self.port)} | settings
        return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    def start(self, **settings: str) -> str:
        """The DSN: the last line of stdout."""
        result = self.run("start", **settings)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postmasters_naming(run_dir: Path) -> list[str]:
    """Command lines of live processes that run postgres with this run dir."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended while we looked
            continue
        if "postgres" in command and str(run_dir) in command:
            found.append(command)
    return found


def answer(dsn: str, query: str) -> object:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not pytest's tmp_path: as root the script runs the server as an unprivileged user, who
    # cannot enter pytest's private (mode 700) base folder. A short path also keeps the socket
    # path under its 107-byte limit.
    run_dir = Path(tempfile.mkdtemp(prefix="pdl-pg-", dir="/tmp"))
    cluster = Cluster(run_dir, free_port())
    try:
        yield cluster
    finally:
        cluster.run("stop")
        shutil.rmtree(run_dir, ignore_errors=True)


def test_start_prints_a_dsn_that_answers_and_starting_again_prints_the_same_dsn(
        cluster: Cluster) -> None:
    dsn = cluster.start(PG_FAST="1")
    again = cluster.start(PG_FAST="1")

    assert dsn == f"postgresql://postgres@127.0.0.1:{cluster.port}/pdl"
    assert again == dsn
    assert answer(dsn, "SELECT 1") == 1
    assert answer(dsn, "SHOW fsync") == "off"


def test_by_default_the_cluster_is_durable_and_takes_many_connections(cluster: Cluster) -> None:
    dsn = cluster.start()

    assert answer(dsn, "SHOW fsync") == "on"
    assert answer(dsn, "SHOW synchronous_commit") == "on"
    assert answer(dsn, "SHOW max_connections") == "300"


def test_status_says_running_until_stop_which_leaves_no_postgres_process(
        cluster: Cluster) -> None:
    cluster.start(PG_FAST="1")
    running = cluster.run("status")

    stopped = cluster.run("stop")
    after = cluster.run("status")

    assert running.returncode == 0 and "running" in running.stdout
    assert stopped.returncode == 0, stopped.stderr
    assert after.returncode != 0 and "not running" in after.stdout
    assert postmasters_naming(cluster.run_dir) == []


def test_stop_without_a_server_succeeds_and_status_says_not_running(cluster: Cluster) -> None:
    stopped = cluster.run("stop")
    status = cluster.run("status")

    assert stopped.returncode == 0, stopped.stderr
    assert status.returncode != 0 and "not running" in status.stdout


def test_a_second_start_on_a_port_in_use_fails_with_a_clear_message(cluster: Cluster) -> None:
    cluster.start(PG_FAST="1")
    other = Cluster(Path(tempfile.mkdtemp(prefix="pdl-pg-", dir="/tmp")), cluster.port)
    try:
        result = other.run("start")
    finally:
        other.run("stop")
        shutil.rmtree(other.run_dir, ignore_errors=True)

    assert result.returncode != 0
    assert "already in use" in result.stderr
