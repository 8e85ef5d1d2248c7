"""Decisions and their histories to start tests from."""

from typing import Any
from uuid import UUID, uuid4

from domain.decision import Decision
from tests.domain.gwt import ACTOR

PRODUCT_ID = UUID("00000000-0000-4000-8000-000000000001")

OPTIONS: list[dict[str, Any]] = [
    {"name": "Ship CSV export in 1.0", "description": "Keep the scope.",
     "pros": ["Analysts stop retyping"], "cons": ["1.0 slips two weeks"]},
    {"name": "Move CSV export to 2.0", "pros": ["1.0 ships on time"],
     "cons": ["Analysts wait a quarter"]},
]

DECISION: dict[str, Any] = {
    "product_id": PRODUCT_ID,
    "title": "Move CSV export to 2.0",
    "context": "1.0 is at risk; CSV export is the largest open item.",
    "options": OPTIONS,
    "chosen_option": "Move CSV export to 2.0",
    "rationale": "Launch partners need 1.0 on its date more than they need CSV.",
    "evidence": ["https://wiki.example.com/launch-partners"],
    "deciders": ["alex@example.com"],
    "consulted": ["sales@example.com"],
    "actor": ACTOR,
}


def decision_details(**overrides: Any) -> dict[str, Any]:
    """The fields of a decision proposal, with ``overrides``."""
    return {**DECISION, **overrides}


def a_decision(**overrides: Any) -> Decision:
    return Decision.propose(**decision_details(**overrides))


def another_decision_id() -> UUID:
    return uuid4()
