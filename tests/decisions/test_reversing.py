"""Reversing a decision: compensating changes, refused when later changes are in the way."""

from datetime import timedelta
from uuid import UUID

import pytest

from domain.decision import ACCEPTED, REVERSED
from domain.errors import RuleViolation
from services.commands.application import DecisionLog
from services.commands.change_requests import (
    ChangePriority,
    ChangeStatus,
    ChangeTargetDate,
    MoveFeature,
)
from services.store.errors import NotFound
from tests.decisions.scenario import KIM, PAT, Roadmap, a_roadmap, events_after
from tests.support.builders import MARCH_1, by, today

SLIPPED = MARCH_1 + timedelta(days=14)


def a_decision_moving_csv_and_slipping_1_0(road: Roadmap) -> UUID:
    decision = road.propose()
    road.log.accept_decision(decision, [
        MoveFeature(road.csv, road.r2),
        MoveFeature(road.pdf, road.r2),
        ChangeTargetDate(road.r1, SLIPPED),
        ChangePriority(road.pdf, 9),
    ], actor=KIM)
    return decision


def test_reversing_puts_back_every_release_date_and_priority_the_decision_changed(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = a_decision_moving_csv_and_slipping_1_0(road)

    log.reverse_decision(decision, by(PAT, "Launch partners asked for CSV."))

    assert road.release_of(road.csv) == road.r1
    assert road.release_of(road.pdf) is None
    assert road.target_of(road.r1) == MARCH_1
    assert log.get_feature(road.pdf).priority == 3
    assert log.get_release(road.r2).feature_ids == []


def test_the_reversal_is_a_new_accepted_decision_linked_both_ways(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = a_decision_moving_csv_and_slipping_1_0(road)

    reversal = log.get_decision(
        log.reverse_decision(decision, by(PAT, "Launch partners asked for CSV.")).id)

    original = log.get_decision(decision)
    assert (original.status, original.reversed_by) == (REVERSED, reversal.id)
    assert (reversal.status, reversal.reverses) == (ACCEPTED, decision)
    assert reversal.title == "Reverse: Move CSV export to 2.0"
    assert [c["kind"] for c in reversal.changes] == [
        "change_priority", "change_target_date", "unschedule_feature", "move_feature"]


def test_compensating_events_name_the_reversing_decision_and_the_one_reversed(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = a_decision_moving_csv_and_slipping_1_0(road)
    before = log.event_count()

    reversal = log.reverse_decision(decision, by(PAT, "Launch partners asked for CSV.")).id

    roadmap_events = [e for e in events_after(log, before)
                      if e.originator_id not in (decision, reversal)]
    assert roadmap_events
    assert {e.decision_id for e in roadmap_events} == {reversal}
    assert {e.rationale for e in roadmap_events} == {
        "Reverses decision 'Move CSV export to 2.0': Launch partners asked for CSV."}


def test_reversal_is_refused_when_the_feature_moved_again_since(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    log.schedule_feature(road.csv, road.r3, by(KIM, "2.0 is full."))
    before = log.event_count()

    with pytest.raises(RuleViolation, match=(
            r"Decision 'Move CSV export to 2.0' cannot be reversed exactly: feature 'CSV "
            r"export' changed after it: its release is now '3.0', not '2.0' as this decision "
            r"left it. That change was made on \d{4}-\d\d-\d\d by kim@example.com "
            r"\(\"2.0 is full.\"\). Reverse or undo that change first.")):
        log.reverse_decision(decision, by(PAT, "Undo."))

    assert log.event_count() == before
    assert log.get_decision(decision).status == ACCEPTED


def test_reversal_names_the_later_decision_that_is_in_the_way(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [ChangeTargetDate(road.r1, SLIPPED)], actor=KIM)
    later = road.propose(title="Slip 1.0 again")
    log.accept_decision(later, [ChangeTargetDate(road.r1, SLIPPED + timedelta(days=7))],
                        actor=KIM)

    with pytest.raises(RuleViolation, match=(
            r"release '1.0' changed after it: its target date is now 2027-03-22, not "
            r"2027-03-15 as this decision left it. That change was made on .* by "
            rf"kim@example.com \(decision 'Slip 1.0 again', {later}\)")):
        log.reverse_decision(decision, by(PAT, "Undo."))


def test_reversal_is_refused_when_the_old_release_has_shipped(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    log.ship_release(road.r1, today(), by(PAT))

    with pytest.raises(RuleViolation, match=(
            r"cannot be reversed exactly: move feature 'CSV export' to release '1.0' is "
            r"refused: Release '1.0' is shipped; you can no longer schedule features into it.")):
        log.reverse_decision(decision, by(PAT, "Undo."))


def test_reversing_a_status_decision_puts_the_status_back_by_a_correction(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="Accept PDF export")
    log.accept_decision(decision, [ChangeStatus(road.pdf, "accepted")], actor=KIM)
    before = log.event_count()

    reversal = log.reverse_decision(decision, by(PAT, "Undo.")).id

    assert log.get_feature(road.pdf).status == "proposed"
    corrected = [e for e in events_after(log, before) if e.originator_id == road.pdf]
    assert [(e.old_status, e.status, e.reverts, e.decision_id) for e in corrected] == [
        ("accepted", "proposed", decision, reversal)]
    assert log.get_decision(reversal).changes == [
        {"kind": "change_status", "feature_id": road.pdf, "feature_title": "PDF export",
         "old_status": "accepted", "status": "proposed", "reverts": decision}]


def test_a_decision_that_took_a_feature_through_several_statuses_is_reversed_to_the_first(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [ChangeStatus(road.csv, s)
                                   for s in ("accepted", "in_progress", "done")], actor=KIM)

    reversal = log.get_decision(log.reverse_decision(decision, by(PAT, "Undo.")).id)

    assert log.get_feature(road.csv).status == "proposed"
    assert [(c["old_status"], c["status"]) for c in reversal.changes] == [
        ("done", "in_progress"), ("in_progress", "accepted"), ("accepted", "proposed")]


def test_reversing_the_rejection_of_a_scheduled_feature_puts_it_back_in_its_release(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="Reject CSV export")
    log.accept_decision(decision, [ChangeStatus(road.csv, "rejected")], actor=KIM)
    assert [c["kind"] for c in log.get_decision(decision).changes] == [
        "unschedule_feature", "change_status"]
    assert log.get_release(road.r1).feature_ids == []

    log.reverse_decision(decision, by(PAT, "The customer came back."))

    csv = log.get_feature(road.csv)
    assert (csv.status, csv.release_id) == ("proposed", road.r1)
    assert log.get_release(road.r1).feature_ids == [road.csv]


def test_reversing_a_status_decision_is_refused_when_the_status_changed_again_since(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="Accept PDF export")
    log.accept_decision(decision, [ChangeStatus(road.pdf, "accepted")], actor=KIM)
    log.change_feature_status(road.pdf, "in_progress", by(KIM, "Work started."))
    before = log.event_count()

    with pytest.raises(RuleViolation, match=(
            r"Decision 'Accept PDF export' cannot be reversed exactly: feature 'PDF export' "
            r"changed after it: its status is now in_progress, not accepted as this decision "
            r"left it. That change was made on \d{4}-\d\d-\d\d by kim@example.com "
            r"\(\"Work started.\"\). Reverse or undo that change first.")):
        log.reverse_decision(decision, by(PAT, "Undo."))
    assert log.event_count() == before


def test_reversing_a_rejection_is_refused_when_its_release_shipped_since_and_names_the_ship(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="Reject CSV export")
    log.accept_decision(decision, [ChangeStatus(road.csv, "rejected")], actor=KIM)
    log.ship_release(road.r1, today(), by(KIM, "Release train left."))
    before = log.event_count()

    with pytest.raises(RuleViolation, match=(
            r"move feature 'CSV export' to release '1.0' is refused: Release '1.0' is shipped; "
            r"you can no longer schedule features into it. In the way: release '1.0' shipped "
            r"on \d{4}-\d\d-\d\d by kim@example.com \(\"Release train left.\"\). "
            r"Nothing was changed.")):
        log.reverse_decision(decision, by(PAT, "Undo."))
    assert log.event_count() == before
    assert log.get_feature(road.csv).status == "rejected"


def test_reversing_an_unrejection_is_refused_when_the_feature_was_scheduled_since(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    log.change_feature_status(road.pdf, "rejected", by(PAT, "Out of scope."))
    decision = road.propose(title="Bring PDF export back")
    log.accept_decision(decision, [ChangeStatus(road.pdf, "proposed")], actor=KIM)
    later = road.propose(title="PDF export in 2.0")
    log.accept_decision(later, [MoveFeature(road.pdf, road.r2)], actor=KIM)

    with pytest.raises(RuleViolation, match=(
            r"put feature 'PDF export' back to rejected is refused: Feature 'PDF export' is "
            r"scheduled in a release; a rejected feature is in no release: unschedule it "
            r"first. In the way: feature 'PDF export' was scheduled into release '2.0' on "
            rf".* by kim@example.com \(decision 'PDF export in 2.0', {later}\).")):
        log.reverse_decision(decision, by(PAT, "Undo."))


def test_reversing_a_decision_twice_is_refused(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = a_decision_moving_csv_and_slipping_1_0(road)
    reversal = log.reverse_decision(decision, by(PAT, "Undo.")).id
    before = log.event_count()

    with pytest.raises(RuleViolation, match=(
            rf"already reversed by decision {reversal}; a decision can be reversed only once")):
        log.reverse_decision(decision, by(PAT, "Undo again."))
    assert log.event_count() == before


def test_reversing_an_unknown_decision_is_not_found(log: DecisionLog) -> None:
    road = a_roadmap(log)
    with pytest.raises(NotFound, match="No decision with id"):
        log.reverse_decision(road.csv, by(PAT, "Undo."))


def test_a_proposal_cannot_be_reversed(log: DecisionLog) -> None:
    road = a_roadmap(log)
    with pytest.raises(RuleViolation, match="is proposed; only an accepted decision can be "
                       "reversed"):
        log.reverse_decision(road.propose(), by(PAT, "Undo."))


def test_a_proposed_reversal_compensates_when_it_is_accepted(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    reversal = road.propose(title="Back to 1.0", reverses=decision)
    assert road.release_of(road.csv) == road.r2

    log.accept_decision(reversal, [ChangePriority(road.csv, 8)], actor=KIM)

    assert road.release_of(road.csv) == road.r1
    assert log.get_feature(road.csv).priority == 8
    assert log.get_decision(decision).reversed_by == reversal
