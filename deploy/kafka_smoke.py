"""Smoke test of a running broker with kafka-python: create a topic, produce one message with
headers, consume it back in a consumer group, delete the topic.

    deploy/kafka.sh start
    .venv/bin/python deploy/kafka_smoke.py [BOOTSTRAP]

BOOTSTRAP defaults to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092.

Exits non-zero (with a message) if anything does not round-trip.
"""

from __future__ import annotations

import os
import sys
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic


def main() -> int:
    default = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    bootstrap = sys.argv[1] if len(sys.argv) > 1 else default
    topic = f"pdl-smoke-{uuid.uuid4().hex[:8]}"
    key = b"product-42"
    value = b'{"hello": "kafka"}'
    headers = [("ce_id", uuid.uuid4().hex.encode()), ("ce_type", b"pdl.smoke")]
    t0 = time.monotonic()

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="pdl-smoke")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        print(f"created topic {topic}")

        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        meta = producer.send(topic, key=key, value=value, headers=headers).get(timeout=30)
        producer.close()
        print(f"produced to {meta.topic}[{meta.partition}]@{meta.offset}")

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            consumer_timeout_ms=30000,
        )
        got = next(iter(consumer), None)
        if got is not None:
            consumer.commit()
        consumer.close()
        if got is None:
            print("FAIL: no message consumed within 30 s", file=sys.stderr)
            return 1
        checks = {
            "key": got.key == key,
            "value": got.value == value,
            "headers": list(got.headers) == headers,
        }
        if not all(checks.values()):
            print(f"FAIL: round-trip mismatch {checks}: {got}", file=sys.stderr)
            return 1
        print(f"consumed key={got.key!r} headers={got.headers} (group commit ok)")
    finally:
        try:
            admin.delete_topics([topic])
        except Exception as exc:  # best effort cleanup
            print(f"warning: could not delete {topic}: {exc}", file=sys.stderr)
        admin.close()
    print(f"OK: {bootstrap} round-trip in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
