"""Lineage: the decisions that shaped an entity, and what a decision changed."""

from datetime import timedelta

import pytest

from domain.decision import ACCEPTED, REVERSED, SUPERSEDED
from services.commands.application import DecisionLog
from services.commands.change_requests import (
    ChangePriority,
    ChangeStatus,
    ChangeTargetDate,
    MoveFeature,
)
from services.store.errors import NotFound
from tests.decisions.scenario import KIM, PAT, a_roadmap
from tests.support.builders import MARCH_1, by


def test_an_entitys_lineage_lists_the_decisions_that_shaped_it_in_order(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    first = road.propose(title="CSV to 2.0")
    log.accept_decision(first, [MoveFeature(road.csv, road.r2)], actor=KIM)
    log.change_priority(road.csv, 7, by(PAT))  # a change without a decision
    second = road.propose(title="CSV to 3.0", supersedes=first)
    log.accept_decision(second, [MoveFeature(road.csv, road.r3), ChangePriority(road.csv, 8)],
                        actor=KIM)

    steps = log.entity_lineage(road.csv)

    assert [(s.decision_id, s.title, s.status) for s in steps] == [
        (first, "CSV to 2.0", SUPERSEDED), (second, "CSV to 3.0", ACCEPTED)]
    assert [[c.type for c in s.changes] for s in steps] == [
        ["feature.scheduled"], ["feature.scheduled", "feature.priority_changed"]]
    assert steps[1].changes[0].data["old_release_id"] == str(road.r2)


def test_a_decisions_lineage_shows_what_it_changed_and_who_changed_that_again(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="CSV to 2.0, slip 1.0")
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2),
                                   ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=14))],
                        actor=KIM)
    later = road.propose(title="Pull 1.0 back in")
    log.accept_decision(later, [ChangeTargetDate(road.r1, MARCH_1)], actor=KIM)
    unrelated = road.propose(title="PDF first")
    log.accept_decision(unrelated, [ChangePriority(road.pdf, 9)], actor=KIM)

    lineage = log.decision_lineage(decision)

    assert sorted((c.entity_id, c.type) for c in lineage.changed) == sorted([
        (str(road.csv), "feature.scheduled"),
        (str(road.r1), "release.feature_removed"),
        (str(road.r1), "release.target_date_changed"),
        (str(road.r2), "release.feature_added"),
    ])
    assert [(s.decision_id, s.title) for s in lineage.changed_again_by] == [
        (later, "Pull 1.0 back in")]
    assert [c.data["delta_days"] for c in lineage.changed_again_by[0].changes] == [-14]


def test_a_reversed_decisions_lineage_links_to_its_reversal(log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    reversal = log.reverse_decision(decision, by(PAT, "Undo.")).id

    original, undoing = log.decision_lineage(decision), log.decision_lineage(reversal)

    assert (original.status, original.reversed_by) == (REVERSED, reversal)
    assert [s.decision_id for s in original.changed_again_by] == [reversal]
    assert undoing.reverses == decision
    assert {c.type for c in undoing.changed} == {
        "decision.reversed", "feature.scheduled", "release.feature_removed",
        "release.feature_added"}
    assert [s.decision_id for s in log.entity_lineage(road.csv)] == [decision, reversal]


def test_the_lineage_of_an_unknown_entity_is_not_found(log: DecisionLog) -> None:
    road = a_roadmap(log)
    with pytest.raises(NotFound):
        log.decision_lineage(road.csv)
    with pytest.raises(NotFound):
        log.entity_lineage(road.product.__class__(int=1))


def test_only_a_later_decision_that_changed_the_same_field_of_the_same_entity_counts(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose(title="CSV to 2.0")
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    for title, change in [("CSV first", ChangePriority(road.csv, 9)),
                          ("PDF to 2.0 too", MoveFeature(road.pdf, road.r2)),
                          ("PDF to 1.0 after all", MoveFeature(road.pdf, road.r1)),
                          ("Slip 2.0", ChangeTargetDate(road.r2, MARCH_1 + timedelta(days=120))),
                          ("Start CSV", ChangeStatus(road.csv, "accepted"))]:
        log.accept_decision(road.propose(title=title), [change], actor=KIM)
    assert log.decision_lineage(decision).changed_again_by == []

    moved = road.propose(title="CSV to 3.0")
    log.accept_decision(moved, [MoveFeature(road.csv, road.r3)], actor=KIM)

    again = log.decision_lineage(decision).changed_again_by
    assert [s.decision_id for s in again] == [moved]
    assert sorted(c.type for c in again[0].changes) == [
        "feature.scheduled", "release.feature_removed"]


def test_a_decisions_changes_carry_the_names_they_had_when_it_was_accepted(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2),
                                   ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=7))],
                        actor=KIM)

    log.revise_feature(road.csv, by(PAT, "Clearer."), title="CSV and TSV export")

    changes = log.get_decision(decision).changes
    assert [(c.get("feature_title"), c.get("old_release_name"), c["release_name"])
            for c in changes] == [("CSV export", "1.0", "2.0"), (None, None, "1.0")]


def test_lineage_answers_say_when_each_decision_was_proposed_accepted_and_reversed(
        log: DecisionLog) -> None:
    road = a_roadmap(log)
    decision = road.propose()
    log.accept_decision(decision, [MoveFeature(road.csv, road.r2)], actor=KIM)
    reversal = log.reverse_decision(decision, by(PAT, "Undo.")).id
    stored, undoing = log.get_decision(decision), log.get_decision(reversal)

    lineage = log.decision_lineage(decision)
    step = lineage.changed_again_by[0]

    assert (lineage.proposed_at, lineage.accepted_at, lineage.reversed_at) == (
        stored.created_on, stored.accepted_at, stored.reversed_at)
    assert lineage.proposed_at <= lineage.accepted_at <= lineage.reversed_at  # type: ignore[operator]
    assert lineage.superseded_at is None
    assert (step.decision_id, step.proposed_at, step.accepted_at, step.reversed_at) == (
        reversal, undoing.created_on, undoing.accepted_at, None)
    assert [s.accepted_at for s in log.entity_lineage(road.csv)] == [
        stored.accepted_at, undoing.accepted_at]
