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
from collections.abc import Callable, Mapping, Sequence
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
    """The tracking source of one partition: its next offset to read."""
    return f"kafka:{tp.topic}:{tp.partition}"


def applied_source(tp: TopicPartition) -> str:
    """The tracking source of the highest log position applied from one partition."""
    return f"applied:{tp.topic}:{tp.partition}"


def bound_source(tp: TopicPartition) -> str:
    """The tracking source of one partition's bound: every change of the log up to it that
    the partition holds is applied."""
    return f"bound:{tp.topic}:{tp.partition}"


#: How long a new member waits to learn the topics' partitions before joining its group.
METADATA_TIMEOUT_S = 30.0

#: How often an idle feed records how far the views are complete (see
#: :meth:`KafkaFeed.advance_store_position`).
ADVANCE_EVERY_S = 0.05


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
                 options: FeedOptions | None = None, *, watermarks: KafkaConsumer,
                 published: Callable[[], int] | None = None) -> None:
        """Feed ``views`` from ``topics`` through ``consumer`` (a member of the views'
        consumer group, auto-commit off: see ``services.streaming.kafka_io.views_feed``).

        ``published``: the log position up to which the relay has published (recorded only
        once the broker acknowledged it). With it the feed also keeps the views' *store*
        position, so that a read with ``?after=POSITION`` means the same as on store-fed
        views (:meth:`advance_store_position`).

        ``watermarks``: a consumer outside any group that reads uncommitted (closed with the
        feed), whose end offsets are the partitions' high watermarks. A ``read_committed``
        consumer's end offset is the last stable offset, which lags a committed transaction
        until the broker has written its markers: compared with it, a partition whose last
        batch the relay has just committed (and recorded as published) looks read to its
        end before its messages can be read."""
        self.views = views
        self._watermarks = watermarks
        self._published = published
        self._advanced_at = 0.0
        #: What :meth:`advance_store_position` last saw, and the position it recorded then.
        self._last_seen: object = None
        self._last_reached: int | None = None
        self.options = options or FeedOptions()
        self.topics = list(topics)
        self.applied = 0
        #: Whether the group has given this member its partitions (perhaps none) yet.
        self.joined = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer = consumer
        self._await_metadata()
        self._consumer.subscribe(topics=self.topics, listener=_SeekToStoredOffsets(self))

    def _await_metadata(self, timeout_s: float = METADATA_TIMEOUT_S) -> None:
        """Learn every topic's partitions before joining the group: a member that joins
        first may be the group's leader and assign partitions it knows nothing of — none
        at all, after which kafka-python does not always rejoin (a member left holding no
        partitions while the others finish)."""
        deadline = time.monotonic() + timeout_s
        for topic in self.topics:
            while not self._consumer.partitions_for_topic(topic):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no partitions known for topic {topic} after "
                                       f"{timeout_s:g} s")
                time.sleep(0.05)

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
        changes, offsets, reached = self._decoded(batches)
        with self.views.transaction() as conn:
            apply_changes(conn, changes)
            for tp, offset in offsets.items():
                tracking.track(conn, offset, source(tp))
            for tp, position in reached.items():
                tracking.track(conn, position, applied_source(tp))
        self.applied += len(changes)
        self._consumer.commit_async(
            {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
        )
        return sum(len(records) for records in batches.values())

    @staticmethod
    def _decoded(batches: Mapping[TopicPartition, Sequence[Any]]
                 ) -> tuple[list[Change], dict[TopicPartition, int], dict[TopicPartition, int]]:
        """The changes, each partition's next offset, and the highest log position applied
        from each partition (a partition holds its entities' changes in log order)."""
        changes: list[Change] = []
        offsets: dict[TopicPartition, int] = {}
        reached: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            for record in records:
                try:
                    change = change_from_message(record.headers, record.value)
                except NotOurMessage as error:
                    log.warning("skipping %s offset %d: %s", source(tp), record.offset, error)
                else:
                    changes.append(change)
                    if change.log_position is not None:
                        reached[tp] = max(reached.get(tp, 0), change.log_position)
                offsets[tp] = record.offset + 1
        return changes, offsets, reached

    def advance_store_position(self) -> int | None:
        """Record how far the views are complete in terms of the store's log: every change
        up to the returned position is applied (None: not known yet).

        Read the relay's published position ``P`` first, then each held partition's end (its
        high watermark: every message the relay sent, committed or not): a partition read to
        that end holds (and so has applied) every change up to ``P``;
        one still behind has applied every change up to the last it applied (its changes
        are in log order). Each member records this bound for its partitions; the views'
        store position is the lowest bound over every partition of the topics, once all
        partitions have one (the members of the group together hold them all)."""
        if self._published is None or not self.joined:
            return None
        published = self._published()
        held = list(self._consumer.assignment())
        ends = self.high_watermarks(held)
        total = sum(len(self._consumer.partitions_for_topic(topic) or ())
                    for topic in self.topics)
        seen = (published, total, frozenset(
            (tp, self._consumer.position(tp), ends[tp]) for tp in held))
        if seen == self._last_seen and self._last_reached is not None:
            return self._last_reached  # nothing moved: an idle feed writes nothing
        reached = self._record_bounds(published, held, ends, total)
        self._last_seen, self._last_reached = seen, reached
        return reached

    def _record_bounds(self, published: int, held: list[TopicPartition],
                       ends: Mapping[TopicPartition, int], total: int) -> int | None:
        with self.views.transaction() as conn:
            for tp in held:
                caught_up = self._consumer.position(tp) >= ends[tp]
                bound = published if caught_up else tracking.tracked(conn, applied_source(tp))
                tracking.track(conn, bound, bound_source(tp))
            bounds = [int(row[0]) for row in conn.execute(
                "SELECT position FROM tracking WHERE source LIKE 'bound:%'").fetchall()]
            if not total or len(bounds) < total:
                return None
            tracking.track(conn, min(bounds))
            return tracking.tracked(conn)

    def _maybe_advance(self, read: int) -> None:
        """After a poll that drained what there was, now and then: see
        :meth:`advance_store_position`."""
        now = time.monotonic()
        if (self._published is not None and read < self.options.max_records
                and now - self._advanced_at >= ADVANCE_EVERY_S):
            self._advanced_at = now
            self.advance_store_position()

    def high_watermarks(self, partitions: Sequence[TopicPartition]
                        ) -> Mapping[TopicPartition, int]:
        """The offset after the last message of each partition, committed or not."""
        if not partitions:
            return {}
        ends: Mapping[TopicPartition, int] = self._watermarks.end_offsets(list(partitions))
        return ends

    def caught_up(self, targets: dict[TopicPartition, int]) -> bool:
        """Whether this member has joined its group and read every partition it holds up to
        its target in ``targets`` — the partition's high watermark when first asked about it
        (added to ``targets`` then). The members of one group share the partitions: each
        answers for its own (a member holding none, in a group with more members than
        partitions, is caught up once it has joined); together they hold them all.

        A target fixed when first asked, rather than the end at each call, lets a member
        catch up while the relay keeps publishing; the high watermark rather than the last
        stable offset makes it wait for a transaction the relay committed just before."""
        if not self.joined:
            return False
        assigned = list(self._consumer.assignment())
        new = [tp for tp in assigned if tp not in targets]
        targets.update(self.high_watermarks(new))
        return all(self._consumer.position(tp) >= targets[tp] for tp in assigned)

    def run_until_caught_up(self, timeout_s: float = 60.0) -> int:
        """Consume until every partition this member holds is read to the end it had when
        the member first held it (see :meth:`caught_up`), or until :meth:`request_stop`;
        returns the changes applied."""
        deadline = time.monotonic() + timeout_s
        targets: dict[TopicPartition, int] = {}
        while not self._stopping.is_set() and not self.caught_up(targets):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Kafka feed did not catch up within {timeout_s} s")
            self._maybe_advance(self.poll_once())
        if self._published is not None and not self._stopping.is_set():
            self.advance_store_position()
        return self.applied

    def request_stop(self) -> None:
        """Stop consuming after the current batch (safe from a signal handler)."""
        self._stopping.set()

    def run_forever(self) -> None:
        """Consume until :meth:`stop`; a failing batch is retried from the stored offsets."""
        while not self._stopping.is_set():
            try:
                self._maybe_advance(self.poll_once())
            except Exception:
                log.exception("applying a Kafka batch failed; retrying from the stored offsets")
                self._stopping.wait(1.0)
                try:
                    self.seek_to_stored(list(self._consumer.assignment()))
                except Exception:
                    log.exception("cannot seek to the stored offsets yet")

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
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
        self._watermarks.close()
