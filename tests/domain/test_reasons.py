"""Every change after creation carries who, why and (optionally) on what evidence."""

import re
from uuid import uuid4

import pytest

from domain.errors import InvalidCommand
from domain.reasons import MAX_EVIDENCE_ITEMS, MAX_EVIDENCE_LENGTH, MAX_RATIONALE, Reason
from tests.support.builders import ACTOR, feature_history
from tests.support.gwt import given, then_events, then_refused, when


@pytest.mark.parametrize("rationale", ["", "   ", "\n\t"])
def test_a_change_without_a_rationale_is_refused(rationale: str) -> None:
    with then_refused(InvalidCommand, "A change needs a rationale: say why"):
        Reason(actor=ACTOR, rationale=rationale)


@pytest.mark.parametrize(("rationale", "evidence", "refused", "found"), [
    ("Because\x00", (), "The rationale", "U+0000"),
    ("Because \x1b[2J", (), "The rationale", "U+001B"),
    ("Because", ("https://wiki/x", "bell\x07"), "An evidence item", "U+0007"),
    ("Because\r\n", (), "The rationale", "U+000D"),
])
def test_a_rationale_or_evidence_with_a_control_character_is_refused(
        rationale: str, evidence: tuple[str, ...], refused: str, found: str) -> None:
    with then_refused(InvalidCommand, re.escape(
            f"{refused} must not contain control characters (found {found})")):
        Reason(actor=ACTOR, rationale=rationale, evidence=evidence)


def test_line_breaks_and_tabs_are_kept_in_a_rationale() -> None:
    assert Reason(actor=ACTOR, rationale="One\n\tTwo").rationale == "One\n\tTwo"


def test_a_change_without_an_actor_is_refused() -> None:
    with then_refused(InvalidCommand, "A change needs an actor"):
        Reason(actor=" ", rationale="Because")


def test_an_oversize_rationale_is_refused() -> None:
    with then_refused(InvalidCommand, f"longer than {MAX_RATIONALE} characters"):
        Reason(actor=ACTOR, rationale="x" * (MAX_RATIONALE + 1))


def test_a_rationale_at_the_limit_is_accepted() -> None:
    assert Reason(actor=ACTOR, rationale="x" * MAX_RATIONALE).rationale


def test_too_many_evidence_items_are_refused() -> None:
    with then_refused(InvalidCommand, f"At most {MAX_EVIDENCE_ITEMS} evidence items"):
        Reason(actor=ACTOR, rationale="Because", evidence=("a",) * (MAX_EVIDENCE_ITEMS + 1))


@pytest.mark.parametrize("item", ["", "  ", "x" * (MAX_EVIDENCE_LENGTH + 1)])
def test_an_empty_or_oversize_evidence_item_is_refused(item: str) -> None:
    with then_refused(InvalidCommand, "Each evidence item must be a non-empty link or note"):
        Reason(actor=ACTOR, rationale="Because", evidence=("https://ok", item))


def test_a_single_string_is_not_mistaken_for_a_list_of_evidence() -> None:
    with then_refused(InvalidCommand, "Evidence is a list of links or notes"):
        Reason(actor=ACTOR, rationale="Because", evidence="https://wiki/x")  # type: ignore[arg-type]


def test_a_reason_keeps_the_evidence_it_was_checked_with() -> None:
    evidence = ["https://wiki/interviews"]
    reason = Reason(actor=ACTOR, rationale="Because", evidence=evidence)  # type: ignore[arg-type]
    evidence.append("")

    assert reason.evidence == ("https://wiki/interviews",)


def test_the_decision_context_is_recorded_on_the_change() -> None:
    decision_id = uuid4()
    feature = given(*feature_history())
    reason = Reason(actor="sam", rationale="Board decision", evidence=("minutes.pdf", "Q3 OKRs"),
                    decision_id=decision_id)

    events = when(feature.change_priority, 9, reason)

    then_events(events, (type(events[0]), {
        "actor": "sam", "rationale": "Board decision", "evidence": ["minutes.pdf", "Q3 OKRs"],
        "decision_id": decision_id,
    }))
