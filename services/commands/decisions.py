"""Decisions as first-class records: propose, accept with roadmap changes, reject,
supersede, reverse.

Accepting a decision applies its roadmap changes (:mod:`services.commands.change_requests`) to
aggregates loaded once per id (so two changes to the same release see each other), with
the same cross-aggregate rules as the single commands, and saves them with the
acceptance in ONE transaction: all or nothing (:mod:`services.store.unit_of_work`). Every
resulting event carries the decision's id. Reversing a decision is a new decision whose
changes compensate the original's, refused when later changes are in the way
(:mod:`services.commands.reversal`). Lineage and prioritisation are in their own modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.decision import Decision
from domain.errors import DomainError, InvalidCommand, RuleViolation
from domain.product import Product
from domain.reasons import MAX_RATIONALE, Reason
from services.commands.change_requests import (
    CHANGE_REQUESTS,
    ChangePriority,
    ChangeRequest,
    ChangeStatus,
    ChangeTargetDate,
    MoveFeature,
    UnscheduleFeature,
    apply_change,
    describe,
)
from services.commands.host import Host
from services.commands.reversal import compensations
from services.store.unit_of_work import Workspace, commit

if TYPE_CHECKING:
    from services.commands.application import Outcome

__all__ = [
    "CHANGE_REQUESTS", "MAX_CHANGES", "ChangePriority", "ChangeRequest", "ChangeStatus",
    "ChangeTargetDate", "DecisionsMixin", "MoveFeature", "UnscheduleFeature",
]

MAX_CHANGES = 100


class DecisionsMixin:
    """Decision commands and queries, mixed into
    :class:`services.commands.application.DecisionLog`."""

    def propose_decision(self: Host, product_id: UUID, *, actor: str,
                         **details: Any) -> Outcome:
        """Propose a decision about an active product; ``details`` are the fields of
        :meth:`Decision.propose` (``supersedes`` names an accepted decision it will replace)."""

        def propose() -> Outcome:
            self._get(Product, product_id).ensure_active()
            if details.get("reverses") is not None:
                _in_force(self._get(Decision, details["reverses"], referenced=True),
                          product_id, "reversed")
            if details.get("supersedes") is not None:
                _in_force(self._get(Decision, details["supersedes"], referenced=True),
                          product_id, "superseded")
            decision = Decision.propose(product_id=product_id, actor=actor, **details)
            return self._saved(decision, decision)

        return self._run(propose)  # checked in the batch: nothing can change in between

    def accept_decision(self: Host, decision_id: UUID, changes: Sequence[ChangeRequest],
                        actor: str, expected_version: int | None = None) -> Outcome:
        """Accept a proposed decision and apply ``changes`` with it, all or nothing."""

        def build(work: Workspace) -> Decision:
            decision = work.load(Decision, decision_id)
            self._check_version(decision, expected_version)
            _accept(self, work, decision, changes, actor)
            return decision

        return commit(self, build)

    def reject_decision(self: Host, decision_id: UUID, reason: Reason,
                        expected_version: int | None = None) -> Outcome:
        """Reject a proposed decision; nothing on the roadmap changes."""
        return self._change(Decision, decision_id, expected_version, lambda d: d.reject(reason))

    def reverse_decision(self: Host, decision_id: UUID, reason: Reason, *,
                         deciders: list[str] | None = None,
                         consulted: list[str] | None = None) -> Outcome:
        """Reverse an accepted decision now: a new decision, proposed and accepted at once,
        whose changes compensate the original's. Returns the reversing decision."""

        def build(work: Workspace) -> Decision:
            original = work.load(Decision, decision_id)
            original.ensure_in_force("reversed")
            reversal = work.add(Decision.propose(
                product_id=original.product_id,
                title=f"Reverse: {original.title}"[:200],
                context=f"Decision '{original.title}' ({original.id}) is being reversed.",
                options=[{"name": "Keep"}, {"name": "Reverse"}],
                chosen_option="Reverse",
                rationale=reason.rationale,
                evidence=list(reason.evidence),
                deciders=deciders or [reason.actor],
                consulted=consulted,
                reverses=original.id,
                actor=reason.actor,
            ))
            _accept(self, work, reversal, [], reason.actor)
            return reversal

        return commit(self, build)

    def get_decision(self: Host, decision_id: UUID, version: int | None = None) -> Decision:
        return self._get(Decision, decision_id, version=version)


def _accept(app: Host, work: Workspace, decision: Decision,
            requests: Sequence[ChangeRequest], actor: str) -> None:
    """Accept ``decision`` in ``work``: its reversal or supersession, then ``requests``."""
    decision.ensure_proposed("accepted")
    if len(requests) > MAX_CHANGES:
        raise InvalidCommand(f"A decision carries at most {MAX_CHANGES} roadmap changes.")
    reason = decision.reason(actor)
    applied: list[dict[str, Any]] = []
    if decision.reverses is not None:
        original = work.load(Decision, decision.reverses, referenced=True)
        applied += compensations(app, work, original, decision.reason(
            actor, f"Reverses decision '{original.title}': {decision.rationale}"[:MAX_RATIONALE]))
        original.mark_reversed(decision.id, reason)
    if decision.supersedes is not None:
        work.load(Decision, decision.supersedes, referenced=True).mark_superseded(
            decision.id, reason)
    for number, request in enumerate(requests, start=1):
        try:
            applied.append(apply_change(app, work, request, reason, decision.product_id))
        except DomainError as error:
            kind = InvalidCommand if isinstance(error, InvalidCommand) else RuleViolation
            raise kind(f"Change {number} of {len(requests)} ({describe(work, request)}) is "
                       f"refused: {error} Nothing was applied.") from error
    decision.accept(applied, reason)


def _in_force(decision: Decision, product_id: UUID, becoming: str) -> None:
    if decision.product_id != product_id:
        raise InvalidCommand(
            f"Decision '{decision.title}' is about another product; a decision can only be "
            f"{becoming} by a decision about the same product."
        )
    decision.ensure_in_force(becoming)
