"""Relay candidates as real processes (``pdl relay``), what they log, and what they leave in
the shared PostgreSQL database: the lease row and the recorded position."""

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.api.processes import ROOT, environment
from tests.kafka.streams import wait_until

#: What a candidate logs when it takes the lease, and when it loses it.
LEADING = "leading as"
DEPOSED = "no longer leads"
#: Events per published batch (one Kafka transaction): a hand-over re-publishes at most one.
BATCH = 50


@dataclass
class Candidate:
    """One ``pdl relay`` process, its own data folder, and its log (stderr)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def printed(self) -> str:
        return self.log.read_text(errors="replace")

    def times_leading(self) -> int:
        return self.printed().count(LEADING)

    def leads(self) -> bool:
        """Whether its log says it leads now (it has not said it lost the lead since)."""
        printed = self.printed()
        return self.alive() and printed.count(LEADING) > printed.count(DEPOSED)

    def was_deposed(self) -> bool:
        return DEPOSED in self.printed()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``: no clean stop, the lease is left to expire."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; it must exit cleanly."""
        if self.alive():
            self.process.send_signal(signal.SIGCONT)  # in case a test left it paused
            self.process.terminate()
            try:
                code = self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGUSR1)  # its threads' stacks, in its log
                time.sleep(1)
                self.kill()
                raise AssertionError(f"{self.name} did not stop within 30 s of SIGTERM:\n"
                                     f"{self.printed()[-6000:]}") from None
            assert code == 0, self.printed()[-3000:]


def start(tmp_path: Path, name: str, env: dict[str, str], data: Path | None = None
          ) -> Candidate:
    """``pdl relay`` on the data folder ``data`` (default: ``tmp_path/name``) with ``env``
    (its whole PDL_* configuration), small batches, a quick poll."""
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.cli", "--data-dir",
             str(data or tmp_path / name), "relay", "--batch-size", str(BATCH),
             "--poll-interval", "0.05"],
            cwd=ROOT, env=environment(**env), stdout=subprocess.DEVNULL, stderr=stderr)
    return Candidate(name, process, log)


def stop_all(candidates: list[Candidate]) -> None:
    """Stop the followers first, the leader last: no hand-over on the way out."""
    for candidate in sorted(candidates, key=Candidate.leads):
        candidate.stop()


def relay_env(dsn: str | None, bootstrap: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a candidate publishing to ``prefix`` (PostgreSQL at ``dsn``, else
    the data folder's SQLite store)."""
    store = {"PDL_STORE__KIND": "postgres", "PDL_STORE__DSN": dsn} if dsn else {}
    return {**store, "PDL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "PDL_KAFKA__TOPIC_PREFIX": prefix, "PDL_KAFKA__CLIENT_ID": "pdl-test", **extra}


# The shared database


def lease_holder(dsn: str) -> str | None:
    """Who holds the relay lease row (expired or not), ``HOST:PID:random``."""
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT holder FROM relay_leases").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return str(row[0]) if row else None


def holder_pid(holder: str | None) -> int | None:
    return int(holder.rsplit(":", 2)[1]) if holder else None


def published_position(dsn: str) -> int:
    """The log position the relays recorded as published (0 before the first batch)."""
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT max(position) FROM kafka_relay_targets").fetchone()
    except psycopg.errors.UndefinedTable:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def leader(candidates: list[Candidate], dsn: str) -> Candidate:
    """The live candidate that holds the lease row and has logged that it leads (waits for
    one)."""
    found: list[Candidate] = []

    def one() -> bool:
        pid = holder_pid(lease_holder(dsn))
        found[:] = [c for c in candidates if c.alive() and c.pid == pid and c.times_leading()]
        return bool(found)

    wait_until(one, 60, "a leader")
    return found[0]


def next_leader(candidates: list[Candidate], within_s: float) -> tuple[Candidate, float]:
    """The live candidate that logs "leading" next, and how long that took (fails after
    ``within_s`` plus a few seconds, so that a slow take-over is reported with its time)."""
    before = {c.name: c.times_leading() for c in candidates}
    started = time.monotonic()
    while time.monotonic() < started + within_s + 10:
        for candidate in candidates:
            if candidate.alive() and candidate.times_leading() > before[candidate.name]:
                return candidate, time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"no candidate took over within {within_s + 10:.0f} s")
