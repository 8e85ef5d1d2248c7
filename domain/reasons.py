"""The *why* behind a change: who decided it, the rationale and the evidence."""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.errors import InvalidCommand
from domain.text import printable_text

MAX_RATIONALE = 4000
MAX_EVIDENCE_ITEMS = 20
MAX_EVIDENCE_LENGTH = 2000


@dataclass(frozen=True)
class Reason:
    """Decision context carried by every change after creation.

    ``actor`` is the authenticated identity; it never comes from a request body.
    ``decision_id`` links the change to a first-class decision record, if any.
    """

    actor: str
    rationale: str
    evidence: tuple[str, ...] = field(default=())
    decision_id: UUID | None = None

    def __post_init__(self) -> None:
        if isinstance(self.evidence, str):
            raise InvalidCommand("Evidence is a list of links or notes, not a single string.")
        # Freeze a caller's list: what is checked here is what the event records later.
        object.__setattr__(self, "evidence", tuple(self.evidence))
        if not self.actor.strip():
            raise InvalidCommand("A change needs an actor: the authenticated user making it.")
        if not self.rationale.strip():
            raise InvalidCommand(
                "A change needs a rationale: say why this change is being made."
            )
        printable_text(self.rationale, "The rationale")
        if len(self.rationale) > MAX_RATIONALE:
            raise InvalidCommand(f"The rationale is longer than {MAX_RATIONALE} characters.")
        if len(self.evidence) > MAX_EVIDENCE_ITEMS:
            raise InvalidCommand(f"At most {MAX_EVIDENCE_ITEMS} evidence items per change.")
        for item in self.evidence:
            if not item.strip() or len(item) > MAX_EVIDENCE_LENGTH:
                raise InvalidCommand(
                    f"Each evidence item must be a non-empty link or note of at most "
                    f"{MAX_EVIDENCE_LENGTH} characters."
                )
            printable_text(item, "An evidence item")

    def as_event_fields(self) -> dict[str, Any]:
        """The fields every change event records about its decision context."""
        return {
            "actor": self.actor,
            "rationale": self.rationale,
            "evidence": list(self.evidence),
            "decision_id": self.decision_id,
        }
