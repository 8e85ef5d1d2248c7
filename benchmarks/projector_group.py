"""Row 15: projectors in one consumer group, two members against one.

A log of seeded features on PostgreSQL is published once to fresh topics (6 partitions) by the
relay. Then ``pdl project --source kafka --group G`` (catch up once, then exit) builds the views
into a fresh PostgreSQL database: one member (baseline), or two members of one group at once
(ours), each member holding its share of the partitions and all writing the one shared views
store (their writes take turns on the views' advisory lock). Time from the start of the
processes until the last one exits, process start-up included; events/s; alternating rounds,
medians. No aim is set by the issue: the figure says what a second member buys.

``python -m benchmarks.projector_group [--quick | --smoke]`` runs it alone. PostgreSQL and
Kafka as :mod:`benchmarks.relay_failover`.
"""

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from pydantic import SecretStr

from benchmarks import postgres
from benchmarks.harness import Measure, Mode, Result, log, sizes, standalone
from benchmarks.relay_failover import REPO, seed, server
from benchmarks.relay_throughput import broker
from benchmarks.relay_throughput import unavailable as no_kafka
from benchmarks.workload import scratch_dir
from services.runtime.bootstrap import build_application, build_relay
from services.runtime.settings import KafkaSettings, Settings, StoreSettings

__all__ = ["NAME", "run", "unavailable"]

NAME = "projector_group"
ROW = 15
PARTITIONS = 6


def unavailable() -> str | None:
    return no_kafka() or postgres.unavailable()


def run(mode: Mode) -> Result:
    events = sizes(mode, smoke=1_000, quick=20_000, full=100_000)
    rounds = sizes(mode, smoke=1, quick=2, full=3)
    with broker() as bootstrap, server(mode) as dsn, scratch_dir() as tmp:
        databases = postgres.Databases(dsn)
        try:
            store = databases.create("projector_log")
            seed(tmp / "seed", store, events)
            kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="pdl-bench",
                                  topic_prefix=f"pg{uuid.uuid4().hex[:10]}",
                                  partitions=PARTITIONS, state_topics=False)
            publish(tmp / "relay", store, kafka)
            one, two = [], []
            for n in range(rounds):  # alternate, so background load hits both sides alike
                one.append(events / projecting_seconds(
                    tmp / f"one-{n}", databases.create("views"), kafka, members=1))
                two.append(events / projecting_seconds(
                    tmp / f"two-{n}", databases.create("views"), kafka, members=2))
        finally:
            databases.drop_all()
    base, ours = statistics.median(one), statistics.median(two)
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=f"Kafka-fed views in PostgreSQL, {events:,} events, {PARTITIONS} partitions",
        baseline=Measure("one `pdl project --source kafka` member", round(base, 1),
                         "events/s", extra={"runs_events_per_s": [round(r) for r in one]}),
        ours=Measure("two members of one group, one shared views store", round(ours, 1),
                     "events/s", extra={"runs_events_per_s": [round(r) for r in two]}),
        target="none set (reported)", met=True,
        params={"events": events, "rounds": rounds, "partitions": PARTITIONS,
                "statistic": "median of the rounds, process start-up included"},
        notes=["both members write the one views store, taking turns per batch on its "
               "advisory lock: a second member adds decoding in parallel, not writing"],
    )


def publish(folder: Path, dsn: str, kafka: KafkaSettings) -> None:
    """Publish the whole log to the topics once (the relay, in process)."""
    settings = Settings(data_dir=folder, kafka=kafka,
                        store=StoreSettings(kind="postgres", dsn=SecretStr(dsn)))
    app = build_application(settings)
    relay = build_relay(app, settings)
    assert relay is not None
    try:
        started = time.monotonic()
        relay.run_until_caught_up()
        log(f"  published in {time.monotonic() - started:.1f} s")
    finally:
        relay.close()
        app.close()


def projecting_seconds(folder: Path, views_dsn: str, kafka: KafkaSettings,
                       members: int) -> float:
    """Start ``members`` processes of one new group on fresh views; seconds until all exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDL_")}
    env |= {"PDL_STORE__KIND": "postgres", "PDL_STORE__DSN": views_dsn,
            "PDL_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers or "",
            "PDL_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
            "PDL_KAFKA__CLIENT_ID": kafka.client_id,
            "PDL_KAFKA__PARTITIONS": str(kafka.partitions)}
    group = f"bench-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    started = time.monotonic()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "services.runtime.cli", "--data-dir", str(folder / f"m{n}"),
         "project", "--source", "kafka", "--group", group], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=(folder / f"m{n}.log").open("wb"))
        for n in range(members)]
    codes = [process.wait(timeout=900) for process in processes]
    seconds = time.monotonic() - started
    if any(codes):
        raise RuntimeError(f"a projector failed (exit codes {codes}); see {folder}")
    log(f"  {members} member(s): {seconds:.2f} s")
    return seconds


def report(outcome: Result) -> str:
    rows = [f"| {m.label} | {m.value:,.0f} {m.unit} |" for m in (outcome.baseline, outcome.ours)]
    return "\n".join(["| projectors | throughput |", "|---|---|", *rows])


def main(argv: list[str] | None = None) -> int:
    return standalone("python -m benchmarks.projector_group", __doc__, run, report, argv)


if __name__ == "__main__":
    sys.exit(main())
