"""Accepting a decision applies its roadmap changes with it: one transaction, all or nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.clock import use_clock
from domain.decision import ACCEPTED, PROPOSED, SUPERSEDED, Decision
from domain.errors import InvalidCommand, RuleViolation
from services.commands.application import DecisionLog
from services.commands.change_requests import (
    ChangePriority,
    ChangeStatus,
    ChangeTargetDate,
    MoveFeature,
)
from services.store.errors import NotFound
from tests.decisions.scenario import KIM, PAT, a_roadmap, events_after
from tests.support.builders import MARCH_1, by, today


def test_accepting_applies_every_change_in_one_save_and_each_event_names_the_decision(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    before = log.event_count()

    outcome = log.accept_decision(decision, [
        MoveFeature(road.csv, road.r2),
        ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=14)),
        ChangePriority(road.pdf, 9),
    ], actor=KIM)

    events = events_after(log, before)
    assert sorted(map(str, (e.originator_id for e in events))) == sorted(
        map(str, [decision, road.csv, road.r1, road.r2, road.r1, road.pdf]))
    assert outcome.position == before + len(events)  # one save: the acceptance is last
    assert {e.decision_id for e in events} == {decision}
    assert {e.actor for e in events} == {KIM}
    assert road.release_of(road.csv) == road.r2
    assert road.target_of(road.r1) == MARCH_1 + timedelta(days=14)
    assert log.get_feature(road.pdf).priority == 9


def test_the_acceptance_records_each_change_with_the_value_it_replaced_and_the_names(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()

    log.accept_decision(decision, [MoveFeature(road.csv, road.r2),
                                   ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=14))],
                        actor=KIM)

    accepted = log.get_decision(decision)
    assert accepted.status == ACCEPTED
    assert accepted.changes == [
        {"kind": "move_feature", "feature_id": road.csv, "feature_title": "CSV export",
         "old_release_id": road.r1, "old_release_name": "1.0",
         "release_id": road.r2, "release_name": "2.0"},
        {"kind": "change_target_date", "release_id": road.r1, "release_name": "1.0",
         "old_target_date": MARCH_1, "target_date": MARCH_1 + timedelta(days=14)},
    ]


def test_changes_in_one_decision_see_each_other(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()

    log.accept_decision(decision, [MoveFeature(road.csv, road.r2), MoveFeature(road.pdf, road.r2),
                                   MoveFeature(road.csv, road.r3)], actor=KIM)

    assert log.get_release(road.r2).feature_ids == [road.pdf]
    assert log.get_release(road.r3).feature_ids == [road.csv]
    assert log.get_decision(decision).changes[2]["old_release_id"] == road.r2


def test_a_decision_whose_second_change_is_invalid_applies_nothing(log: DecisionLog) -> None:
    road = a_roadmap(log)
    log.ship_release(road.r3, today(), by(PAT))
    decision = road.propose()
    before = log.event_count()

    with pytest.raises(RuleViolation, match=(
            r"Change 2 of 3 \(move feature 'PDF export' to release '3.0'\) is refused: "
            r"Release '3.0' is shipped; you can no longer schedule features into it. "
            r"Nothing was applied.")):
        log.accept_decision(decision, [MoveFeature(road.csv, road.r2),
                                       MoveFeature(road.pdf, road.r3),
                                       ChangePriority(road.pdf, 9)], actor=KIM)

    assert log.event_count() == before
    assert road.release_of(road.csv) == road.r1
    assert log.get_decision(decision).status == PROPOSED


def test_a_change_naming_an_unknown_feature_is_refused_and_applies_nothing(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    before = log.event_count()

    with pytest.raises(InvalidCommand, match=f"Change 2 of 2 .* No feature with id {road.r1}"):
        log.accept_decision(decision, [ChangePriority(road.pdf, 9),
                                       ChangeStatus(road.r1, "accepted")], actor=KIM)

    assert log.event_count() == before


def test_a_decision_changes_only_its_own_products_roadmap(log: DecisionLog) -> None:
    road, other = a_roadmap(log), a_roadmap(log, name="Other")
    decision = road.propose()

    with pytest.raises(InvalidCommand, match="The feature 'CSV export' belongs to another product"):
        log.accept_decision(decision, [ChangePriority(other.csv, 9)], actor=KIM)


def test_a_decision_can_be_accepted_without_roadmap_changes_but_only_once(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [], actor=KIM)

    with pytest.raises(RuleViolation, match="already accepted"):
        log.accept_decision(decision, [], actor=KIM)


def test_accepting_an_unknown_decision_is_not_found(log: DecisionLog) -> None:
    road = a_roadmap(log)
    with pytest.raises(NotFound, match=f"No decision with id {road.csv}"):
        log.accept_decision(road.csv, [], actor=KIM)


def test_a_rejected_decision_changes_nothing_and_cannot_be_accepted(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.reject_decision(decision, by(KIM, "Not now."))

    with pytest.raises(RuleViolation, match="already rejected"):
        log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    assert road.release_of(road.csv) == road.r1


# Superseding


def test_accepting_a_newer_decision_supersedes_the_earlier_one(log: DecisionLog) -> None:
    road = a_roadmap(log)
    earlier = road.propose()
    log.accept_decision(earlier, [MoveFeature(road.csv, road.r2)], actor=KIM)
    newer = road.propose(title="CSV export in 3.0", supersedes=earlier)

    log.accept_decision(newer, [MoveFeature(road.csv, road.r3)], actor=KIM)

    old = log.get_decision(earlier)
    assert (old.status, old.superseded_by) == (SUPERSEDED, newer)
    assert log.get_decision(newer).supersedes == earlier
    assert road.release_of(road.csv) == road.r3


def test_superseding_an_unknown_decision_is_refused(log: DecisionLog) -> None:
    road = a_roadmap(log)
    with pytest.raises(InvalidCommand, match=f"No decision with id {road.pdf}"):
        road.propose(supersedes=road.pdf)


def test_only_an_accepted_decision_can_be_superseded(log: DecisionLog) -> None:
    road = a_roadmap(log)
    proposal = road.propose()
    with pytest.raises(RuleViolation, match="only an accepted decision can be superseded"):
        road.propose(supersedes=proposal)


def test_two_decisions_cannot_both_supersede_the_same_one(log: DecisionLog) -> None:
    road = a_roadmap(log)
    earlier = road.propose()
    log.accept_decision(earlier, [], actor=KIM)
    first, second = road.propose(supersedes=earlier), road.propose(supersedes=earlier)
    log.accept_decision(first, [], actor=KIM)

    with pytest.raises(RuleViolation, match=f"already superseded by decision {first}"):
        log.accept_decision(second, [], actor=KIM)
    assert log.get_decision(second).status == PROPOSED


def test_decision_events_are_published_under_their_public_types(log: DecisionLog) -> None:
    from contract.changes import change_from_event

    road = a_roadmap(log)
    before = log.event_count()
    decision = road.propose()
    log.accept_decision(decision, [ChangePriority(road.pdf, 9)], actor=KIM)

    changes = [change_from_event(e) for e in events_after(log, before)]
    # In the order they happened: the change, then the acceptance that caused it.
    assert [c.type for c in changes] == ["decision.proposed", "feature.priority_changed",
                                         "decision.accepted"]
    assert changes[1].caused_by is not None
    assert changes[1].caused_by["event_id"] == changes[2].event_id
    assert changes[1].correlation_id == changes[2].correlation_id
    assert changes[2].data["changes"] == [{"kind": "change_priority", "feature_id": str(road.pdf),
                                           "feature_title": "PDF export",
                                           "old_priority": 3.0, "priority": 9.0}]
    assert isinstance(log.get_decision(decision), Decision)


def test_a_decision_that_loses_a_race_is_retried_whole_on_fresh_state(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    raced: list[bool] = []

    def clock_that_races() -> datetime:
        """While the decision is being decided, someone else slips 1.0 and saves first."""
        if not raced:
            raced.append(True)
            log.change_target_date(road.r1, MARCH_1 + timedelta(days=7), by(PAT, "Vendor late."))
        return datetime.now(tz=UTC)

    before = log.event_count()
    with use_clock(clock_that_races):
        log.accept_decision(decision, [MoveFeature(road.csv, road.r2),
                                       ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=14))],
                            actor=KIM)

    changes = log.get_decision(decision).changes
    assert changes[1]["old_target_date"] == MARCH_1 + timedelta(days=7)
    rival, *ours = events_after(log, before)
    assert (rival.decision_id, rival.rationale) == (None, "Vendor late.")
    assert len(ours) == 5  # acceptance, scheduled, removed from 1.0, added to 2.0, 1.0 slipped
    assert {e.decision_id for e in ours} == {decision}
