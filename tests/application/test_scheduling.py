"""Scheduling across aggregates: the feature and the releases it touches change together."""

from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, RuleViolation
from domain.feature import ACCEPTED, DEFERRED, IN_PROGRESS, REJECTED, Feature
from domain.release import Release
from services.commands.application import DecisionLog
from tests.application.scenario import events_between
from tests.support.builders import ACTOR, LEDGER, because, scheduled, today


def test_scheduling_writes_the_feature_and_the_release_in_one_save(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    feature_id, release_id = LEDGER.a_feature(log, product_id), LEDGER.a_release(log, product_id)
    before = log.event_count()

    outcome = log.schedule_feature(feature_id, release_id, because("Fits 1.0"))

    assert (outcome.id, outcome.version, outcome.position) == (feature_id, 2, before + 2)
    stored = events_between(log, before, outcome.position)
    assert {type(e) for e in stored} == {Feature.Scheduled, Release.FeatureAdded}
    assert log.get_release(release_id).feature_ids == [feature_id]


def test_moving_a_feature_writes_it_and_both_releases_in_one_transaction(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    first = LEDGER.a_release(log, product_id, "1.0")
    second = LEDGER.a_release(log, product_id, "2.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), first)
    before = log.event_count()

    outcome = log.schedule_feature(feature_id, second, because("1.0 is full", "https://jira/42"))

    assert outcome.position == before + 3 == log.event_count()
    stored = events_between(log, before, outcome.position)
    assert sorted((type(e).__qualname__, e.originator_version) for e in stored) == [
        ("Feature.Scheduled", 3), ("Release.FeatureAdded", 2), ("Release.FeatureRemoved", 3),
    ]
    assert {e.rationale for e in stored} == {"1.0 is full"}
    assert all(e.actor == ACTOR and e.evidence == ["https://jira/42"] for e in stored)
    assert log.get_feature(feature_id).release_id == second
    assert log.get_release(first).feature_ids == []
    assert log.get_release(second).feature_ids == [feature_id]


def test_a_move_whose_last_part_is_refused_writes_nothing(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    first = LEDGER.a_release(log, product_id, "1.0")
    closed = LEDGER.a_release(log, product_id, "Beta")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), first)
    log.ship_release(closed, today(), because())
    before = log.event_count()

    with pytest.raises(RuleViolation, match="'Beta' is shipped; you can no longer schedule"):
        log.schedule_feature(feature_id, closed, because())

    assert log.event_count() == before
    assert log.get_feature(feature_id).release_id == first
    assert log.get_release(first).feature_ids == [feature_id]


def test_a_move_of_a_rejected_feature_leaves_its_release_untouched(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    first = LEDGER.a_release(log, product_id, "1.0")
    second = LEDGER.a_release(log, product_id, "2.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), first)
    log.change_feature_status(feature_id, REJECTED, because())
    first_version, before = log.get_release(first).version, log.event_count()

    with pytest.raises(RuleViolation, match="is rejected and cannot be scheduled"):
        log.schedule_feature(feature_id, second, because())

    assert log.event_count() == before
    assert log.get_release(first).version == first_version


def test_scheduling_into_an_unknown_release_is_an_invalid_command(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    feature_id = LEDGER.a_feature(log, product_id)
    before = log.event_count()

    with pytest.raises(InvalidCommand, match="No release with id"):
        log.schedule_feature(feature_id, uuid4(), because())
    with pytest.raises(InvalidCommand, match="No release with id"):
        log.schedule_feature(feature_id, product_id, because())

    assert log.event_count() == before


def test_scheduling_into_another_products_release_is_refused(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log, "Ledger"))
    foreign = LEDGER.a_release(log, LEDGER.a_product(log, "Atlas"), "Atlas 1")
    before = log.event_count()

    with pytest.raises(InvalidCommand, match="Release 'Atlas 1' belongs to another product"):
        log.schedule_feature(feature_id, foreign, because())

    assert log.event_count() == before


@pytest.mark.parametrize("close", ["ship", "cancel"])
def test_scheduling_into_a_closed_release_is_a_rule_violation(log: DecisionLog,
                                                                close: str) -> None:
    product_id = LEDGER.a_product(log)
    feature_id, release_id = LEDGER.a_feature(log, product_id), LEDGER.a_release(log, product_id)
    if close == "ship":
        log.ship_release(release_id, today(), because())
    else:
        log.cancel_release(release_id, because())
    before = log.event_count()

    with pytest.raises(RuleViolation, match="you can no longer schedule features into it"):
        log.schedule_feature(feature_id, release_id, because())

    assert log.event_count() == before


def test_unscheduling_returns_a_feature_to_the_backlog(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), release_id)
    before = log.event_count()

    outcome = log.unschedule_feature(feature_id, because("Not this quarter"))

    assert outcome.position == before + 2
    assert log.get_feature(feature_id).release_id is None
    assert log.get_release(release_id).feature_ids == []


def test_unscheduling_a_feature_in_the_backlog_is_refused(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))

    with pytest.raises(RuleViolation, match="is not scheduled in any release"):
        log.unschedule_feature(feature_id, because())


def test_a_retired_product_takes_no_new_features_or_releases(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    log.retire_product(product_id, because("Sunset"))
    before = log.event_count()

    with pytest.raises(RuleViolation, match="is retired"):
        LEDGER.a_feature(log, product_id)
    with pytest.raises(RuleViolation, match="is retired"):
        LEDGER.a_release(log, product_id)

    assert log.event_count() == before


def test_status_changes_go_through_the_application(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))

    outcome = log.change_feature_status(feature_id, ACCEPTED, because())

    assert outcome.version == 2
    assert log.get_feature(feature_id).status == ACCEPTED


@pytest.mark.parametrize("status", [REJECTED, DEFERRED])
def test_rejecting_or_deferring_a_scheduled_feature_takes_it_out_of_its_release_in_one_save(
        log: DecisionLog, status: str) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id, "1.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id, status=ACCEPTED), release_id)
    before = log.event_count()

    outcome = log.change_feature_status(feature_id, status, because("Not this year"))

    assert outcome.position == before + 3 == log.event_count()
    stored = events_between(log, before, outcome.position)
    assert [type(e).__qualname__ for e in stored if isinstance(e, Feature.Event)] == [
        "Feature.Unscheduled", "Feature.StatusChanged"]
    assert {type(e) for e in stored} - {Feature.Unscheduled, Feature.StatusChanged} == {
        Release.FeatureRemoved}
    assert {e.rationale for e in stored} == {"Not this year"}
    feature = log.get_feature(feature_id)
    assert (feature.status, feature.release_id) == (status, None)
    assert log.get_release(release_id).feature_ids == []


def test_other_status_changes_leave_a_scheduled_feature_in_its_release(
        log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id, "1.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id, status=ACCEPTED), release_id)

    log.change_feature_status(feature_id, IN_PROGRESS, because())

    assert log.get_feature(feature_id).release_id == release_id
    assert log.get_release(release_id).feature_ids == [feature_id]


def test_a_deferred_feature_can_be_planned_into_a_later_release(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    first = LEDGER.a_release(log, product_id, "1.0")
    later = LEDGER.a_release(log, product_id, "2.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), first)
    log.change_feature_status(feature_id, DEFERRED, because("Not in 1.0"))

    log.schedule_feature(feature_id, later, because("Deferred to 2.0"))

    assert log.get_feature(feature_id).release_id == later
    assert log.get_release(first).feature_ids == []
