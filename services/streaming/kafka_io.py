"""A small, typed wrapper over kafka-python: publish a batch and know it is stored; create topics.

Delivery is explicit: :meth:`Publisher.send` hands a batch to the producer and returns an
:class:`InFlight` whose ``wait()`` returns only once the broker has acknowledged every message of
it (``acks=all``) and raises :class:`KafkaUnavailable` otherwise (``publish`` = both). The
producer is idempotent with at most 5 requests in flight, so retries neither duplicate nor
reorder messages within a partition.

The producer itself never gives up on a batch (unbounded retries, a delivery timeout far beyond
``ack_timeout_s``): a batch failing on its own while a later one to the same partition succeeds
would leave a gap that a re-publish fills out of order. Instead ``wait()`` gives up after
``ack_timeout_s`` and the caller closes the producer (:meth:`Publisher.close`), which aborts every
unacknowledged batch at once; what reached the broker is then a prefix of each partition's
sequence, and re-publishing from the last recorded position keeps each key in order.
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import (
    InvalidProducerEpochError,
    KafkaError,
    KafkaTimeoutError,
    ProducerFencedError,
    TopicAlreadyExistsError,
)

from contract.cloudevents import KafkaMessage
from contract.topics import entity_topics, is_state_topic
from projections.feeding.kafka import FeedOptions, KafkaFeed
from projections.views import Views
from services.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

#: Topics keep their history forever: consumers replay from the start.
TOPIC_CONFIG = {"retention.ms": "-1", "cleanup.policy": "delete"}
#: Current-state topics keep (at least) the last message of each key: compacted.
STATE_TOPIC_CONFIG = {"cleanup.policy": "compact"}


class KafkaUnavailable(Exception):
    """The broker could not be reached, or did not acknowledge a batch in time."""


@dataclass(frozen=True)
class ProducerOptions:
    """Buffering, batching and timeouts of the producer."""

    linger_ms: int = 5
    batch_size_bytes: int = 256 * 1024
    max_in_flight: int = 5
    #: Retry transient errors until ``delivery_timeout_ms`` (explicitly: never give up alone).
    retries: int = 2**31 - 1
    #: Also the pause before retrying a transaction step the coordinator is still finishing
    #: (the previous commit's markers): at 100 ms a relay woken per write took p50 32 ms,
    #: p99 326 ms from append to consumer; at 20 ms p50 9.8 ms (benchmark row 7).
    retry_backoff_ms: int = 20
    request_timeout_ms: int = 10_000
    delivery_timeout_ms: int = 24 * 3600 * 1000
    #: How long :meth:`InFlight.wait` waits for a batch before declaring Kafka unavailable.
    ack_timeout_s: float = 30.0
    connect_timeout_ms: int = 5_000
    reconnect_backoff_max_ms: int = 1_000


def describe(error: BaseException) -> str:
    """``error`` as one short line naming its type once."""
    text = str(error)
    name = type(error).__name__
    return text if text.startswith(name) else f"{name}: {text}"


def _client_config(kafka: KafkaSettings, options: ProducerOptions) -> dict[str, Any]:
    return {
        "bootstrap_servers": (kafka.bootstrap_servers or "").split(","),
        "client_id": kafka.client_id,
        "request_timeout_ms": options.request_timeout_ms,
        "bootstrap_timeout_ms": options.connect_timeout_ms,
        "reconnect_backoff_max_ms": options.reconnect_backoff_max_ms,
    }


class Fenced(KafkaUnavailable):
    """Another relay's producer took over the transactional id: this one may never publish
    again (it lost the relay lease; see :mod:`services.streaming.leases`)."""


class InFlight:
    """A batch handed to the producer; :meth:`wait` returns once all of it is acknowledged
    (and, for a transactional producer, its transaction committed)."""

    def __init__(self, futures: list[Any], timeout_s: float,
                 commit: Callable[[float], None] | None = None) -> None:
        self._futures = futures
        self._timeout_s = timeout_s
        self._commit = commit

    def wait(self) -> None:
        """Block until the broker has stored every message; KafkaUnavailable if it did not."""
        deadline = time.monotonic() + self._timeout_s
        try:
            for future in self._futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaTimeoutError as error:
            raise KafkaUnavailable(
                f"{len(self._futures)} messages not acknowledged within {self._timeout_s:g}s"
            ) from error
        except (KafkaError, OSError) as error:
            raise failure(error) from error
        if self._commit is not None:
            self._commit(max(0.0, deadline - time.monotonic()))


def failure(error: BaseException) -> KafkaUnavailable:
    """``error`` as :class:`Fenced` when a newer producer fenced this one — also when
    kafka-python reports it wrapped (``KafkaError(message, ProducerFencedError())`` on every
    send after the fatal one) — else as :class:`KafkaUnavailable`."""
    fencing = (ProducerFencedError, InvalidProducerEpochError)
    if isinstance(error, fencing) or any(isinstance(arg, fencing) for arg in error.args):
        return Fenced(describe(error))
    return KafkaUnavailable(describe(error))


class Publisher:
    """An idempotent, ``acks=all`` producer that publishes batches and waits for them.

    With a ``transactional_id`` each batch is one Kafka transaction, committed by
    :meth:`InFlight.wait`; creating the publisher fences every older producer with the same
    id (their open transaction is aborted, their next send or commit fails with
    :class:`Fenced`). Consumers that read with ``isolation.level=read_committed`` never see
    an aborted batch; others may see it once more, with the same ``ce_id``s.
    """

    def __init__(self, kafka: KafkaSettings, options: ProducerOptions | None = None, *,
                 transactional_id: str | None = None) -> None:
        self._options = options or ProducerOptions()
        self.transactional = transactional_id is not None
        opts = self._options
        try:
            self._producer = KafkaProducer(
                **_client_config(kafka, opts),
                transactional_id=transactional_id,
                acks="all",
                enable_idempotence=True,
                max_in_flight_requests_per_connection=opts.max_in_flight,
                retries=opts.retries,
                retry_backoff_ms=opts.retry_backoff_ms,
                linger_ms=opts.linger_ms,
                batch_size=opts.batch_size_bytes,
                delivery_timeout_ms=opts.delivery_timeout_ms,
                max_block_ms=opts.request_timeout_ms,
            )
            if transactional_id is not None:
                self._producer.init_transactions()  # fences the older producers
        except KafkaError as error:
            raise KafkaUnavailable(describe(error)) from error

    def send(self, messages: Iterable[KafkaMessage]) -> InFlight:
        """Hand ``messages`` to the producer in order, without waiting for the broker.

        Each message is handed over as soon as ``messages`` yields it.
        """
        send = self._producer.send
        try:
            if self.transactional:
                self._producer.begin_transaction()
            futures = [send(m.topic, key=m.key, value=m.value, headers=m.headers)
                       for m in messages]
        except (KafkaError, OSError) as error:
            raise failure(error) from error
        return InFlight(futures, self._options.ack_timeout_s,
                        self._commit if self.transactional else None)

    def _commit(self, timeout_s: float) -> None:
        """Commit the open transaction, waiting at most ``timeout_s`` (kafka-python's own
        ``commit_transaction`` would wait forever for a broker that went away)."""
        producer = self._producer
        try:
            result = producer._transaction_manager.begin_commit()
            producer._sender.wakeup()
            if not result.wait(timeout_ms=timeout_s * 1000):
                raise KafkaUnavailable(f"the transaction was not committed within "
                                       f"{timeout_s:.0f}s")
        except (KafkaError, OSError) as error:
            raise failure(error) from error

    def close(self, timeout: float = 5.0) -> None:
        """Close the producer; every batch still unacknowledged after ``timeout`` is aborted."""
        try:
            self._producer.close(timeout=timeout)
        except (KafkaError, OSError):
            # close() flushes first and gives up when batches are still pending (a dead
            # broker): abort them all, then close. kafka-python has no public abort.
            sender = self._producer._sender
            sender.force_close()
            sender.join(5)
            try:
                self._producer.close(timeout=0)
            except (KafkaError, OSError) as error:
                log.warning("the Kafka producer did not close cleanly: %s", error)


@dataclass(frozen=True)
class Cluster:
    """What the relay needs to know of the cluster it reaches: its id and its topics."""

    cluster_id: str
    topics: frozenset[str]


def describe_cluster(kafka: KafkaSettings, options: ProducerOptions | None = None) -> Cluster:
    """The id of the cluster ``kafka`` reaches (from the broker's metadata) and its topics."""
    opts = options or ProducerOptions()
    try:
        admin = KafkaAdminClient(**_client_config(kafka, opts))
    except KafkaError as error:
        raise KafkaUnavailable(describe(error)) from error
    try:
        cluster_id = admin.describe_cluster().get("cluster_id")
        topics = frozenset(admin.list_topics())
    except KafkaError as error:
        raise KafkaUnavailable(describe(error)) from error
    finally:
        admin.close()
    # A broker too old to report one: its address is the best name it has.
    return Cluster(cluster_id or f"bootstrap:{kafka.bootstrap_servers}", topics)


def ensure_topics(kafka: KafkaSettings, topics: Iterable[str],
                  options: ProducerOptions | None = None) -> None:
    """Create ``topics`` with the configured partitions and replication if they do not exist
    (current-state topics compacted, the others keeping everything)."""
    opts = options or ProducerOptions()
    wanted = {
        name: {"num_partitions": kafka.partitions, "replication_factor": kafka.replication_factor,
               "configs": dict(STATE_TOPIC_CONFIG if is_state_topic(name) else TOPIC_CONFIG)}
        for name in topics
    }
    try:
        admin = KafkaAdminClient(**_client_config(kafka, opts))
    except KafkaError as error:
        raise KafkaUnavailable(describe(error)) from error
    try:
        result = admin.create_topics(wanted, timeout_ms=opts.request_timeout_ms,
                                     raise_errors=False)
        for topic in result["topics"]:
            code = topic["error_code"]
            if code not in (0, TopicAlreadyExistsError.errno):
                raise KafkaUnavailable(
                    f"cannot create topic {topic['name']}: error {code} "
                    f"{topic.get('error_message') or ''}".rstrip()
                )
            if code == 0:
                log.info("created Kafka topic %s (%d partitions, replication %d)",
                         topic["name"], kafka.partitions, kafka.replication_factor)
    except KafkaError as error:
        raise KafkaUnavailable(describe(error)) from error
    finally:
        admin.close()


def views_feed(views: Views, kafka: KafkaSettings, options: FeedOptions | None = None, *,
               published: Callable[[], int] | None = None) -> KafkaFeed:
    """A feed of ``views`` from the entity topics, as a member of the views' consumer group
    (``options.group_id``, default ``<client id>.<prefix>.views``); creates the topics if
    they are missing."""
    options = options or FeedOptions()
    topics = entity_topics(kafka.topic_prefix)
    ensure_topics(kafka, topics)
    servers = (kafka.bootstrap_servers or "").split(",")
    consumer = KafkaConsumer(
        bootstrap_servers=servers,
        client_id=f"{kafka.client_id}-projections",
        group_id=options.group_id or f"{kafka.client_id}.{kafka.topic_prefix}.views",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # The relay publishes in transactions: never apply a batch a hand-over aborted.
        isolation_level="read_committed",
        max_poll_records=options.max_records,
        session_timeout_ms=options.session_timeout_ms,
        heartbeat_interval_ms=options.heartbeat_interval_ms,
    )
    # Reads only end offsets, uncommitted: the high watermarks (see KafkaFeed).
    watermarks = KafkaConsumer(bootstrap_servers=servers,
                               client_id=f"{kafka.client_id}-projections-ends",
                               group_id=None, enable_auto_commit=False,
                               isolation_level="read_uncommitted")
    return KafkaFeed(views, consumer, topics, options, published=published,
                     watermarks=watermarks)
