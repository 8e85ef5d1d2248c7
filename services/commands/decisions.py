"""Decisions as first-class records: propose, accept with roadmap changes, reverse.

Accepting a decision applies its roadmap changes (:mod:`services.commands.change_requests`)
in the decision's unit of work, where each aggregate is loaded once (so two changes to the
same release see each other), with the same cross-aggregate rules as the single commands;
everything is saved with the acceptance in ONE transaction: all or nothing. Every resulting
event carries the decision's id. Reversing a decision is a new decision whose changes
compensate the original's (a status is put back by a correction, outside the forward
lifecycle), refused when later changes are in the way (:mod:`services.commands.reversal`).
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.context import cascade
from domain.decision import Decision
from domain.errors import DomainError, InvalidCommand, RuleViolation
from domain.product import Product
from domain.reasons import MAX_RATIONALE, Reason
from services.commands.change_requests import ChangeRequest, apply_change, describe
from services.commands.reversal import compensations
from services.store.unit_of_work import History, UnitOfWork

MAX_CHANGES = 100


def propose(work: UnitOfWork, product_id: UUID, actor: str, details: dict[str, Any]) -> Decision:
    """Propose a decision about an active product; ``details`` are the fields of
    :meth:`Decision.propose` (``supersedes`` names an accepted decision it will replace,
    ``reverses`` one it will reverse)."""
    work.load(Product, product_id).ensure_active()
    if details.get("reverses") is not None:
        _in_force(work.load(Decision, details["reverses"], referenced=True),
                  product_id, "reversed")
    if details.get("supersedes") is not None:
        _in_force(work.load(Decision, details["supersedes"], referenced=True),
                  product_id, "superseded")
    return work.add(Decision.propose(product_id=product_id, actor=actor, **details))


def accept(work: UnitOfWork, history: History, decision: Decision,
           requests: Sequence[ChangeRequest], actor: str) -> None:
    """Accept ``decision``: its reversal or supersession, then ``requests``, all or nothing."""
    decision.ensure_proposed("accepted")
    if len(requests) > MAX_CHANGES:
        raise InvalidCommand(f"A decision carries at most {MAX_CHANGES} roadmap changes.")
    reason = decision.reason(actor)
    with cascade() as scope:  # every change it applies names the acceptance as its cause
        applied = _apply(work, history, decision, requests, actor, reason)
    decision.accept(applied, reason)
    scope.caused_by(decision)


def _apply(work: UnitOfWork, history: History, decision: Decision,
           requests: Sequence[ChangeRequest], actor: str, reason: Reason) -> list[dict[str, Any]]:
    """Apply the reversal or supersession of ``decision``, then ``requests``: what changed."""
    applied: list[dict[str, Any]] = []
    if decision.reverses is not None:
        original = work.load(Decision, decision.reverses, referenced=True)
        applied += compensations(work, history, original, decision.reason(
            actor, f"Reverses decision '{original.title}': {decision.rationale}"[:MAX_RATIONALE]))
        original.mark_reversed(decision.id, reason)
    if decision.supersedes is not None:
        work.load(Decision, decision.supersedes, referenced=True).mark_superseded(
            decision.id, reason)
    for number, request in enumerate(requests, start=1):
        try:
            applied += apply_change(work, request, reason, decision.product_id)
        except DomainError as error:
            kind = InvalidCommand if isinstance(error, InvalidCommand) else RuleViolation
            raise kind(f"Change {number} of {len(requests)} ({describe(work, request)}) is "
                       f"refused: {error} Nothing was applied.") from error
    return applied


def reverse(work: UnitOfWork, history: History, decision_id: UUID, reason: Reason, *,
            deciders: list[str] | None, consulted: list[str] | None) -> Decision:
    """A new decision, proposed and accepted at once, whose changes compensate those of the
    accepted decision ``decision_id``."""
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
    accept(work, history, reversal, [], reason.actor)
    return reversal


def _in_force(decision: Decision, product_id: UUID, becoming: str) -> None:
    if decision.product_id != product_id:
        raise InvalidCommand(
            f"Decision '{decision.title}' is about another product; a decision can only be "
            f"{becoming} by a decision about the same product."
        )
    decision.ensure_in_force(becoming)
