"""Feeds the views from the Kafka entity topics, not the store (``pdl project --source kafka``).

A consumer group reads ``<prefix>.<entity>.v1``. Each polled batch is decoded to
:class:`~contract.changes.Change` objects and applied with the same handlers as the store
catch-up (:func:`projections.views.apply_changes`); the next offset of every partition in the
batch is written to the views' ``tracking`` table (source ``kafka:<topic>:<partition>``) in the
SAME transaction. On assignment the consumer seeks to those stored offsets, so Kafka's committed
offsets are never trusted for correctness (they are committed afterwards, for lag monitoring).

Duplicates and replays change nothing: the handlers ignore a change whose entity version is
already applied, and the audit keys rows by event id. Kafka orders changes per entity only;
the roadmap rows are per entity and joined when read, so cross-entity order does not matter.
"""

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from contract.changes import Change
from contract.cloudevents import NotOurMessage, change_from_message
from projections.feeding import tracking
from projections.views import Views, apply_changes

log = logging.getLogger(__name__)


def source(tp: TopicPartition) -> str:
    """The tracking source of one partition."""
    return f"kafka:{tp.topic}:{tp.partition}"


@dataclass(frozen=True)
class FeedOptions:
    """Consumer-group timing and batching."""

    group_id: str | None = None
    max_records: int = 500
    poll_timeout_ms: int = 200
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000


class _SeekToStoredOffsets(ConsumerRebalanceListener):
    def __init__(self, feed: "KafkaFeed") -> None:
        self._feed = feed

    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        pass  # offsets are already stored with the views, batch by batch

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self._feed.seek_to_stored(assigned)
        self._feed.joined = True


class KafkaFeed:
    """Applies the changes on the entity topics to :class:`Views`, exactly as the store feed."""

    def __init__(self, views: Views, consumer: KafkaConsumer, topics: Sequence[str],
                 options: FeedOptions | None = None) -> None:
        """Feed ``views`` from ``topics`` through ``consumer`` (a member of the views'
        consumer group, auto-commit off: see ``services.streaming.kafka_io.views_feed``)."""
        self.views = views
        self.options = options or FeedOptions()
        self.topics = list(topics)
        self.applied = 0
        #: Whether the group has given this member its partitions (perhaps none) yet.
        self.joined = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer = consumer
        self._consumer.subscribe(topics=self.topics, listener=_SeekToStoredOffsets(self))

    # Offsets kept with the views

    def stored_offsets(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset to read of each partition, as recorded with the views."""
        with self.views.transaction() as conn:
            return {tp: tracking.tracked(conn, source(tp)) for tp in partitions}

    def seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        for tp, offset in self.stored_offsets(partitions).items():
            log.info("%s: resuming at offset %d", source(tp), offset)
            self._consumer.seek(tp, offset)

    # Consuming

    def poll_once(self) -> int:
        """Apply one polled batch with its offsets in one transaction; returns records read."""
        batches = self._consumer.poll(timeout_ms=self.options.poll_timeout_ms)
        if not batches:
            return 0
        changes, offsets = self._decoded(batches)
        with self.views.transaction() as conn:
            apply_changes(conn, changes)
            for tp, offset in offsets.items():
                tracking.track(conn, offset, source(tp))
        self.applied += len(changes)
        self._consumer.commit_async(
            {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
        )
        return sum(len(records) for records in batches.values())

    @staticmethod
    def _decoded(batches: Mapping[TopicPartition, Sequence[Any]]
                 ) -> tuple[list[Change], dict[TopicPartition, int]]:
        changes: list[Change] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            for record in records:
                try:
                    changes.append(change_from_message(record.headers, record.value))
                except NotOurMessage as error:
                    log.warning("skipping %s offset %d: %s", source(tp), record.offset, error)
                offsets[tp] = record.offset + 1
        return changes, offsets

    def caught_up(self) -> bool:
        """Whether this member has joined its group and read every partition it holds to its
        current end. The members of one group share the partitions: each answers for its own
        (a member holding none, in a group with more members than partitions, is caught up
        once it has joined); together they hold them all."""
        if not self.joined:
            return False
        assigned = list(self._consumer.assignment())
        if not assigned:
            return True
        ends = self._consumer.end_offsets(assigned)
        return all(self._consumer.position(tp) >= ends[tp] for tp in assigned)

    def run_until_caught_up(self, timeout_s: float = 60.0) -> int:
        """Consume until every partition this member holds is read to its end, or until
        :meth:`request_stop`; returns the changes applied."""
        deadline = time.monotonic() + timeout_s
        while not self._stopping.is_set() and not self.caught_up():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Kafka feed did not catch up within {timeout_s} s")
            self.poll_once()
        return self.applied

    def request_stop(self) -> None:
        """Stop consuming after the current batch (safe from a signal handler)."""
        self._stopping.set()

    def run_forever(self) -> None:
        """Consume until :meth:`stop`; a failing batch is retried from the stored offsets."""
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("applying a Kafka batch failed; retrying from the stored offsets")
                self._stopping.wait(1.0)
                try:
                    self.seek_to_stored(list(self._consumer.assignment()))
                except Exception:
                    log.exception("cannot seek to the stored offsets yet")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="kafka-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Leave the group and close the consumer (the views stay open: the caller's)."""
        self.stop()
        self._consumer.close(autocommit=False)
