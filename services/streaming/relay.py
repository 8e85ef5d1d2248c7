"""The outbox relay: publishes the committed event log to Kafka, in order, at least once.

Each round reads the next batch of notifications after the published position, turns every
event into its public :class:`~contract.changes.Change` (plus its roadmap change, if any) and
hands them to an idempotent ``acks=all`` producer as CloudEvents; then it waits until the broker
has stored every message of the PREVIOUS batch and only then writes that batch's position, to a
table in the store's own SQLite file. One batch is thus always being built while the one before
is in flight, and a crash re-publishes at most those two batches, with the same ``ce_id``s.
Batches go out in log order through one producer, so each entity's (and product's) messages
keep their order. After each change message comes the entity's state after that change, on its
compacted state topic (:mod:`services.streaming.states`), in the same batch. Roadmap changes
carry the names behind their ids at that change (``names``): the relay folds every change into
a :class:`~contract.roadmap_changes.RoadmapNames` as it publishes, and when it starts (or goes
back) anywhere but where that fold stands, it first folds the log up to there again.

Positions are kept per target, the cluster the servers lead to (its ``cluster_id``) and the
topic prefix (:mod:`services.streaming.positions`): a new cluster or prefix gets the whole
history. ``RelayOptions.from_position`` (``pdl relay --from-position N``) publishes everything
after position N again, with the same ``ce_id``s.

Commands never wait for the relay: it follows the log from its own thread (``pdl serve``) or
process (``pdl relay``). When the broker is unreachable
it backs off exponentially (bounded by ``backoff_max_s``), says so in the log, and resumes when
it returns.
"""

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Counter

from contract.changes import Change
from contract.cloudevents import KafkaMessage, messages_for, state_message
from contract.roadmap_changes import NAMING_TYPES, RoadmapNames
from contract.topics import all_topics, entity_topics, roadmap_topic
from projections.feeding.decode import ChangeDecoder
from projections.feeding.event_log import EventLog
from services.runtime.settings import KafkaSettings
from services.streaming.kafka_io import (
    Fenced,
    InFlight,
    KafkaUnavailable,
    ProducerOptions,
    Publisher,
    describe_cluster,
    ensure_topics,
)
from services.streaming.leases import Leadership, RelayLease
from services.streaming.pg_positions import PgRelayPositions
from services.streaming.positions import RelayPositions, Target
from services.streaming.states import AggregateSource, CurrentStates

log = logging.getLogger("pdl.relay")

PUBLISHED = Counter("pdl_relay_published_events",
                    "Events of the log published to Kafka and acknowledged by the broker.")
FAILURES = Counter("pdl_relay_failures", "Relay rounds that failed (the broker unreachable, "
                   "or another error); each is retried after a backoff.")

DEFAULT_NAME = "kafka"
#: How often a candidate tries to take the relay lease.
CANDIDATE_RETRY_S = 1.0


def lease_term(lease: RelayLease) -> float:
    """How long a holding of ``lease`` lasts without renewal (a file lease: until released)."""
    return float(getattr(lease, "ttl_s", 3.0))


class RelayedLog(EventLog, AggregateSource, Protocol):
    """What the relay reads: the log's notifications, and its aggregates for their states."""


@dataclass(frozen=True)
class _Sent:
    """A batch handed to the producer: what to wait for, and the position it reaches."""

    in_flight: InFlight | None
    position: int
    count: int
    target: Target


@dataclass(frozen=True)
class RelayOptions:
    """How the relay batches, polls and backs off."""

    name: str = DEFAULT_NAME
    #: Notifications per batch. Larger batches measured faster (benchmark row 7; see
    #: benchmarks/README.md); a crash re-publishes at most two of them.
    batch_size: int = 2_000
    poll_interval_s: float = 0.1
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    producer: ProducerOptions = field(default_factory=ProducerOptions)
    #: Publish everything after this position again (0: the whole history), to the target
    #: the relay first reaches: its positions there are set to this one before it starts.
    from_position: int | None = None


class Relay:
    """Publishes the store's notifications after its recorded position to Kafka."""

    def __init__(self, app: RelayedLog, kafka: KafkaSettings,
                 positions: RelayPositions | PgRelayPositions,
                 options: RelayOptions | None = None, *,
                 lease: RelayLease | None = None,
                 close_with: Callable[[], None] | None = None) -> None:
        """``lease``: publish only while holding it (one relay per store, whatever the
        number of candidates); then every batch is a Kafka transaction of one
        ``transactional.id`` per target, so that a deposed leader is fenced at the broker.
        Without a lease (tests, tools), publish at once, without transactions."""
        self._app = app
        self._lease = lease
        self._close_with = close_with
        #: Whether this relay holds the lease and publishes (always, without a lease).
        self.leading = lease is None
        self._renewed_at = 0.0
        self._leadership = Leadership("this process" if lease is None else None)
        # Straight from stored JSON to the public Change (the same decoder as the views).
        self._decode = ChangeDecoder(app.mapper)
        self._states = CurrentStates(app) if kafka.state_topics else None
        #: The names at ``_names_position`` of the log, for the roadmap changes.
        self._names = RoadmapNames()
        self._names_position = 0
        #: Topic of stored event -> whether its changes name anything (else not decoded when
        #: the names are folded again).
        self._naming_topics: dict[str, bool] = {}
        self._kafka = kafka
        self._positions = positions
        self.options = options or RelayOptions()
        #: Where the relay publishes; known once it has reached the cluster.
        self._target: Target | None = None
        self._rewind_to = self.options.from_position
        # Until the target is known: the position recorded last, wherever (for reports).
        self._position = positions.get(self.options.name)
        self._states_position = self._position
        self._sent_position = self._position
        self._in_flight: _Sent | None = None
        self._publisher: Publisher | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Whether the last round failed (Kafka unreachable): the relay is backing off.
        self.failing = False

    @property
    def position(self) -> int:
        """The last log position whose changes are known to be published."""
        return self._position

    @property
    def states_position(self) -> int:
        """The last log position whose current states are known to be published."""
        return self._states_position

    @property
    def target(self) -> Target | None:
        """The cluster and prefix published to (None until the relay has reached Kafka)."""
        return self._target

    def leadership(self) -> Leadership:
        """Who publishes, as last seen by this relay's loop (no round trip): this relay, or
        the candidate holding the lease."""
        return self._leadership

    @property
    def transactional_id(self) -> str | None:
        """The Kafka transactional id every candidate of this store and prefix shares."""
        if self._lease is None:
            return None
        return f"{self._kafka.client_id}.{self._kafka.topic_prefix}.relay.{self.options.name}"

    def recorded_position(self) -> int:
        """The position recorded in the store (by this relay, or another process's)."""
        return self._positions.get(self.options.name, self._target)

    def pending(self) -> int:
        """How many events of the log are not known to be published yet."""
        return max(0, (self._app.recorder.max_notification_id() or 0) - self._position)

    # Batches: one is built and handed to the producer while the previous one is in flight.

    def run_until_caught_up(self) -> int:
        """Publish until nothing is pending; returns the position. Raises KafkaUnavailable."""
        while self._step():
            pass
        return self._position

    def _step(self) -> int:
        """Send the next batch, then complete the one before it (wait, record its position).

        Returns how many notifications the new batch holds (0: nothing new, nothing in flight).
        """
        try:
            sent = self._send_next()
            if self.transactional_id is not None and sent is not None:
                self._complete(sent)  # one transaction at a time: committed before the next
                sent = dataclasses.replace(sent, in_flight=None)
            elif self._in_flight is not None:
                self._complete(self._in_flight)
        except BaseException:
            self._in_flight, self._sent_position = None, self._recorded()  # resend from there
            raise
        self._in_flight = sent
        return sent.count if sent else 0

    def _drain(self) -> None:
        """Complete the batch in flight, if any."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            try:
                self._complete(in_flight)
            except BaseException:
                self._sent_position = self._recorded()  # resend from the recorded position
                raise

    def _send_next(self) -> _Sent | None:
        publisher, target = self._connected(), self._target
        assert target is not None
        notifications = self._app.recorder.select_notifications(
            self._sent_position, self.options.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return None
        prefix = self._kafka.topic_prefix
        published, states, names = self._position, self._states, self._fold_names_to(
            self._sent_position)
        self._names_position = -1  # folding: unknown until the whole batch is folded
        messages: list[KafkaMessage] = []
        for notification in notifications:
            change = self._decode(notification, notification.id)
            if change is None:
                continue
            if notification.id > published:  # else only its state is missing (see positions)
                messages += messages_for(change, prefix, names.for_change(change))
            names.apply(change)
            if states is not None:
                messages.append(state_message(states.after(notification, change), prefix))
        # Built whole, then handed over: handing each message over as it is built measured
        # slower (the producer's sender thread and this one contend for the GIL).
        in_flight = publisher.send(messages) if messages else None
        self._sent_position = self._names_position = notifications[-1].id
        return _Sent(in_flight, self._sent_position, len(notifications), target)

    def _fold_names_to(self, position: int) -> RoadmapNames:
        """The names as they are at ``position`` of the log: kept from the batch before, or
        folded again from the start (after a restart, a rewind, a batch sent again)."""
        if self._names_position != position:
            if not 0 <= self._names_position <= position:
                self._names, self._names_position = RoadmapNames(), 0
            while self._names_position < position:
                notifications = self._app.recorder.select_notifications(
                    self._names_position, self.options.batch_size, stop=position,
                    inclusive_of_start=False)
                if not notifications:
                    break
                for notification in notifications:
                    self._fold_name(notification)
                self._names_position = notifications[-1].id
            self._names_position = position
        return self._names

    def _fold_name(self, notification: Any) -> None:
        naming = self._naming_topics.get(notification.topic)
        if naming is False:
            return
        change: Change | None = self._decode(notification, notification.id)
        if naming is None:
            naming = self._naming_topics[notification.topic] = (
                change is not None and change.type in NAMING_TYPES)
        if naming and change is not None:
            self._names.apply(change)

    def _complete(self, sent: _Sent) -> None:
        if sent.in_flight is not None:
            sent.in_flight.wait()
        position = max(self._position, sent.position)
        states = sent.position if self._states is not None else self._states_position
        self._positions.set(self.options.name, sent.target, position, states)
        PUBLISHED.inc(position - self._position)
        self._position, self._states_position = position, states

    def _recorded(self) -> int:
        """The position after which nothing is known to be published: states behind the
        changes (published before the state topics existed, or with them off) are published
        first, without their changes."""
        if self._states is None:
            return self._position
        return min(self._position, self._states_position)

    def connect(self) -> None:
        """Create the topics if absent and connect the producer now rather than on first use.

        Raises KafkaUnavailable.
        """
        self._connected()

    def _connected(self) -> Publisher:
        if self._publisher is None:
            self._reach_target()
            ensure_topics(self._kafka, all_topics(self._kafka.topic_prefix),
                          self.options.producer)
            self._publisher = Publisher(self._kafka, self.options.producer,
                                        transactional_id=self.transactional_id)
        return self._publisher

    def _reach_target(self) -> None:
        """Learn which cluster the servers lead to (on every connection: an address may
        lead to a new cluster), and resume from the positions recorded for it."""
        prefix = self._kafka.topic_prefix
        cluster = describe_cluster(self._kafka, self.options.producer)
        target, name = Target(cluster.cluster_id, prefix), self.options.name
        if self._rewind_to is not None:
            self._positions.rewind(name, target, self._rewind_to)
            log.info("relay %r: publishing everything after position %d again to %s",
                     name, self._rewind_to, target)
            self._rewind_to = None
        published_there = {*entity_topics(prefix), roadmap_topic(prefix)} <= cluster.topics
        resume = self._positions.resume(name, target, published_there=published_there)
        self._position, self._states_position = resume.position, resume.states_position
        self._sent_position = self._recorded()
        if target != self._target:
            log.info("relay %r publishing to %s at %s from position %d%s", name, target,
                     self._kafka.bootstrap_servers, self._position,
                     f" (states from {self._sent_position})"
                     if self._sent_position < self._position else "")
        self._target = target

    def _disconnect(self, timeout: float = 0.0) -> None:
        if self._publisher is not None:
            self._publisher.close(timeout)
            self._publisher = None

    # The loop

    def run_forever(self) -> None:
        """Follow the log until :meth:`request_stop`; never raises."""
        backoff = self.options.backoff_initial_s
        self.failing = False
        log.info("relay %r starting: Kafka at %s", self.options.name,
                 self._kafka.bootstrap_servers)
        while not self._stopping.is_set():
            if not self._lead():
                self._stopping.wait(CANDIDATE_RETRY_S)
                continue
            try:
                published = self._step()
            except Fenced as error:
                self._deposed(f"fenced by a newer leader at the broker ({error})")
                continue
            except KafkaUnavailable as error:
                FAILURES.inc()
                self._disconnect()
                log.warning("Kafka unreachable at %s (%s); %d events waiting; retrying in %.1fs",
                            self._kafka.bootstrap_servers, error, self.pending(), backoff)
            except Exception:
                FAILURES.inc()
                self._disconnect()
                log.exception("relay failed; %d events waiting; retrying in %.1fs",
                              self.pending(), backoff)
            else:
                if self.failing:
                    log.info("Kafka reachable again at %s; publishing from position %d",
                             self._kafka.bootstrap_servers, self._position)
                self.failing, backoff = False, self.options.backoff_initial_s
                if not published:
                    self._wake.wait(self.options.poll_interval_s)
                    self._wake.clear()
                continue
            self.failing = True
            self._backing_off(backoff)
            backoff = min(backoff * 2, self.options.backoff_max_s)
        if self.leading:
            try:
                self._drain()  # record the batch in flight rather than re-publish it next time
            except Exception as error:
                log.warning("the last batch was not acknowledged (%s); it will be re-published",
                            error)
        self._disconnect(timeout=5.0)
        if self._lease is not None and self.leading:
            self._lease.release()  # a candidate takes over at once, not after the lease
        self.leading = self._lease is None
        log.info("relay %r stopped at position %d", self.options.name, self._position)

    # Leadership

    def _lead(self) -> bool:
        """Whether to publish now: renew the lease (every third of its term), or try to take
        it; on taking it, resume from the positions the last leader recorded."""
        lease = self._lease
        if lease is None:
            return True
        now = time.monotonic()
        due = not lease.held or now - self._renewed_at >= lease_term(lease) / 3
        if due:
            if lease.try_acquire():
                self._renewed_at = now
            self._leadership = lease.leadership()
        if lease.held and not self.leading:
            self.leading = True
            self._disconnect()  # a new producer: it fences the last leader's
            held = lease.leadership()
            log.info("relay %r leading as %s (epoch %s): resuming from the recorded position",
                     self.options.name, lease.me, held.epoch)
        elif not lease.held and self.leading:
            self._deposed("the relay lease was not renewed in time")
        return self.leading

    def _deposed(self, why: str) -> None:
        """Stop publishing at once: drop the batch in flight and the producer."""
        self.leading = False
        self._in_flight = None
        self._disconnect()
        holder = self._lease.leadership().holder if self._lease is not None else None
        log.warning("relay %r no longer leads (%s); now a candidate (leader: %s)",
                    self.options.name, why, holder or "none")

    def _backing_off(self, seconds: float) -> None:
        """Wait ``seconds`` before the next round, renewing the lease meanwhile (a leader
        waiting for Kafka keeps its lease: another candidate would wait for it as well)."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self._stopping.wait(min(left, CANDIDATE_RETRY_S))
            if self._lease is not None and not self._lead():
                return

    def request_stop(self) -> None:
        """Ask :meth:`run_forever` to return after its current batch."""
        self._stopping.set()
        self._wake.set()

    def notify(self) -> None:
        """Wake the relay now (e.g. after a write) instead of at its next poll."""
        self._wake.set()

    def start(self) -> None:
        """Run :meth:`run_forever` in a daemon thread (once: started twice, two loops would
        share this relay's producer and fence each other at the broker)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run_forever, name="kafka-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread started by :meth:`start` after its current batch."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._disconnect()
        self._positions.close()
        if self._close_with is not None:
            self._close_with()
