"""Row 14: relay fail-over, and what standing candidates cost the relay's throughput.

Real ``pdl relay`` processes on one PostgreSQL store (services/streaming/leases.py: one lease
row, one publisher). Fail-over: two candidates follow a log a writer appends to at a steady
pace (one command every 10 ms); the leader is killed with SIGKILL once it publishes, and the
time runs until a ``read_committed`` consumer receives the first message of the candidate that
took over (it must wait for the dead leader's lease to expire, then fences its transactional
id); when it logged taking the lease is recorded beside it. A fresh candidate replaces each
dead one. Measured with the default lease (``PDL_KAFKA__RELAY_LEASE_S``) and with a 3 s one;
bound: the lease plus 2 s.

Throughput: the same seeded log published end to end (read, CloudEvents, a Kafka transaction
per batch, position recorded in PostgreSQL) to fresh topics by one candidate (baseline) and by
one of three (ours), alternating; events/s from the leader's "leading" log line until the
recorded position reaches the end of the log; the median of the runs. Target: three
candidates at least 0.9x one (the followers only try the lease once a second).

``python -m benchmarks.relay_failover [--quick | --smoke]`` runs it alone. PostgreSQL:
``PDL_TEST_POSTGRES_DSN`` if set (timings need no durable server), else
:func:`benchmarks.postgres.server`. Kafka: as :mod:`benchmarks.relay_throughput`.
"""

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psycopg
from kafka import KafkaConsumer, TopicPartition

from benchmarks import postgres
from benchmarks.harness import Measure, Mode, Result, latency_summary, log, sizes, standalone
from benchmarks.relay_throughput import broker
from benchmarks.relay_throughput import unavailable as no_kafka
from benchmarks.workload import command, open_app, scratch_dir, seed_features
from contract.topics import entity_topics
from services.commands.application import DecisionLog
from services.runtime.settings import KafkaSettings

__all__ = ["NAME", "run", "unavailable"]

NAME = "relay_failover"
ROW = 14
TARGET_RATIO = 0.9
#: A take-over may take the lease plus this long (the candidates' retry, the new producer).
MARGIN_S = 2.0
DEFAULT_LEASE_S = KafkaSettings().relay_lease_s
SHORT_LEASE_S = 3.0
LEADING = "leading as"
REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def unavailable() -> str | None:
    return no_kafka() or postgres.unavailable()


def run(mode: Mode) -> Result:
    kills = sizes(mode, smoke=1, quick=5, full=10)
    events = sizes(mode, smoke=2_000, quick=20_000, full=100_000)
    repeats = sizes(mode, smoke=1, quick=2, full=3)
    with broker() as bootstrap, server(mode) as dsn, scratch_dir() as tmp:
        databases = postgres.Databases(dsn)
        try:
            takeovers = {lease: failover_seconds(bootstrap, databases.create("failover"),
                                                 tmp / f"failover-{lease:g}", lease, kills)
                         for lease in (DEFAULT_LEASE_S, SHORT_LEASE_S)}
            store = databases.create("throughput")
            seed(tmp / "seed", store, events)
            one, three = [], []
            for n in range(repeats):  # alternate, so background load hits both sides alike
                one.append(events / publishing_seconds(bootstrap, store, tmp / f"1-{n}", 1))
                three.append(events / publishing_seconds(bootstrap, store, tmp / f"3-{n}", 3))
        finally:
            databases.drop_all()
    return result(mode, events, kills, repeats, takeovers, one, three)


def result(mode: Mode, events: int, kills: int, repeats: int,
           takeovers: dict[float, list[tuple[float, float]]], one: list[float],
           three: list[float]) -> Result:
    failovers = {lease: [first for _, first in times] for lease, times in takeovers.items()}
    leases = {lease: latency_summary([taken for taken, _ in times])
              for lease, times in takeovers.items()}
    summaries = {lease: latency_summary(seconds) for lease, seconds in failovers.items()}
    within = all(max(seconds) <= lease + MARGIN_S for lease, seconds in failovers.items())
    base, ours = statistics.median(one), statistics.median(three)
    extra: dict[str, object] = {"runs_events_per_s": [round(r) for r in three]}
    for lease, summary in summaries.items():
        extra[f"failover_{lease:g}s_p50_ms"] = summary["p50_ms"]
        extra[f"failover_{lease:g}s_max_ms"] = summary["max_ms"]
        extra[f"lease_taken_{lease:g}s_max_ms"] = leases[lease]["max_ms"]
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=f"relay fail-over ({kills} kills per lease) and 3 candidates ({events:,} events)",
        baseline=Measure("one relay candidate: log → Kafka transactions → position",
                         round(base, 1), "events/s",
                         extra={"runs_events_per_s": [round(r) for r in one]}),
        ours=Measure("the leader of three candidates, same log", round(ours, 1), "events/s",
                     extra=extra),
        target=f"≥ {TARGET_RATIO}x; every fail-over ≤ lease + {MARGIN_S:g} s",
        met=ours / base >= TARGET_RATIO and within,
        params={"events": events, "kills_per_lease": kills, "repeats": repeats,
                "leases_s": list(failovers), "failovers_s": {
                    f"{lease:g}": [round(s, 3) for s in seconds]
                    for lease, seconds in failovers.items()},
                "statistic": "median of the runs"},
        notes=[f"fail-over with a {lease:g} s lease: p50 {s['p50_ms'] / 1000:.2f} s, "
               f"max {s['max_ms'] / 1000:.2f} s over {s['samples']} kills (bound "
               f"{lease + MARGIN_S:g} s); the lease itself taken after p50 "
               f"{leases[lease]['p50_ms'] / 1000:.2f} s, max {leases[lease]['max_ms'] / 1000:.2f} s"
               for lease, s in summaries.items()],
    )


@contextmanager
def server(mode: Mode) -> Iterator[str]:
    """The test command's PostgreSQL if there is one (fail-over needs no durable server),
    else the benchmarks' own."""
    configured = os.environ.get(postgres.TEST_ENV)
    if configured:
        yield postgres.database_dsn(configured, "postgres")
        return
    with postgres.server(mode) as dsn:
        yield dsn


# Candidates


@dataclass
class Candidate:
    """One ``pdl relay`` process and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def times_leading(self) -> int:
        return self.log.read_text(errors="replace").count(LEADING)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.alive():
            self.process.send_signal(sig)
            self.process.wait(30)


class Candidates:
    """``pdl relay`` processes on one store and topic prefix, each with its own data folder."""

    def __init__(self, folder: Path, dsn: str, bootstrap: str, lease_s: float) -> None:
        self.folder, self.dsn = folder, dsn
        self.all: list[Candidate] = []
        self.prefix = f"fo{uuid.uuid4().hex[:10]}"
        self.env = {"PDL_STORE__KIND": "postgres", "PDL_STORE__DSN": dsn,
                    "PDL_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                    "PDL_KAFKA__TOPIC_PREFIX": self.prefix, "PDL_KAFKA__CLIENT_ID": "pdl-bench",
                    "PDL_KAFKA__RELAY_LEASE_S": f"{lease_s:g}"}
        folder.mkdir(parents=True)

    def start(self) -> Candidate:
        name = f"relay{len(self.all)}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PDL_")}
        with (self.folder / f"{name}.log").open("ab") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.runtime.cli", "--data-dir",
                 str(self.folder / name), "relay"], cwd=REPO, env={**env, **self.env},
                stdout=subprocess.DEVNULL, stderr=stderr)
        self.all.append(Candidate(process, self.folder / f"{name}.log"))
        return self.all[-1]

    def leading(self) -> int:
        return sum(c.times_leading() for c in self.all)

    def leader(self) -> Candidate:
        """The live candidate holding the lease row (waits for one)."""
        def holder() -> Candidate | None:
            with psycopg.connect(self.dsn) as conn:
                row = conn.execute("SELECT holder FROM relay_leases WHERE name = %s",
                                   (f"{self.prefix}.kafka",)).fetchone()
            pid = int(row[0].rsplit(":", 2)[1]) if row else None
            return next((c for c in self.all if c.alive() and c.process.pid == pid
                         and c.times_leading()), None)
        return found(holder, 60, "a leader")

    def position(self) -> int:
        try:
            with psycopg.connect(self.dsn) as conn:
                row = conn.execute("SELECT position FROM kafka_relay_targets "
                                   "WHERE topic_prefix = %s", (self.prefix,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0

    def stop(self) -> None:
        for candidate in self.all:
            candidate.stop(signal.SIGKILL)  # no clean hand-over between them on the way out


def found(lookup: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """What ``lookup`` returns once it is not None (polled every 20 ms)."""
    deadline = time.monotonic() + timeout_s
    while (value := lookup()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    found(lambda: True if condition() else None, timeout_s, what)


# Fail-over


class Arrivals:
    """A ``read_committed`` consumer of the entity topics, noting when messages arrive."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.last = 0.0
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                       enable_auto_commit=False,
                                       isolation_level="read_committed")
        self._topics = entity_topics(prefix)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._consume, daemon=True)

    def __enter__(self) -> "Arrivals":
        partitions = [TopicPartition(t, p) for t in self._topics
                      for p in sorted(self._consumer.partitions_for_topic(t) or ())]
        self._consumer.assign(partitions)
        self._consumer.seek_to_end(*partitions)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._consumer.close()

    def _consume(self) -> None:
        while not self._stop.is_set():
            if self._consumer.poll(timeout_ms=20):
                self.last = time.monotonic()

    def first_after(self, moment: float, timeout_s: float = 60) -> float:
        return found(lambda: self.last if self.last > moment else None, timeout_s,
                     "a message from the new leader")


def failover_seconds(bootstrap: str, dsn: str, folder: Path, lease_s: float,
                     kills: int) -> list[tuple[float, float]]:
    """Kill the leader ``kills`` times while a writer appends; each time, kill → the lease
    taken (the "leading" line), and kill → the first message of the new leader."""
    log(f"fail-over, lease {lease_s:g} s: {kills} kills")
    app = open_app(folder / "writer", kind="postgres", dsn=dsn)
    candidates = Candidates(folder / "relays", dsn, bootstrap, lease_s)
    try:
        with Writing(app):
            candidates.start()
            candidates.start()
            until(lambda: candidates.position() > 0, 60, "the first batch")
            with Arrivals(bootstrap, candidates.prefix) as arrivals:
                return [kill_the_leader(candidates, arrivals) for _ in range(kills)]
    finally:
        candidates.stop()
        app.close()


def kill_the_leader(candidates: Candidates, arrivals: Arrivals) -> tuple[float, float]:
    leader, at = candidates.leader(), candidates.position()
    until(lambda: candidates.position() > at, 30, "the leader publishing")
    leading = candidates.leading()
    leader.stop(signal.SIGKILL)
    killed = time.monotonic()
    until(lambda: candidates.leading() > leading, 60, "a new leader")
    lease_taken = time.monotonic()
    took = arrivals.first_after(lease_taken) - killed
    fresh = candidates.start()  # two candidates at least, always
    until(lambda: "starting" in fresh.log.read_text(), 60, "the fresh candidate")
    log(f"  lease taken in {lease_taken - killed:.2f} s, first message in {took:.2f} s")
    return lease_taken - killed, took


class Writing:
    """Appends one command every 10 ms on a thread while the block runs."""

    def __init__(self, app: DecisionLog) -> None:
        self.app = app
        _, self.features = seed_features(app, 20)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True)

    def _write(self) -> None:
        n = 0
        while not self._stop.wait(0.01):
            command(self.app, self.features[n % len(self.features)], n)
            n += 1

    def __enter__(self) -> "Writing":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# Throughput


def seed(folder: Path, dsn: str, events: int) -> None:
    app = open_app(folder, kind="postgres", dsn=dsn)
    try:
        seed_features(app, events - 1)  # the product, then one event per feature
    finally:
        app.close()


def publishing_seconds(bootstrap: str, dsn: str, folder: Path, count: int) -> float:
    """How long the leader of ``count`` candidates takes to publish the whole log to fresh
    topics, from its "leading" line to the position recorded at the end."""
    candidates = Candidates(folder, dsn, bootstrap, DEFAULT_LEASE_S)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT max(notification_id) FROM decisionlog_events").fetchone()
    end = int(row[0]) if row else 0
    try:
        for _ in range(count):
            candidates.start()
        until(lambda: candidates.leading() > 0, 60, "a leader")
        started = time.monotonic()
        until(lambda: candidates.position() >= end, 600, "the end of the log")
        seconds = time.monotonic() - started
    finally:
        candidates.stop()
    log(f"  {count} candidate(s): {seconds:.2f} s")
    return seconds


def report(outcome: Result) -> str:
    rows = [f"| {m.label} | {m.value:,.0f} {m.unit} |" for m in (outcome.baseline, outcome.ours)]
    return "\n".join(["| relay | throughput |", "|---|---|", *rows])


def main(argv: list[str] | None = None) -> int:
    return standalone("python -m benchmarks.relay_failover", __doc__, run, report, argv)


if __name__ == "__main__":
    sys.exit(main())
