"""How a command is run and saved: one small interface, chosen in the composition root.

Every command is a function of a :class:`~services.store.unit_of_work.UnitOfWork` (load,
decide, return the aggregate it is about); a :class:`CommandPath` runs it and saves what it
changed in one transaction, retrying the whole command on fresh state when it lost a race to
another writer. Two paths give the same answers:

- :class:`PlainPath`, the library's way: each load through the application's repository,
  each save through ``Application.save``. For stores without group commit.
- :class:`FastPath`, for the group-commit recorder (the default): aggregates are kept between
  commands and handed to one command at a time (:mod:`services.store.command_cache`), saves
  skip the library's per-call checks, and, with command batches
  (:mod:`services.store.command_batches`), commands that arrive together are run one after
  another by one thread inside one transaction that commits once.

:func:`services.runtime.bootstrap.build_application` picks one from the settings.
"""

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, IntegrityError, Recording

from domain.base import DecisionLogAggregate
from domain.context import carried
from domain.errors import RuleViolation
from services.store import metrics
from services.store.command_batches import CommandBatches
from services.store.command_cache import CommandCache
from services.store.outcome import Outcome
from services.store.snapshots import Snapshots
from services.store.unit_of_work import Command, UnitOfWork, collect_in_time_order

#: How many times a command that keeps losing races is run before it gives up.
RACE_RETRIES = 20

TOO_MANY_RACES = "Too many concurrent changes to these entities; try again."


class CommandPath(Protocol):
    """Runs a command and saves everything it changed at once."""

    #: The batches commands run in, when they do (see :class:`FastPath`).
    batches: CommandBatches | None

    def run(self, command: Command) -> Outcome:
        """Run ``command`` (again, on fresh state, after a lost race); the outcome for the
        aggregate it returns, once committed. Raises what the command raises."""
        ...


class PlainPath:
    """Loads through the application's repository (which starts from the latest snapshot, if
    any), saves through ``Application.save``, then stores the snapshots that fell due."""

    batches: CommandBatches | None = None

    def __init__(self, app: Application[UUID], snapshots: Snapshots | None = None) -> None:
        self._app = app
        self._snapshots = snapshots

    def run(self, command: Command) -> Outcome:
        command = carried(command)
        for _ in range(RACE_RETRIES):
            work = UnitOfWork(self._load)
            subject = command(work)
            changed = work.changed()
            due = self._snapshots.due(changed) if self._snapshots else []
            try:
                # The events first, in the order they happened; then the aggregates, for
                # the library's snapshots and cache.
                recordings = self._app.save(*collect_in_time_order(changed), *changed)
            except IntegrityError:
                metrics.retried("race")
                continue  # lost a race: run again on fresh state
            if self._snapshots is not None:
                self._snapshots.put(due)
            return _outcome(subject, recordings)
        raise RuleViolation(TOO_MANY_RACES)

    def _load(self, aggregate_id: UUID) -> tuple[Any, bool]:
        try:
            return self._app.repository.get(aggregate_id), True
        except AggregateNotFoundError:
            return None, True


class _Stale(Exception):
    """An aggregate the command read from kept state, and did not change, has moved on."""


class FastPath:
    """Kept aggregates, lean saves, and (with ``batches``) commands run in batches.

    A command may decide on an aggregate kept from an earlier command without reading the
    store first (see :mod:`services.store.command_cache` for why that is safe): if the
    command then fails, or its save loses a race, it runs again on state read from the store,
    and only that answer counts. Aggregates it read but did not change are checked against
    the store before the save (nothing else would check their version).
    """

    def __init__(self, events: EventStore[UUID], cache: CommandCache,
                 batches: CommandBatches | None = None,
                 snapshots: Snapshots | None = None) -> None:
        self._events = events
        self.cache = cache
        self.batches = batches
        self._snapshots = snapshots

    def run(self, command: Command) -> Outcome:
        due: list[Snapshot] = []  # taken by the command, stored once its events committed
        command = carried(command)  # the caller's correlation, on the thread that runs it
        if self.batches is None:
            outcome = self._run(command, due)
        else:
            outcome = self.batches.run(lambda: self._run(command, due))
        if self._snapshots is not None and due:
            self._snapshots.put(due)
        return outcome

    def _run(self, command: Command, due: list[Snapshot]) -> Outcome:
        fresh = False  # whether to read every aggregate from the store
        for _ in range(RACE_RETRIES):
            due.clear()
            work = UnitOfWork(self._load_fresh if fresh else self._load_kept)
            try:
                subject = command(work)
                self._check_unchanged(work)
            except Exception:
                if not work.unverified:
                    raise  # decided on state read from the store: that is the answer
                metrics.retried("kept_state")
                fresh = True  # perhaps refused on state that was behind: ask the store
                continue
            changed = work.changed()
            if self._snapshots is not None:
                due.extend(self._snapshots.due(changed))
            try:
                outcome = self._save(subject, changed)
            except IntegrityError:
                metrics.retried("race")
                fresh = True  # lost a race, or kept state was behind
                continue
            for aggregate in work.held():
                self.cache.give_back(aggregate)
            return outcome
        raise RuleViolation(TOO_MANY_RACES)

    def _load_kept(self, aggregate_id: UUID) -> tuple[Any, bool]:
        """The kept aggregate, as kept (not known to be current); else from the store."""
        kept = self.cache.checkout(aggregate_id.int)
        if kept is not None:
            return kept, False
        return self._replayed(aggregate_id), True

    def _load_fresh(self, aggregate_id: UUID) -> tuple[Any, bool]:
        """The aggregate as the store holds it now: kept, plus any events stored since."""
        aggregate = self.cache.checkout(aggregate_id.int)
        if aggregate is None:
            return self._replayed(aggregate_id), True
        for event in self._events.get(aggregate_id, gt=aggregate.version):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        return aggregate, True

    def _replayed(self, aggregate_id: UUID) -> Any:
        """The aggregate from its latest snapshot and the events after it (all its events
        without snapshots), or None if it has none. What the library's repository does,
        minus its deep copy and its per-event protocol check."""
        if self._snapshots is not None:
            return self._snapshots.load(aggregate_id, self._events)
        aggregate: Any = None
        for event in self._events.get(aggregate_id):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        return aggregate

    def _check_unchanged(self, work: UnitOfWork) -> None:
        """Raise if an aggregate read from kept state and left unchanged is behind."""
        for aggregate in work.held():
            if aggregate.id in work.unverified and not aggregate.pending_events:
                newer = self._events.get(aggregate.id, gt=aggregate.version, limit=1)
                if any(True for _ in newer):
                    raise _Stale

    def _save(self, subject: DecisionLogAggregate,
              changed: Sequence[DecisionLogAggregate]) -> Outcome:
        """What ``Application.save`` does for these aggregates (the library's snapshots and
        cache take no part on this path), without its per-call protocol checks."""
        events = collect_in_time_order(changed)
        return _outcome(subject, self._events.put(events))


def _outcome(subject: DecisionLogAggregate, recordings: Sequence[Recording[Any]]) -> Outcome:
    position = max((r.notification.id for r in recordings), default=0)
    return Outcome(id=subject.id, version=subject.version, position=position)
