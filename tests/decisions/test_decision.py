"""Decision: proposing, accepting, rejecting, superseding and reversing (pure domain)."""

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest

from domain.decision import ACCEPTED, PROPOSED, REJECTED, REVERSED, SUPERSEDED, Decision
from domain.errors import InvalidCommand, RuleViolation
from tests.support.builders import ACTOR, DECISION, a_decision, because, decision_details
from tests.support.gwt import given, recorded, then_events, then_refused, when

CHANGES = [{"kind": "move_feature", "feature_id": uuid4(), "old_release_id": None,
            "release_id": uuid4()}]


def history(*commands: Callable[[Decision], object]) -> list[Any]:
    """A decision proposed, then ``commands`` run on it: its events."""
    return recorded(a_decision(), *commands)


def accepted() -> Decision:
    return given(*history(lambda d: d.accept(CHANGES, because())))


def test_proposing_a_decision_records_its_context_options_choice_and_people() -> None:
    events = when(Decision.propose, **DECISION)

    then_events(events, (Decision.Created, {
        "title": "Move CSV export to 2.0",
        "chosen_option": "Move CSV export to 2.0",
        "deciders": ["alex@example.com"],
        "consulted": ["sales@example.com"],
        "supersedes": None,
        "reverses": None,
        "actor": ACTOR,
    }))
    assert events[0].options[1] == {"name": "Move CSV export to 2.0", "description": "",
                                    "pros": ["1.0 ships on time"],
                                    "cons": ["Analysts wait a quarter"]}
    assert given(*events).status == PROPOSED


def test_the_chosen_option_must_be_one_of_the_options_considered() -> None:
    with then_refused(InvalidCommand, "'Drop CSV' is not one of the options considered: "
                      "Ship CSV export in 1.0, Move CSV export to 2.0"):
        a_decision(chosen_option="Drop CSV")


def test_options_need_different_names() -> None:
    with then_refused(InvalidCommand, "different name"):
        a_decision(options=[{"name": "A"}, {"name": " a "}], chosen_option="A")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"options": []}, "from 1 to 20 options"),
    ({"deciders": []}, "Deciders must name at least one person"),
    ({"deciders": ["kim", "kim"]}, "Deciders lists someone twice"),
    ({"title": " "}, "The decision title must not be empty"),
    ({"context": ""}, "The context"),
    ({"rationale": ""}, "The rationale must not be empty"),
    ({"options": [{"name": "A", "pros": "fast"}], "chosen_option": "A"}, "list of texts"),
])
def test_an_incomplete_proposal_is_refused(overrides: dict, message: str) -> None:
    with then_refused(InvalidCommand, message):
        a_decision(**overrides)


def test_accepting_records_the_changes_applied_with_it_and_who_accepted() -> None:
    past = history()
    decision = given(*past)

    events = when(decision.accept, CHANGES, decision.reason("kim@example.com"))

    then_events(events, (Decision.Accepted, {
        "changes": CHANGES, "actor": "kim@example.com", "decision_id": decision.id,
        "rationale": DECISION["rationale"], "evidence": DECISION["evidence"],
    }))
    assert given(*past, *events).status == ACCEPTED


def test_a_decision_is_accepted_only_once() -> None:
    decision = accepted()
    with then_refused(RuleViolation, "already accepted; only a proposed decision can be "
                      "accepted", decision):
        decision.accept([], because())


def test_a_rejected_decision_cannot_be_accepted() -> None:
    decision = given(*history(lambda d: d.reject(because("Too risky."))))
    assert decision.status == REJECTED
    with then_refused(RuleViolation, "already rejected", decision):
        decision.accept([], because())


def test_an_accepted_decision_can_be_superseded_by_a_newer_one() -> None:
    decision, newer = accepted(), uuid4()

    events = when(decision.mark_superseded, newer, because())

    then_events(events, (Decision.Superseded, {"superseded_by": newer}))
    assert decision.status == SUPERSEDED


def test_a_proposal_cannot_be_superseded_or_reversed() -> None:
    decision = given(*history())
    with then_refused(RuleViolation, "is proposed; only an accepted decision can be "
                      "superseded", decision):
        decision.mark_superseded(uuid4(), because())
    with then_refused(RuleViolation, "only an accepted decision can be reversed", decision):
        decision.mark_reversed(uuid4(), because())


def test_a_decision_is_reversed_only_once() -> None:
    decision, reversal = accepted(), uuid4()
    decision.mark_reversed(reversal, because())
    assert decision.status == REVERSED

    with then_refused(RuleViolation, f"already reversed by decision {reversal}; a decision "
                      "can be reversed only once"):
        decision.mark_reversed(uuid4(), because())


def test_a_superseded_decision_cannot_be_reversed() -> None:
    decision, newer = accepted(), uuid4()
    decision.mark_superseded(newer, because())

    with then_refused(RuleViolation, f"already superseded by decision {newer}"):
        decision.mark_reversed(uuid4(), because())


def test_the_reason_for_its_changes_carries_the_decisions_rationale_evidence_and_id() -> None:
    decision = a_decision(**decision_details())

    reason = decision.reason("kim@example.com")

    assert (reason.actor, reason.rationale, reason.evidence, reason.decision_id) == (
        "kim@example.com", DECISION["rationale"], tuple(DECISION["evidence"]), decision.id)


def test_replaying_does_not_share_the_recorded_changes_with_the_event() -> None:
    decision = accepted()
    decision.changes[0]["release_id"] = None

    assert given(*when(Decision.propose, **DECISION)).changes == []
    assert CHANGES[0]["release_id"] is not None


def test_a_decision_knows_when_it_was_proposed_accepted_and_reversed() -> None:
    events = history(lambda d: d.accept(CHANGES, because()),
                     lambda d: d.mark_reversed(uuid4(), because()))

    decision = given(*events)

    assert decision.proposed_at == events[0].timestamp
    assert decision.accepted_at == events[1].timestamp
    assert decision.reversed_at == events[2].timestamp
    assert (decision.rejected_at, decision.superseded_at) == (None, None)


def test_a_decision_knows_when_it_was_superseded_or_rejected() -> None:
    superseded = history(lambda d: d.accept(CHANGES, because()),
                         lambda d: d.mark_superseded(uuid4(), because()))
    rejected = history(lambda d: d.reject(because()))

    assert given(*superseded).superseded_at == superseded[2].timestamp
    assert given(*rejected).rejected_at == rejected[1].timestamp
    assert given(*rejected).accepted_at is None


def test_a_decision_restored_from_a_snapshot_taken_before_it_kept_times_has_none() -> None:
    decision = given(*history())
    state = {k: v for k, v in vars(decision).items() if not k.endswith("_at")}

    restored = Decision.__new__(Decision)
    restored.__dict__.update(state)

    assert (restored.accepted_at, restored.reversed_at) == (None, None)
    assert restored.proposed_at == decision.proposed_at
