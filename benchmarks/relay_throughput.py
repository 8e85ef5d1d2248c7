"""Row 7: the outbox relay's throughput to a real Kafka broker, and append → consumer latency.

Baseline: the exact messages the relay publishes (same topics layout, keys, headers and value
bytes, precomputed), sent by a bare kafka-python producer with the same delivery settings
(``acks=all``, idempotent, same linger and batch size) and flushed once at the end. Ours: the
relay publishing the same stored events from position 0: read the log, build the CloudEvents,
publish, wait for every acknowledgement per batch, record the position. Both run in the same
process against the same broker, alternating (baseline first), 3 times each in quick/full mode;
the median of each side is reported. Both sides publish the change stream only: the relay's
current-state messages (``PDL_KAFKA__STATE_TOPICS``, on by default) are switched off here, so
that the row keeps measuring the same messages as before they existed (their cost is in
docs/KAFKA.md).

Latency: with the relay running in its thread, a writer appends single commands at a steady
pace and wakes the relay (as the service does after a write); a consumer on the topic records
when each ``ce_id`` arrives. Latency = command returned → message consumed.

``python -m benchmarks.relay_throughput [--quick | --smoke]`` runs it alone and writes
``benchmarks/results/relay.json``; ``python -m benchmarks run --only relay_throughput`` runs it in
the team's harness (``relay_throughput.json``). Uses ``KAFKA_BOOTSTRAP_SERVERS`` (or
``PDL_KAFKA__BOOTSTRAP_SERVERS``) when set, else starts a temporary broker with deploy/kafka.sh.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.harness import RESULTS_DIR, Measure, Mode, Result, describe, latency_summary, sizes
from benchmarks.workload import REASON, open_app, scratch_dir
from contract.changes import change_from_event, event_id
from contract.cloudevents import KafkaMessage, messages_for
from contract.topics import all_topics, entity_topic
from domain.base import DecisionLogAggregate
from domain.feature import Feature
from domain.product import Product
from services.commands.application import DecisionLog
from services.runtime.settings import KafkaSettings
from services.store.leadership import FileLease
from services.streaming.kafka_io import ProducerOptions, ensure_topics
from services.streaming.leases import FileRelayLease
from services.streaming.relay import Relay, RelayOptions, RelayPositions

NAME = "relay_throughput"
TARGET_RATIO = 0.8
EVENTS_PER_FEATURE = 10  # proposed, 3 status changes (each + a roadmap change), 6 priorities
REPO = Path(__file__).resolve().parents[1]


def unavailable() -> str | None:
    if configured_bootstrap() or (shutil.which("java") and (REPO / "deploy/kafka.sh").exists()):
        return None
    return "no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS or install Java for deploy/kafka.sh"


def configured_bootstrap() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(
        "PDL_KAFKA__BOOTSTRAP_SERVERS")


def run(mode: Mode) -> Result:
    events = sizes(mode, smoke=2_000, quick=20_000, full=100_000)
    samples = sizes(mode, smoke=50, quick=300, full=1_000)
    repeats = sizes(mode, smoke=1, quick=3, full=3)
    with broker() as bootstrap, scratch_dir() as tmp:
        app = open_app(tmp / "store")
        seed(app, events)
        count = len(stored_messages(app, "count"))
        base_runs, ours_runs = [], []
        for n in range(repeats):  # alternate, so background load hits both sides alike
            base_runs.append(count / bare_producer_seconds(bootstrap, app))
            ours_runs.append(count / relay_seconds(bootstrap, app, tmp / f"positions-{n}.db"))
        latencies = append_to_consumer_latencies(bootstrap, app, tmp, samples)
        app.close()
    base_rate, ours_rate = statistics.median(base_runs), statistics.median(ours_runs)
    ours_s = count / ours_rate
    lat = latency_summary(latencies)
    return Result(
        name=NAME, row=7, title=f"relay to Kafka ({events:,} stored events, {count:,} messages)",
        mode=mode,
        baseline=Measure("bare kafka-python producer, same messages, acks=all, one flush",
                         round(base_rate, 1), "msgs/s",
                         extra={"runs_msgs_per_s": [round(r) for r in base_runs]}),
        ours=Measure("relay: read log → CloudEvents → publish, wait per batch, record position",
                     round(ours_rate, 1), "msgs/s",
                     extra={"events_per_s": round(events / ours_s, 1),
                            "runs_msgs_per_s": [round(r) for r in ours_runs],
                            "append_to_consumer_p50_ms": lat["p50_ms"],
                            "append_to_consumer_p99_ms": lat["p99_ms"],
                            "latency": lat}),
        target=f"≥ {TARGET_RATIO}x", met=ours_rate / base_rate >= TARGET_RATIO,
        params={"events": events, "messages": count, "latency_samples": samples,
                "repeats": repeats, "statistic": "median of the runs",
                "batch_size": RelayOptions().batch_size, "partitions": 3},
        notes=[f"append→consumer latency p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
               "(relay woken after each write; without a wake-up it polls every 100 ms)"],
    )


# Setup


@contextmanager
def broker() -> Iterator[str]:
    """The configured broker, or a temporary one started (and stopped) with deploy/kafka.sh."""
    configured = configured_bootstrap()
    if configured:
        yield configured
        return
    run_dir = tempfile.mkdtemp(prefix="pdl-bench-kafka-")
    env = {**os.environ, "KAFKA_RUN_DIR": run_dir, "KAFKA_PORT": str(free_port()),
           "KAFKA_CONTROLLER_PORT": str(free_port())}
    script = str(REPO / "deploy/kafka.sh")
    started = subprocess.run([script, "start"], env=env, check=True, capture_output=True,
                             text=True)
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop"], env=env, check=False, capture_output=True)
        shutil.rmtree(run_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(app: DecisionLog, events: int, chunk: int = 100) -> None:
    """Stored history: features proposed, moved along their lifecycle, re-prioritised."""
    product = Product.create(name="Bench", vision="Fast.", value_proposition="Speed.",
                             target_customers="Everyone.", owner="bench", actor="bench")
    app.save(product)
    for start in range(0, events // EVENTS_PER_FEATURE, chunk):
        features = []
        for n in range(start, min(events // EVENTS_PER_FEATURE, start + chunk)):
            feature = Feature.propose(product_id=product.id, title=f"Feature {n}",
                                      problem="Too slow.", business_value="Happier users.",
                                      benefit="It is faster.", actor="bench")
            for status in ("accepted", "in_progress", "done"):
                feature.change_status(status, REASON)
            for k in range(EVENTS_PER_FEATURE - 4):
                feature.change_priority(float(k + 1), REASON)
            features.append(feature)
        app.save(*features)


def stored_messages(app: DecisionLog, prefix: str) -> list[KafkaMessage]:
    """Every message the relay publishes for the stored events, built as the relay builds it."""
    notifications = app.recorder.select_notifications(0, 10_000_000, inclusive_of_start=False)
    messages: list[KafkaMessage] = []
    for n in notifications:
        event = app.mapper.to_domain_event(n)
        assert isinstance(event, DecisionLogAggregate.Event)
        messages.extend(messages_for(change_from_event(event, n.id), prefix))
    return messages


def kafka_settings(bootstrap: str, label: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, client_id="pdl-bench",
                         topic_prefix=f"bench-{uuid.uuid4().hex[:8]}-{label}", partitions=3,
                         state_topics=False)


# Measurements


def bare_producer_seconds(bootstrap: str, app: DecisionLog) -> float:
    kafka = kafka_settings(bootstrap, "bare")
    ensure_topics(kafka, all_topics(kafka.topic_prefix))
    messages = stored_messages(app, kafka.topic_prefix)
    options = ProducerOptions()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             linger_ms=options.linger_ms, batch_size=options.batch_size_bytes)
    started = time.perf_counter()
    for m in messages:
        producer.send(m.topic, key=m.key, value=m.value, headers=m.headers)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return seconds


def shipped_relay(app: DecisionLog, kafka: KafkaSettings, positions: Path) -> Relay:
    """The relay as ``pdl serve`` and ``pdl relay`` run it on SQLite: under the relay lease,
    so each batch is a Kafka transaction, committed before the next is sent."""
    lease = FileRelayLease(FileLease(positions.with_name(positions.name + ".lock")))
    return Relay(app, kafka, RelayPositions(positions), lease=lease)


def relay_seconds(bootstrap: str, app: DecisionLog, positions: Path) -> float:
    kafka = kafka_settings(bootstrap, "relay")
    ensure_topics(kafka, all_topics(kafka.topic_prefix))
    relay = shipped_relay(app, kafka, positions)
    relay.connect()  # like the bare producer, connected before the clock starts
    started = time.perf_counter()
    relay.run_until_caught_up()
    seconds = time.perf_counter() - started
    relay.close()
    return seconds


def append_to_consumer_latencies(bootstrap: str, app: DecisionLog, tmp: Path,
                                 samples: int) -> list[float]:
    kafka = kafka_settings(bootstrap, "latency")
    ensure_topics(kafka, all_topics(kafka.topic_prefix))
    relay = shipped_relay(app, kafka, tmp / "latency-positions.db")
    relay.run_until_caught_up()  # the seeded history first: latency is for new writes only
    topic = entity_topic(kafka.topic_prefix, "feature")
    arrived: dict[str, float] = {}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in range(kafka.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for record in batch:
                    arrived.setdefault(dict(record.headers)["ce_id"].decode(), now)

    reader = threading.Thread(target=consume)
    reader.start()
    relay.start()
    product = Product.create(name="Latency", vision="v", value_proposition="v",
                             target_customers="v", owner="bench", actor="bench")
    feature = Feature.propose(product_id=product.id, title="Latency", problem="p",
                              business_value="b", benefit="b", actor="bench")
    app.save(product, feature)
    appended: dict[str, float] = {}
    for n in range(samples):
        outcome = app.change_priority(feature.id, float(n + 1), REASON)
        appended[str(event_id(outcome.id, outcome.version))] = time.perf_counter()
        relay.notify()
        time.sleep(0.01)
    deadline = time.monotonic() + 60
    while len(set(appended) - set(arrived)) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join()
    consumer.close()
    relay.close()
    return [arrived[i] - t for i, t in appended.items() if i in arrived]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes_group = parser.add_mutually_exclusive_group()
    sizes_group.add_argument("--quick", action="store_true")
    sizes_group.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "relay.json")
    args = parser.parse_args(argv)
    mode: Mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    result = run(mode)
    print(describe(result))
    print(f"append→consumer latency: {result.ours.extra['latency']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
