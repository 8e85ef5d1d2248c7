"""Projector processes (``pdl project --source kafka``) as a consumer group: start them, read
their logs, stop them cleanly or ``kill -9`` them."""

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.api.processes import ROOT, environment

#: What a member logs for each partition it is given (projections/feeding/kafka.py).
RESUMING = "resuming at offset"


@dataclass
class Member:
    """One ``pdl project --source kafka`` process and its log (stderr)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def printed(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def resumed_at(self) -> dict[str, int]:
        """The offset it last resumed at, per ``kafka:<topic>:<partition>`` source."""
        found: dict[str, int] = {}
        for line in self.printed().splitlines():
            if RESUMING in line:
                where, offset = line.rsplit(": resuming at offset ", 1)
                found[where.rsplit(" ", 1)[-1]] = int(offset)
        return found

    def wait_until_given_partitions(self, timeout_s: float = 30) -> None:
        """Wait until the group has given it some partitions (each member of a group of at
        most three, on topics of six partitions each, is given some)."""
        deadline = time.monotonic() + timeout_s
        while RESUMING not in self.printed() and time.monotonic() < deadline:
            assert self.alive(), f"{self.name} exited:\n{self.printed()[-3000:]}"
            time.sleep(0.05)
        lines = [line for line in self.printed().splitlines() if "selector" not in line]
        assert RESUMING in self.printed(), (
            f"{self.name} was never given a partition in {timeout_s} s (alive: "
            f"{self.alive()}); its log ends:\n" + "\n".join(lines[-8:]))

    def kill(self) -> None:
        """``kill -9``: no clean leave; the group notices once its session expires."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def exit_code(self, timeout_s: float) -> int:
        """Its exit code, waiting at most ``timeout_s`` (fails the test if it runs on)."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still runs after {timeout_s} s:\n"
                                 f"{self.printed()[-3000:]}") from None

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; it must exit cleanly."""
        if self.alive():
            self.terminate()
            assert self.exit_code(30) == 0, self.printed()[-3000:]


def start(tmp_path: Path, name: str, env: dict[str, str], group: str, *,
          follow: bool = True) -> Member:
    """``pdl project --source kafka --group GROUP [--follow]`` on a data folder of its own,
    with ``env`` (its whole PDL_* configuration)."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / f"{name}.log"
    data = tmp_path / name
    data.mkdir(exist_ok=True)
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.cli", "--data-dir", str(data), "project",
             "--source", "kafka", "--group", group, *(["--follow"] if follow else [])],
            cwd=ROOT, env=environment(**env), stdout=subprocess.DEVNULL, stderr=stderr)
    return Member(name, process, log)


def join_one_by_one(tmp_path: Path, names: list[str], env: dict[str, str], group: str
                    ) -> list[Member]:
    """Members ``names`` of ``group`` (following), each started once the one before holds
    its partitions (members meeting at once may leave one out: see test_joining.py)."""
    joined: list[Member] = []
    for name in names:
        joined.append(start(tmp_path, name, env, group))
        joined[-1].wait_until_given_partitions()
    return joined
