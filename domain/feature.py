"""Feature: the *what*. Its problem, value, requirements, benefit, priority and lifecycle."""

import math
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain import scoring
from domain.base import DecisionLogAggregate
from domain.errors import InvalidCommand, RuleViolation
from domain.reasons import Reason
from domain.text import required_text

TITLE_MAX = 200
TEXT_MAX = 4000
CRITERION_MAX = 1000
MAX_CRITERIA = 50
MAX_REQUIREMENTS = 200
MAX_PRIORITY = 1_000_000_000

PROPOSED = "proposed"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
DONE = "done"
SHIPPED = "shipped"
REJECTED = "rejected"
DEFERRED = "deferred"

#: Allowed lifecycle moves: status -> statuses it may change to.
TRANSITIONS: dict[str, frozenset[str]] = {
    PROPOSED: frozenset({ACCEPTED, REJECTED, DEFERRED}),
    ACCEPTED: frozenset({IN_PROGRESS, REJECTED, DEFERRED}),
    IN_PROGRESS: frozenset({DONE, DEFERRED}),
    DONE: frozenset({SHIPPED, IN_PROGRESS}),
    DEFERRED: frozenset({PROPOSED, ACCEPTED}),
    REJECTED: frozenset({PROPOSED}),
    SHIPPED: frozenset(),
}
STATUSES = tuple(TRANSITIONS)

#: Statuses in which a feature can no longer be put into (or moved between) releases.
UNSCHEDULABLE = frozenset({REJECTED, SHIPPED})

#: Statuses that take a scheduled feature out of its release when it moves to them.
TAKEN_OUT = frozenset({REJECTED, DEFERRED})


def requirement(text: str, acceptance_criteria: list[str]) -> dict[str, Any]:
    """A validated requirement body: its text and its acceptance criteria."""
    if not isinstance(text, str):
        raise InvalidCommand("A requirement's text must be a string.")
    if not isinstance(acceptance_criteria, list | tuple) or not all(
        isinstance(c, str) for c in acceptance_criteria
    ):
        raise InvalidCommand("A requirement's acceptance criteria must be a list of strings.")
    if len(acceptance_criteria) > MAX_CRITERIA:
        raise InvalidCommand(f"A requirement has at most {MAX_CRITERIA} acceptance criteria.")
    return {
        "text": required_text(text, "A requirement's text", TEXT_MAX),
        "acceptance_criteria": [
            required_text(c, "An acceptance criterion", CRITERION_MAX) for c in acceptance_criteria
        ],
    }


def valid_priority(priority: float) -> float:
    """Refuse priorities that cannot be ordered (negative, NaN, infinite or huge)."""
    if not math.isfinite(priority) or not 0 <= priority <= MAX_PRIORITY:
        raise InvalidCommand(
            f"The priority must be a number from 0 to {MAX_PRIORITY} (higher is more important)."
        )
    return float(priority)


class Feature(DecisionLogAggregate):
    """A feature of a product, scheduled into at most one release at a time."""

    class Created(DecisionLogAggregate.Created):
        product_id: UUID
        title: str
        problem: str
        business_value: str
        benefit: str
        priority: float
        requirements: list[dict[str, Any]]

    class StatusChanged(DecisionLogAggregate.Changed):
        """A move along the lifecycle or, when ``reverts`` names a decision, a correction:
        the status that decision replaced, put back by its reversal, whichever way it goes."""

        old_status: str
        status: str
        reverts: UUID | None = None

        def apply(self, feature: "Feature") -> None:
            feature.status = self.status

    class Scheduled(DecisionLogAggregate.Changed):
        """Put into a release; ``old_release_id`` is set when it was moved from another."""

        old_release_id: UUID | None
        release_id: UUID

        def apply(self, feature: "Feature") -> None:
            feature.release_id = self.release_id
            feature.times_scheduled += 1

    class Unscheduled(DecisionLogAggregate.Changed):
        old_release_id: UUID

        def apply(self, feature: "Feature") -> None:
            feature.release_id = None

    class PriorityChanged(DecisionLogAggregate.Changed):
        old_priority: float
        priority: float

        def apply(self, feature: "Feature") -> None:
            feature.priority = self.priority

    class PriorityScored(DecisionLogAggregate.Changed):
        """Priority set from a score: the formula version and inputs make it reproducible."""

        formula: str
        inputs: dict[str, float]
        old_priority: float
        priority: float

        def apply(self, feature: "Feature") -> None:
            feature.priority = self.priority
            feature.score = {"formula": self.formula, "inputs": dict(self.inputs)}

    class DetailsRevised(DecisionLogAggregate.Changed):
        """Title, problem, business value or benefit revised: ``changes`` maps field -> old/new."""

        changes: dict[str, dict[str, str]]

        def apply(self, feature: "Feature") -> None:
            for name, change in self.changes.items():
                setattr(feature, name, change["new"])

    class RequirementAdded(DecisionLogAggregate.Changed):
        requirement_id: str
        text: str
        acceptance_criteria: list[str]

        def apply(self, feature: "Feature") -> None:
            feature.requirements[self.requirement_id] = {
                "text": self.text,
                "acceptance_criteria": list(self.acceptance_criteria),
            }
            feature.requirement_count += 1

    class RequirementRevised(DecisionLogAggregate.Changed):
        requirement_id: str
        old_text: str
        text: str
        old_acceptance_criteria: list[str]
        acceptance_criteria: list[str]

        def apply(self, feature: "Feature") -> None:
            feature.requirements[self.requirement_id] = {
                "text": self.text,
                "acceptance_criteria": list(self.acceptance_criteria),
            }

    class RequirementRemoved(DecisionLogAggregate.Changed):
        requirement_id: str
        old_text: str
        old_acceptance_criteria: list[str]

        def apply(self, feature: "Feature") -> None:
            del feature.requirements[self.requirement_id]

    def __init__(
        self,
        product_id: UUID,
        title: str,
        problem: str,
        business_value: str,
        benefit: str,
        priority: float,
        requirements: list[dict[str, Any]],
        actor: str,
    ) -> None:
        self.product_id = product_id
        self.title = title
        self.problem = problem
        self.business_value = business_value
        self.benefit = benefit
        self.priority = priority
        self.status = PROPOSED
        self.release_id: UUID | None = None
        self.times_scheduled = 0
        self.requirements: dict[str, dict[str, Any]] = {}
        for number, body in enumerate(requirements, start=1):
            self.requirements[f"R{number}"] = {
                "text": body["text"],
                "acceptance_criteria": list(body["acceptance_criteria"]),
            }
        self.requirement_count = len(requirements)
        self.score: dict[str, Any] | None = None  # formula and inputs of the last score

    @classmethod
    def propose(
        cls,
        *,
        product_id: UUID,
        title: str,
        problem: str,
        business_value: str,
        benefit: str,
        actor: str,
        priority: float = 0.0,
        requirements: list[dict[str, Any]] | None = None,
    ) -> "Feature":
        """Propose a feature; requirements are dicts with ``text`` and ``acceptance_criteria``."""
        bodies = [
            requirement(r.get("text", ""), r.get("acceptance_criteria", []))
            for r in requirements or []
        ]
        if len(bodies) > MAX_REQUIREMENTS:
            raise InvalidCommand(f"A feature has at most {MAX_REQUIREMENTS} requirements.")
        return cls._create(
            cls.Created,
            product_id=product_id,
            title=required_text(title, "The feature title", TITLE_MAX),
            problem=required_text(problem, "The problem (why this feature)", TEXT_MAX),
            business_value=required_text(business_value, "The business value", TEXT_MAX),
            benefit=required_text(benefit, "The customer-facing benefit", TEXT_MAX),
            priority=valid_priority(priority),
            requirements=bodies,
            actor=actor,
        )

    # Lifecycle

    def change_status(self, status: str, reason: Reason) -> None:
        """Move the feature along its lifecycle, refusing moves the lifecycle does not allow.
        Rejecting or deferring a scheduled feature first takes it out of its release (the
        release's side is the application's: :mod:`services.commands.scheduling`)."""
        self._ensure_known(status)
        if status == SHIPPED:
            raise RuleViolation(
                "A feature ships with its release: ship the release it is scheduled in."
            )
        if status not in TRANSITIONS[self.status]:
            options = ", ".join(sorted(self.next_statuses)) or "none"
            final = " (it is final)" if self.status == SHIPPED else ""
            ships = ("; it ships with its release, when that release ships"
                     if SHIPPED in TRANSITIONS[self.status] else "")
            raise RuleViolation(
                f"Feature '{self.title}' is {self.status} and cannot become {status}. "
                f"From {self.status} it can become: {options}{final}{ships}."
            )
        if status in TAKEN_OUT and self.release_id is not None:
            self.unschedule(reason)
        self.record(self.StatusChanged, reason, old_status=self.status, status=status)

    @property
    def next_statuses(self) -> list[str]:
        """The statuses :meth:`change_status` can move the feature to now (shipping is its
        release's), in lifecycle order."""
        return [s for s in STATUSES if s in TRANSITIONS[self.status] and s != SHIPPED]

    def ship(self, reason: Reason) -> None:
        """Mark the feature shipped; called when its release ships."""
        if self.status != DONE:
            raise RuleViolation(
                f"Feature '{self.title}' is {self.status} and cannot become shipped: only a "
                "done feature ships, with its release."
            )
        self.record(self.StatusChanged, reason, old_status=self.status, status=SHIPPED)

    def restore_status(self, status: str, reverts: UUID, reason: Reason) -> None:
        """Put back the status that decision ``reverts`` replaced: a correction made by that
        decision's reversal, not a lifecycle move, so it may go back (accepted → proposed).
        Shipping stays final, and a rejected feature is in no release."""
        self._ensure_known(status)
        if SHIPPED in (status, self.status):
            raise RuleViolation(
                f"Feature '{self.title}' is {self.status}: a shipped feature stays shipped, "
                "and only shipping its release makes a feature shipped."
            )
        if status == self.status:
            raise RuleViolation(f"Feature '{self.title}' is already {status}.")
        if status == REJECTED and self.release_id is not None:
            raise RuleViolation(
                f"Feature '{self.title}' is scheduled in a release; a rejected feature is in "
                "no release: unschedule it first."
            )
        self.record(self.StatusChanged, reason, old_status=self.status, status=status,
                    reverts=reverts)

    def _ensure_known(self, status: str) -> None:
        if status not in TRANSITIONS:
            raise InvalidCommand(
                f"Unknown status '{status}'. Use one of: {', '.join(STATUSES)}."
            )

    # Scheduling

    def schedule(self, release_id: UUID, reason: Reason) -> None:
        """Schedule into ``release_id``, or move there from the current release."""
        if self.status in UNSCHEDULABLE:
            raise RuleViolation(
                f"Feature '{self.title}' is {self.status} and cannot be scheduled."
            )
        if self.release_id == release_id:
            raise RuleViolation(f"Feature '{self.title}' is already scheduled in that release.")
        self.record(self.Scheduled, reason, old_release_id=self.release_id, release_id=release_id)

    def unschedule(self, reason: Reason) -> None:
        """Take the feature out of its release, back to the backlog."""
        if self.release_id is None:
            raise RuleViolation(f"Feature '{self.title}' is not scheduled in any release.")
        if self.status == SHIPPED:
            raise RuleViolation(f"Feature '{self.title}' has shipped; it stays in its release.")
        self.record(self.Unscheduled, reason, old_release_id=self.release_id)

    # Priority and details

    def change_priority(self, priority: float, reason: Reason) -> None:
        """Set a new priority (higher is more important)."""
        new = valid_priority(priority)
        if new == self.priority:
            raise RuleViolation(f"Feature '{self.title}' already has priority {new:g}.")
        self.record(self.PriorityChanged, reason, old_priority=self.priority, priority=new)

    def score_priority(self, method: str, inputs: Mapping[str, float], reason: Reason) -> None:
        """Set the priority from a RICE or WSJF score (``method`` e.g. ``rice`` or ``rice.v1``)."""
        result = scoring.score(method, inputs)
        new = valid_priority(result.value)
        if new == self.priority and self.score == {"formula": result.formula,
                                                   "inputs": result.inputs}:
            raise RuleViolation(
                f"Feature '{self.title}' already has that {result.formula} score ({new:g})."
            )
        self.record(self.PriorityScored, reason, formula=result.formula,
                    inputs=result.inputs, old_priority=self.priority, priority=new)

    def revise_details(self, reason: Reason, **fields: str | None) -> None:
        """Revise title, problem, business_value and/or benefit; unchanged fields are ignored."""
        limits = {"title": TITLE_MAX, "problem": TEXT_MAX, "business_value": TEXT_MAX,
                  "benefit": TEXT_MAX}
        changes: dict[str, dict[str, str]] = {}
        for name, value in fields.items():
            if name not in limits:
                raise InvalidCommand(f"'{name}' is not a revisable detail of a feature.")
            if value is None:
                continue
            new = required_text(value, f"The {name.replace('_', ' ')}", limits[name])
            if new != getattr(self, name):
                changes[name] = {"old": getattr(self, name), "new": new}
        if not changes:
            raise RuleViolation("Nothing to revise: every given detail already has that value.")
        self.record(self.DetailsRevised, reason, changes=changes)

    # Requirements

    def add_requirement(self, text: str, acceptance_criteria: list[str], reason: Reason) -> str:
        """Add a requirement; returns its id (``R1``, ``R2``… never reused)."""
        if len(self.requirements) >= MAX_REQUIREMENTS:
            raise RuleViolation(f"A feature has at most {MAX_REQUIREMENTS} requirements.")
        body = requirement(text, acceptance_criteria)
        requirement_id = f"R{self.requirement_count + 1}"
        self.record(self.RequirementAdded, reason, requirement_id=requirement_id, **body)
        return requirement_id

    def revise_requirement(
        self, requirement_id: str, text: str, acceptance_criteria: list[str], reason: Reason
    ) -> None:
        """Replace a requirement's text and acceptance criteria."""
        old = self._requirement(requirement_id)
        body = requirement(text, acceptance_criteria)
        if body == old:
            raise RuleViolation(f"Requirement {requirement_id} already reads exactly that.")
        self.record(
            self.RequirementRevised,
            reason,
            requirement_id=requirement_id,
            old_text=old["text"],
            old_acceptance_criteria=list(old["acceptance_criteria"]),
            **body,
        )

    def remove_requirement(self, requirement_id: str, reason: Reason) -> None:
        """Remove a requirement; it stays in the history."""
        old = self._requirement(requirement_id)
        self.record(
            self.RequirementRemoved,
            reason,
            requirement_id=requirement_id,
            old_text=old["text"],
            old_acceptance_criteria=list(old["acceptance_criteria"]),
        )

    def _requirement(self, requirement_id: str) -> dict[str, Any]:
        try:
            return self.requirements[requirement_id]
        except KeyError:
            known = ", ".join(self.requirements) or "none"
            raise RuleViolation(
                f"Feature '{self.title}' has no requirement {requirement_id} (it has: {known})."
            ) from None
