"""Decision: a first-class record of *why*: context, options, the choice and who made it.

Lifecycle: proposed → accepted | rejected; accepted → superseded | reversed.
An accepted decision records the roadmap changes it caused, each with the value it
replaced, so that a later decision can reverse them exactly.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.base import DecisionLogAggregate
from domain.errors import InvalidCommand, RuleViolation
from domain.reasons import MAX_EVIDENCE_ITEMS, MAX_EVIDENCE_LENGTH, MAX_RATIONALE, Reason
from domain.text import optional_text, required_text

TITLE_MAX = 200
TEXT_MAX = 4000
NAME_MAX = 200
POINT_MAX = 1000
MAX_OPTIONS = 20
MAX_POINTS = 20
MAX_PEOPLE = 50

PROPOSED = "proposed"
ACCEPTED = "accepted"
REJECTED = "rejected"
SUPERSEDED = "superseded"
REVERSED = "reversed"


def option(name: str, description: str = "", pros: list[str] | None = None,
           cons: list[str] | None = None) -> dict[str, Any]:
    """A validated option considered by a decision: its name, description, pros and cons."""
    return {
        "name": required_text(name, "An option's name", NAME_MAX),
        "description": optional_text(description, "An option's description", TEXT_MAX),
        "pros": _points(pros or [], "pros"),
        "cons": _points(cons or [], "cons"),
    }


def _points(points: list[str], what: str) -> list[str]:
    if isinstance(points, str) or len(points) > MAX_POINTS:
        raise InvalidCommand(f"An option lists at most {MAX_POINTS} {what}, as a list of texts.")
    return [required_text(p, f"Each of an option's {what}", POINT_MAX) for p in points]


def _people(people: list[str], what: str, *, required: bool) -> list[str]:
    if isinstance(people, str) or len(people) > MAX_PEOPLE:
        raise InvalidCommand(f"{what} is a list of at most {MAX_PEOPLE} people.")
    names = [required_text(p, f"Each of the {what.lower()}", NAME_MAX) for p in people]
    if required and not names:
        raise InvalidCommand(f"{what} must name at least one person.")
    if len(set(names)) != len(names):
        raise InvalidCommand(f"{what} lists someone twice.")
    return names


def _options(options: list[dict[str, Any]], chosen: str) -> tuple[list[dict[str, Any]], str]:
    if not options or len(options) > MAX_OPTIONS:
        raise InvalidCommand(f"A decision considers from 1 to {MAX_OPTIONS} options.")
    bodies = [option(o.get("name", ""), o.get("description", ""), o.get("pros"), o.get("cons"))
              for o in options]
    names = [o["name"] for o in bodies]
    if len({n.casefold() for n in names}) != len(names):
        raise InvalidCommand("Each option considered needs a different name.")
    chosen = chosen.strip()
    if chosen not in names:
        raise InvalidCommand(
            f"The chosen option '{chosen}' is not one of the options considered: "
            f"{', '.join(names)}."
        )
    return bodies, chosen


def _evidence(evidence: list[str]) -> list[str]:
    # The same limits as a Reason's evidence: it becomes the evidence of the changes.
    if isinstance(evidence, str) or len(evidence) > MAX_EVIDENCE_ITEMS:
        raise InvalidCommand(f"At most {MAX_EVIDENCE_ITEMS} evidence items, as a list.")
    return [required_text(e, "Each evidence item", MAX_EVIDENCE_LENGTH) for e in evidence]


class Decision(DecisionLogAggregate):
    """A decision about a product, which may cause roadmap changes when accepted."""

    # When it left each status (class defaults: states stored before they were kept).
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    superseded_at: datetime | None = None
    reversed_at: datetime | None = None

    class Created(DecisionLogAggregate.Created):
        product_id: UUID
        title: str
        context: str
        options: list[dict[str, Any]]
        chosen_option: str
        rationale: str
        evidence: list[str]
        deciders: list[str]
        consulted: list[str]
        supersedes: UUID | None
        reverses: UUID | None

    class Accepted(DecisionLogAggregate.Changed):
        """Accepted; ``changes`` are the roadmap changes applied with it, with old values."""

        changes: list[dict[str, Any]]

        def apply(self, decision: "Decision") -> None:
            decision.status = ACCEPTED
            decision.changes = [dict(c) for c in self.changes]
            decision.accepted_by = self.actor
            decision.accepted_at = self.timestamp

    class Rejected(DecisionLogAggregate.Changed):
        def apply(self, decision: "Decision") -> None:
            decision.status = REJECTED
            decision.rejected_at = self.timestamp

    class Superseded(DecisionLogAggregate.Changed):
        superseded_by: UUID

        def apply(self, decision: "Decision") -> None:
            decision.status = SUPERSEDED
            decision.superseded_by = self.superseded_by
            decision.superseded_at = self.timestamp

    class Reversed(DecisionLogAggregate.Changed):
        reversed_by: UUID

        def apply(self, decision: "Decision") -> None:
            decision.status = REVERSED
            decision.reversed_by = self.reversed_by
            decision.reversed_at = self.timestamp

    def __init__(
        self,
        product_id: UUID,
        title: str,
        context: str,
        options: list[dict[str, Any]],
        chosen_option: str,
        rationale: str,
        evidence: list[str],
        deciders: list[str],
        consulted: list[str],
        supersedes: UUID | None,
        reverses: UUID | None,
        actor: str,
    ) -> None:
        self.product_id = product_id
        self.title = title
        self.context = context
        self.options = [dict(o, pros=list(o["pros"]), cons=list(o["cons"])) for o in options]
        self.chosen_option = chosen_option
        self.rationale = rationale
        self.evidence = list(evidence)
        self.deciders = list(deciders)
        self.consulted = list(consulted)
        self.supersedes = supersedes
        self.reverses = reverses
        self.proposed_by = actor
        self.status = PROPOSED
        self.changes: list[dict[str, Any]] = []
        self.accepted_by: str | None = None
        self.superseded_by: UUID | None = None
        self.reversed_by: UUID | None = None

    @classmethod
    def propose(
        cls,
        *,
        product_id: UUID,
        title: str,
        context: str,
        options: list[dict[str, Any]],
        chosen_option: str,
        rationale: str,
        deciders: list[str],
        actor: str,
        evidence: list[str] | None = None,
        consulted: list[str] | None = None,
        supersedes: UUID | None = None,
        reverses: UUID | None = None,
    ) -> "Decision":
        """Propose a decision; options are dicts with ``name``, ``description``, ``pros``,
        ``cons``, and ``chosen_option`` names one of them."""
        bodies, chosen = _options(options, chosen_option)
        if supersedes is not None and supersedes == reverses:
            raise InvalidCommand("A decision cannot both supersede and reverse the same one.")
        return cls._create(
            cls.Created,
            product_id=product_id,
            title=required_text(title, "The decision title", TITLE_MAX),
            context=required_text(context, "The context (what prompted the decision)", TEXT_MAX),
            options=bodies,
            chosen_option=chosen,
            rationale=required_text(rationale, "The rationale", MAX_RATIONALE),
            evidence=_evidence(evidence or []),
            deciders=_people(deciders, "Deciders", required=True),
            consulted=_people(consulted or [], "Consulted", required=False),
            supersedes=supersedes,
            reverses=reverses,
            actor=actor,
        )

    @property
    def proposed_at(self) -> datetime:
        """When the decision was proposed."""
        return self.created_on

    def reason(self, actor: str, rationale: str | None = None) -> Reason:
        """The reason carried by the changes this decision causes, made by ``actor``."""
        return Reason(actor=actor, rationale=rationale or self.rationale,
                      evidence=tuple(self.evidence), decision_id=self.id)

    def accept(self, changes: list[dict[str, Any]], reason: Reason) -> None:
        """Accept the decision, recording the roadmap changes applied with it."""
        self.ensure_proposed("accepted")
        self.record(self.Accepted, reason, changes=[dict(c) for c in changes])

    def reject(self, reason: Reason) -> None:
        """Reject the proposal; it stays in the log, changing nothing."""
        self.ensure_proposed("rejected")
        self.record(self.Rejected, reason)

    def mark_superseded(self, by: UUID, reason: Reason) -> None:
        """Record that the accepted decision ``by`` replaces this one."""
        self.ensure_in_force("superseded")
        self.record(self.Superseded, reason, superseded_by=by)

    def mark_reversed(self, by: UUID, reason: Reason) -> None:
        """Record that decision ``by`` reversed this one's changes."""
        self.ensure_in_force("reversed")
        self.record(self.Reversed, reason, reversed_by=by)

    def ensure_proposed(self, becoming: str) -> None:
        """Refuse to accept or reject a decision that is no longer a proposal."""
        if self.status != PROPOSED:
            raise RuleViolation(
                f"Decision '{self.title}' is already {self.status}; only a proposed decision "
                f"can be {becoming}."
            )

    def ensure_in_force(self, becoming: str) -> None:
        """Refuse to supersede or reverse a decision that is not accepted and in force."""
        if self.status == REVERSED:
            raise RuleViolation(
                f"Decision '{self.title}' was already reversed by decision {self.reversed_by}; "
                + ("a decision can be reversed only once." if becoming == REVERSED
                   else f"a reversed decision cannot be {becoming}.")
            )
        if self.status == SUPERSEDED:
            raise RuleViolation(
                f"Decision '{self.title}' was already superseded by decision "
                f"{self.superseded_by}; it cannot be {becoming}. Act on that decision instead."
            )
        if self.status != ACCEPTED:
            raise RuleViolation(
                f"Decision '{self.title}' is {self.status}; only an accepted decision can be "
                f"{becoming}."
            )
