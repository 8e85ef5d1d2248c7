"""The decision log application: load the aggregates a command touches, decide, save once.

Cross-aggregate rules (a release exists, belongs to the same product, is open) are
checked here, and a command that changes several aggregates saves them in one
transaction. Optimistic concurrency: a caller may pass the version it last saw;
without one, a command that loses a race is simply retried on fresh state.
"""

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import EnvType

from domain.base import DecisionLogAggregate
from domain.errors import DomainError, InvalidCommand, RuleViolation
from domain.feature import DONE, Feature
from domain.product import Product
from domain.reasons import Reason
from domain.release import Release
from services.commands.decisions import DecisionsMixin
from services.commands.lineage import LineageMixin
from services.commands.ranking import FeatureIndex, PrioritisationMixin
from services.store import command_cache
from services.store.command_batches import CommandBatches
from services.store.group_commit import GroupCommitRecorder
from services.store.outcome import Outcome
from services.store.unit_of_work import RACE_RETRIES

A = TypeVar("A", bound=DecisionLogAggregate)
T = TypeVar("T")


class NotFound(DomainError):
    """The entity named in the request's path does not exist."""


class VersionConflict(DomainError):
    """The caller's expected version is stale; ``current_version`` is what is stored now."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class DateAsISO(Transcoding):
    """Store ``datetime.date`` values as ISO-8601 strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Loader(Protocol):
    """Loads an aggregate a command touches (see :meth:`DecisionLog._get` for the errors)."""

    def __call__(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False) -> A: ...


class DecisionLog(DecisionsMixin, LineageMixin, PrioritisationMixin, Application[UUID]):
    """Commands on products, features, releases and decisions (see
    :mod:`services.commands.decisions`), lineage (:mod:`services.commands.lineage`) and
    prioritisation (:mod:`services.commands.ranking`)."""

    name = "DecisionLog"

    #: Environment switch: ``"no"`` runs each command on its caller's thread even with group
    #: commit (see :mod:`services.store.command_batches`).
    COMMAND_BATCHES = "COMMAND_BATCHES"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        #: Each product's features, for rankings (see :mod:`services.commands.ranking`).
        self.feature_index = FeatureIndex()
        #: Runs commands in batches (when the recorder groups commits, unless switched off).
        self.batches: CommandBatches | None = None
        # (Not with snapshots: their recorder would wait for the writer a batch holds.)
        if isinstance(self.recorder, GroupCommitRecorder) and self.snapshots is None and \
                self.env.get(self.COMMAND_BATCHES, "yes") != "no":
            self.batches = CommandBatches(self.recorder, self._forget_cached)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # Creating entities

    def create_product(self, *, actor: str, **details: Any) -> Outcome:
        """Start a product; ``details`` are the fields of :meth:`Product.create`."""
        product = Product.create(actor=actor, **details)
        return self._saved(product, product)

    def propose_feature(self, product_id: UUID, *, actor: str, **details: Any) -> Outcome:
        """Propose a feature for an active product."""

        def propose() -> Outcome:
            self._get(Product, product_id).ensure_active()
            feature = Feature.propose(product_id=product_id, actor=actor, **details)
            return self._saved(feature, feature)

        return self._run(propose)  # checked in the batch: no retirement can slip in between

    def plan_release(self, product_id: UUID, *, actor: str, **details: Any) -> Outcome:
        """Plan a release of an active product."""

        def plan() -> Outcome:
            self._get(Product, product_id).ensure_active()
            release = Release.plan(product_id=product_id, actor=actor, **details)
            return self._saved(release, release)

        return self._run(plan)  # checked in the batch: no retirement can slip in between

    # Product commands

    def revise_vision(self, product_id: UUID, vision: str, reason: Reason,
                      expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version,
                            lambda p: p.revise_vision(vision, reason))

    def revise_strategy(self, product_id: UUID, strategy: str, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version,
                            lambda p: p.revise_strategy(strategy, reason))

    def retire_product(self, product_id: UUID, reason: Reason,
                       expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version, lambda p: p.retire(reason))

    # Feature commands

    def change_feature_status(self, feature_id: UUID, status: str, reason: Reason,
                              expected_version: int | None = None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f: f.change_status(status, reason))

    def change_priority(self, feature_id: UUID, priority: float, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f: f.change_priority(priority, reason))

    def revise_feature(self, feature_id: UUID, reason: Reason,
                       expected_version: int | None = None, **details: str | None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f: f.revise_details(reason, **details))

    def add_requirement(self, feature_id: UUID, text: str, acceptance_criteria: list[str],
                        reason: Reason, expected_version: int | None = None) -> Outcome:
        """Add a requirement; its id is ``R<n>``, n being the feature's ``requirement_count``
        at the returned version."""

        def decide(feature: Feature) -> None:
            feature.add_requirement(text, acceptance_criteria, reason)

        return self._change(Feature, feature_id, expected_version, decide)

    def revise_requirement(self, feature_id: UUID, requirement_id: str, text: str,
                           acceptance_criteria: list[str], reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(
            Feature, feature_id, expected_version,
            lambda f: f.revise_requirement(requirement_id, text, acceptance_criteria, reason),
        )

    def remove_requirement(self, feature_id: UUID, requirement_id: str, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f: f.remove_requirement(requirement_id, reason))

    def schedule_feature(self, feature_id: UUID, release_id: UUID, reason: Reason,
                         expected_version: int | None = None) -> Outcome:
        """Schedule a feature into a release of its product, or move it there."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f: self.decide_schedule(f, release_id, reason, self._get))

    def unschedule_feature(self, feature_id: UUID, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        """Take a feature out of its release, back to the backlog."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f: self.decide_unschedule(f, reason, self._get))

    # Decide steps shared by the single commands and by decisions that carry several
    # changes: ``load`` fetches the other aggregates a step touches (once per id, in a
    # decision, so that its changes see each other).

    def decide_schedule(self, feature: Feature, release_id: UUID, reason: Reason,
                        load: Loader) -> list[DecisionLogAggregate]:
        """Schedule ``feature`` into ``release_id`` (moving it out of its current release);
        returns the releases changed."""
        target = load(Release, release_id, referenced=True)
        if target.product_id != feature.product_id:
            raise InvalidCommand(
                f"Release '{target.name}' belongs to another product; a feature can only "
                "be scheduled into a release of its own product."
            )
        source_id = feature.release_id
        feature.schedule(release_id, reason)  # refuses rejected, shipped, already there
        touched: list[DecisionLogAggregate] = []
        if source_id is not None:
            source = load(Release, source_id)
            source.remove_feature(feature.id, reason)
            touched.append(source)
        target.add_feature(feature.id, reason)
        return [*touched, target]

    def decide_unschedule(self, feature: Feature, reason: Reason,
                          load: Loader) -> list[DecisionLogAggregate]:
        """Return ``feature`` to the backlog; returns the release it left."""
        source_id = feature.release_id
        feature.unschedule(reason)  # refuses a feature in no release, or one that shipped
        assert source_id is not None
        source = load(Release, source_id)
        source.remove_feature(feature.id, reason)
        return [source]

    # Release commands

    def change_target_date(self, release_id: UUID, target_date: date, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(Release, release_id, expected_version,
                            lambda r: r.change_target_date(target_date, reason))

    def ship_release(self, release_id: UUID, shipped_on: date, reason: Reason,
                     expected_version: int | None = None) -> Outcome:
        """Ship a release: its done features ship with it, unfinished ones return to the backlog."""

        def decide(release: Release) -> list[DecisionLogAggregate]:
            features = [self._get(Feature, fid) for fid in release.feature_ids]
            for feature in features:
                if feature.status == DONE:
                    feature.ship(reason)
                else:
                    release.remove_feature(feature.id, reason)
                    feature.unschedule(reason)
            release.ship(shipped_on, reason)
            return list(features)

        return self._change(Release, release_id, expected_version, decide)

    def cancel_release(self, release_id: UUID, reason: Reason,
                       expected_version: int | None = None) -> Outcome:
        """Cancel a release: its features return to the backlog."""

        def decide(release: Release) -> list[DecisionLogAggregate]:
            features = [self._get(Feature, fid) for fid in release.feature_ids]
            for feature in features:
                release.remove_feature(feature.id, reason)
                feature.unschedule(reason)
            release.cancel(reason)
            return list(features)

        return self._change(Release, release_id, expected_version, decide)

    # Reading

    def get_product(self, product_id: UUID, version: int | None = None) -> Product:
        return self._get(Product, product_id, version=version)

    def get_feature(self, feature_id: UUID, version: int | None = None) -> Feature:
        return self._get(Feature, feature_id, version=version)

    def get_release(self, release_id: UUID, version: int | None = None) -> Release:
        return self._get(Release, release_id, version=version)

    def event_count(self) -> int:
        """How many events the log holds (its highest position; SQLite positions have no gaps)."""
        return self.recorder.max_notification_id() or 0

    # Plumbing

    def _get(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False,
             version: int | None = None) -> A:
        """Load an aggregate of type ``cls``; a path entity that is missing is ``NotFound``,
        a missing entity referenced in a request body is an ``InvalidCommand``."""
        kind = cls.__name__.lower()
        if version is None and self.batches is not None and self.batches.running:
            # Not through the shared aggregate cache: what this batch wrote is not
            # committed yet, and readers on other threads must never see it there.
            aggregate: object = self._replayed(aggregate_id)
        else:
            try:
                aggregate = self.repository.get(aggregate_id, version=version)
            except AggregateNotFoundError:
                aggregate = None
        if not isinstance(aggregate, cls):
            message = f"No {kind} with id {aggregate_id}."
            raise InvalidCommand(message) if referenced else NotFound(message)
        return aggregate

    def _replayed(self, aggregate_id: UUID) -> Any:
        """The aggregate from all its stored events, or None if it has none (no snapshots:
        they are off with command batches). What the library's repository does, minus its
        deep copy and its runtime protocol check on every event."""
        aggregate: Any = None
        for event in self.events.get(aggregate_id):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        return aggregate

    def _run(self, command: Callable[[], T]) -> T:
        """Run a whole command (load, decide, save): in the next batch, or now."""
        return command() if self.batches is None else self.batches.run(command)

    def _forget_cached(self) -> None:
        """Drop the commands' cached aggregates (after a rolled-back batch: they may hold
        versions never stored). The library's shared cache never sees a batch's writes
        (see :meth:`_get`), so it stays."""
        cache = command_cache.of(self)
        if cache is not None:
            cache.clear()

    def _change(self, cls: type[A], aggregate_id: UUID, expected_version: int | None,
                decide: Callable[[A], Sequence[DecisionLogAggregate] | None]) -> Outcome:
        """Load, check the expected version, decide, save all touched aggregates at once
        (see :meth:`_change_now`), in the next batch of commands."""
        return self._run(lambda: self._change_now(cls, aggregate_id, expected_version, decide))

    def _change_now(self, cls: type[A], aggregate_id: UUID, expected_version: int | None,
                    decide: Callable[[A], Sequence[DecisionLogAggregate] | None]) -> Outcome:
        """Load, check the expected version, decide, save all touched aggregates at once.

        ``decide`` mutates the aggregate and may return other aggregates it changed.
        A lost race is retried on fresh state; a pinned version that has gone stale
        meanwhile fails the version check on the retry.
        """

        # With the aggregate cache on, the aggregate is checked out of the command cache: this
        # command owns it (no copy). It may be behind the store (nothing is read): then the
        # save fails the store's version check and the command runs again on fresh state; and
        # any refusal on it is re-checked on fresh state (see services/store/command_cache.py).
        cache = command_cache.of(self)
        catch_up = False
        for _ in range(RACE_RETRIES):
            if cache is None:
                aggregate, current = self._get(cls, aggregate_id), True
            else:
                aggregate, current = cache.checkout(self, cls, aggregate_id, catch_up=catch_up)
            try:
                self._check_version(aggregate, expected_version)
                others = decide(aggregate) or []
                if not current and not aggregate.pending_events:
                    raise command_cache.Unverified  # nothing would check its version
            except VersionConflict:
                if cache is not None:
                    cache.give_back(aggregate)  # untouched
                if current:
                    raise
                catch_up = True  # refused on cached state: ask the store
                continue
            except Exception:
                if current:
                    raise
                catch_up = True  # dropped (decide may have changed it): ask the store
                continue
            try:
                outcome = self._saved(aggregate, aggregate, *others)
            except IntegrityError:
                # Lost a race, or the cached aggregate was behind; or the race was lost on
                # another aggregate the command touches (e.g. the release).
                catch_up = True
                continue
            if cache is not None:
                cache.give_back(aggregate)
            return outcome
        raise RuleViolation("Too many concurrent changes to this entity; try again.")

    @staticmethod
    def _check_version(aggregate: DecisionLogAggregate, expected: int | None) -> None:
        if expected is not None and expected != aggregate.version:
            kind = type(aggregate).__name__.lower()
            raise VersionConflict(
                f"You expected this {kind} at version {expected} but it is at version "
                f"{aggregate.version}: someone changed it since you read it. "
                "Reload it and try again.",
                aggregate.version,
            )

    def _saved(self, subject: DecisionLogAggregate, *aggregates: DecisionLogAggregate) -> Outcome:
        """Save ``aggregates`` in one transaction (in the next batch of commands, unless this
        is already a command of one); the outcome for ``subject``."""
        return self._run(lambda: self._save_now(subject, *aggregates))

    def _save_now(self, subject: DecisionLogAggregate,
                  *aggregates: DecisionLogAggregate) -> Outcome:

        # What Application.save does, step for step, without its runtime protocol checks
        # (isinstance against typing Protocols, ~15 µs a command): these are our aggregates.
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing.events.extend(aggregate.collect_events())
            processing.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        self.notify(processing.events)  # deprecated hook, still called as save() does
        position = max(r.notification.id for r in recordings)
        return Outcome(id=subject.id, version=subject.version, position=position)
