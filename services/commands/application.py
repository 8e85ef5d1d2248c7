"""The decision log application: every command loads, decides, and saves once.

Each command method loads the aggregates it touches through a unit of work, calls their
domain methods (``domain/``), and returns the aggregate it is about; the command path
(:mod:`services.store.command_path`, chosen in the composition root) saves everything it
changed in one transaction and retries it on fresh state if it lost a race. Rules that span
aggregates live beside this module: scope (:mod:`services.commands.scheduling`), decisions
(:mod:`services.commands.decisions`), lineage (:mod:`services.commands.lineage`) and
ranking (:mod:`services.commands.ranking`).

Optimistic concurrency: a caller may pass the version it last saw (``expected_version``);
without one, a command that loses a race is simply run again on fresh state.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import EnvType

from domain.base import DecisionLogAggregate
from domain.decision import Decision
from domain.feature import Feature
from domain.product import Product
from domain.reasons import Reason
from domain.release import Release
from services.commands import decisions, scheduling
from services.commands.change_requests import ChangeRequest
from services.commands.lineage import DecisionLineage, DecisionStep, Lineage
from services.commands.ranking import RankedFeature, Ranking
from services.store.command_path import CommandPath, PlainPath
from services.store.outcome import Outcome
from services.store.transcodings import DateAsISO
from services.store.unit_of_work import UnitOfWork, expect

A = TypeVar("A", bound=DecisionLogAggregate)

#: Builds the command path for an application (see :mod:`services.runtime.bootstrap`).
PathFactory = Callable[[Application[UUID]], CommandPath]


class DecisionLog(Application[UUID]):
    """Commands on products, features, releases and decisions; lineage and ranking."""

    name = "DecisionLog"

    def __init__(self, env: EnvType | None = None, path: PathFactory = PlainPath) -> None:
        super().__init__(env)
        #: Runs each command and saves what it changed.
        self.commands = path(self)
        self.lineage = Lineage(self.events, self.get_decision)
        self.ranking = Ranking(self.recorder, self.mapper, self.events, self.get_product)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # Creating entities

    def create_product(self, *, actor: str, **details: Any) -> Outcome:
        """Start a product; ``details`` are the fields of :meth:`Product.create`."""
        return self.commands.run(lambda work: work.add(Product.create(actor=actor, **details)))

    def propose_feature(self, product_id: UUID, *, actor: str, **details: Any) -> Outcome:
        """Propose a feature for an active product."""

        def propose(work: UnitOfWork) -> Feature:
            work.load(Product, product_id).ensure_active()
            return work.add(Feature.propose(product_id=product_id, actor=actor, **details))

        return self.commands.run(propose)

    def plan_release(self, product_id: UUID, *, actor: str, **details: Any) -> Outcome:
        """Plan a release of an active product."""

        def plan(work: UnitOfWork) -> Release:
            work.load(Product, product_id).ensure_active()
            return work.add(Release.plan(product_id=product_id, actor=actor, **details))

        return self.commands.run(plan)

    def propose_decision(self, product_id: UUID, *, actor: str, **details: Any) -> Outcome:
        """Propose a decision about an active product (see :func:`decisions.propose`)."""
        return self.commands.run(
            lambda work: decisions.propose(work, product_id, actor, details))

    # Product commands

    def revise_vision(self, product_id: UUID, vision: str, reason: Reason,
                      expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version,
                            lambda p, _: p.revise_vision(vision, reason))

    def revise_strategy(self, product_id: UUID, strategy: str, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version,
                            lambda p, _: p.revise_strategy(strategy, reason))

    def retire_product(self, product_id: UUID, reason: Reason,
                       expected_version: int | None = None) -> Outcome:
        return self._change(Product, product_id, expected_version, lambda p, _: p.retire(reason))

    # Feature commands

    def change_feature_status(self, feature_id: UUID, status: str, reason: Reason,
                              expected_version: int | None = None) -> Outcome:
        """Move a feature along its lifecycle; rejecting or deferring a scheduled feature
        takes it out of its release in the same transaction."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f, work: scheduling.change_status(work, f, status, reason))

    def change_priority(self, feature_id: UUID, priority: float, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f, _: f.change_priority(priority, reason))

    def score_priority(self, feature_id: UUID, method: str, inputs: dict[str, float],
                       reason: Reason, expected_version: int | None = None) -> Outcome:
        """Set a feature's priority from a RICE or WSJF score (see :mod:`domain.scoring`)."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f, _: f.score_priority(method, inputs, reason))

    def revise_feature(self, feature_id: UUID, reason: Reason,
                       expected_version: int | None = None, **details: str | None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f, _: f.revise_details(reason, **details))

    def add_requirement(self, feature_id: UUID, text: str, acceptance_criteria: list[str],
                        reason: Reason, expected_version: int | None = None) -> Outcome:
        """Add a requirement; its id is ``R<n>``, n being the feature's ``requirement_count``
        at the returned version."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f, _: f.add_requirement(text, acceptance_criteria, reason))

    def revise_requirement(self, feature_id: UUID, requirement_id: str, text: str,
                           acceptance_criteria: list[str], reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(
            Feature, feature_id, expected_version,
            lambda f, _: f.revise_requirement(requirement_id, text, acceptance_criteria, reason),
        )

    def remove_requirement(self, feature_id: UUID, requirement_id: str, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(Feature, feature_id, expected_version,
                            lambda f, _: f.remove_requirement(requirement_id, reason))

    def schedule_feature(self, feature_id: UUID, release_id: UUID, reason: Reason,
                         expected_version: int | None = None) -> Outcome:
        """Schedule a feature into a release of its product, or move it there."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f, work: scheduling.schedule(work, f, release_id, reason))

    def unschedule_feature(self, feature_id: UUID, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        """Take a feature out of its release, back to the backlog."""
        return self._change(Feature, feature_id, expected_version,
                            lambda f, work: scheduling.unschedule(work, f, reason))

    # Release commands

    def change_target_date(self, release_id: UUID, target_date: date, reason: Reason,
                           expected_version: int | None = None) -> Outcome:
        return self._change(Release, release_id, expected_version,
                            lambda r, _: r.change_target_date(target_date, reason))

    def ship_release(self, release_id: UUID, shipped_on: date, reason: Reason,
                     expected_version: int | None = None) -> Outcome:
        """Ship a release: its done features ship with it, unfinished ones return to the backlog."""
        return self._change(Release, release_id, expected_version,
                            lambda r, work: scheduling.ship(work, r, shipped_on, reason))

    def cancel_release(self, release_id: UUID, reason: Reason,
                       expected_version: int | None = None) -> Outcome:
        """Cancel a release: its features return to the backlog."""
        return self._change(Release, release_id, expected_version,
                            lambda r, work: scheduling.cancel(work, r, reason))

    # Decision commands

    def accept_decision(self, decision_id: UUID, changes: Sequence[ChangeRequest], actor: str,
                        expected_version: int | None = None) -> Outcome:
        """Accept a proposed decision and apply ``changes`` with it, all or nothing."""
        return self._change(Decision, decision_id, expected_version,
                            lambda d, work: decisions.accept(work, self.events, d, changes, actor))

    def reject_decision(self, decision_id: UUID, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        """Reject a proposed decision; nothing on the roadmap changes."""
        return self._change(Decision, decision_id, expected_version, lambda d, _: d.reject(reason))

    def reverse_decision(self, decision_id: UUID, reason: Reason, *,
                         deciders: list[str] | None = None,
                         consulted: list[str] | None = None) -> Outcome:
        """Reverse an accepted decision now: a new decision, proposed and accepted at once,
        whose changes compensate the original's. Returns the reversing decision."""
        return self.commands.run(lambda work: decisions.reverse(
            work, self.events, decision_id, reason, deciders=deciders, consulted=consulted))

    # Reading

    def get_product(self, product_id: UUID, version: int | None = None) -> Product:
        return self._read(Product, product_id, version)

    def get_feature(self, feature_id: UUID, version: int | None = None) -> Feature:
        return self._read(Feature, feature_id, version)

    def get_release(self, release_id: UUID, version: int | None = None) -> Release:
        return self._read(Release, release_id, version)

    def get_decision(self, decision_id: UUID, version: int | None = None) -> Decision:
        return self._read(Decision, decision_id, version)

    def entity_lineage(self, entity_id: UUID) -> list[DecisionStep]:
        """The decisions that shaped an entity (see :class:`Lineage`)."""
        return self.lineage.of_entity(entity_id)

    def decision_lineage(self, decision_id: UUID) -> DecisionLineage:
        """What a decision changed and who changed it again (see :class:`Lineage`)."""
        return self.lineage.of_decision(decision_id)

    def rank_features(self, product_id: UUID,
                      as_of: datetime | None = None) -> list[RankedFeature]:
        """The product's open features by priority as of ``as_of`` (see :class:`Ranking`)."""
        return self.ranking.rank(product_id, as_of)

    def log_position(self) -> int:
        """The log's highest position (0 when empty): what ``?after=`` and the views'
        positions are compared with. Not a count: PostgreSQL positions may have gaps."""
        return self.recorder.max_notification_id() or 0

    def event_count(self) -> int:
        """How many events the log holds (SQLite positions have no gaps, so there it is the
        highest position; on PostgreSQL a count, which reads the whole table)."""
        count = getattr(self.recorder, "count_events", None)
        return int(count()) if count is not None else self.log_position()

    # Plumbing

    def _read(self, cls: type[A], aggregate_id: UUID, version: int | None) -> A:
        """The aggregate as stored (at ``version``, else the latest); ``NotFound`` if none."""
        aggregate: object
        try:
            aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            aggregate = None
        return expect(cls, aggregate_id, aggregate)

    def _change(self, cls: type[A], aggregate_id: UUID, expected_version: int | None,
                decide: Callable[[A, UnitOfWork], object]) -> Outcome:
        """Load the aggregate at the expected version, ``decide`` on it (in the unit of work,
        where it may load others), save all it changed."""

        def command(work: UnitOfWork) -> A:
            aggregate = work.load(cls, aggregate_id, expected_version=expected_version)
            decide(aggregate, work)
            return aggregate

        return self.commands.run(command)
