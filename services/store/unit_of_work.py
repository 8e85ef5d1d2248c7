"""The aggregates one decision command loads, each once, saved together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.base import DecisionLogAggregate
from domain.errors import InvalidCommand, RuleViolation
from services.commands.host import A, Host

if TYPE_CHECKING:
    from services.commands.application import Outcome

RACE_RETRIES = 20


class Workspace:
    """The aggregates one command loads, each once, so its changes see each other."""

    def __init__(self, app: Host) -> None:
        self._app = app
        self._loaded: dict[UUID, DecisionLogAggregate] = {}

    def load(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False) -> A:
        """The aggregate, loaded on first use (see ``DecisionLog._get`` for the errors)."""
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app._get(cls, aggregate_id, referenced=referenced)
        aggregate = self._loaded[aggregate_id]
        if not isinstance(aggregate, cls):
            raise InvalidCommand(f"No {cls.__name__.lower()} with id {aggregate_id}.")
        return aggregate

    def add(self, aggregate: A) -> A:
        """Take a newly created aggregate into the workspace."""
        self._loaded[aggregate.id] = aggregate
        return aggregate

    def changed(self) -> list[DecisionLogAggregate]:
        """Every aggregate with events to save."""
        return [a for a in self._loaded.values() if a.pending_events]


def commit(app: Host, build: Callable[[Workspace], DecisionLogAggregate]) -> Outcome:
    """Build on fresh state and save everything at once, in the next batch of commands."""
    return app._run(lambda: _commit_now(app, build))


def _commit_now(app: Host, build: Callable[[Workspace], DecisionLogAggregate]) -> Outcome:
    """Build on fresh state and save everything at once; a lost race is retried."""
    for _ in range(RACE_RETRIES):
        work = Workspace(app)
        subject = build(work)
        try:
            return app._saved(subject, *work.changed())
        except IntegrityError:
            continue
    raise RuleViolation("Too many concurrent changes to these entities; try again.")
