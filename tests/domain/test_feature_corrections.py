"""Rejecting or deferring takes a feature out of its release; a reversal puts a status back
by a correction, outside the forward lifecycle (pure domain: given / when / then)."""

from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, RuleViolation
from domain.feature import (
    ACCEPTED,
    DEFERRED,
    DONE,
    IN_PROGRESS,
    PROPOSED,
    REJECTED,
    SHIPPED,
    STATUSES,
    Feature,
)
from tests.support.builders import a_release_id, because, feature_history, schedule_in
from tests.support.gwt import given, then_events, then_refused, when

REVERSED_DECISION = uuid4()


# Rejecting or deferring a scheduled feature


@pytest.mark.parametrize(("old", "new"), [(ACCEPTED, REJECTED), (PROPOSED, REJECTED),
                                          (ACCEPTED, DEFERRED), (IN_PROGRESS, DEFERRED)])
def test_rejecting_or_deferring_a_scheduled_feature_first_takes_it_out_of_its_release(
        old: str, new: str) -> None:
    release_id = a_release_id()
    feature = given(*feature_history(old, schedule_in(release_id)))

    events = when(feature.change_status, new, because("Not this year"))

    then_events(events,
                (Feature.Unscheduled, {"old_release_id": release_id,
                                       "rationale": "Not this year"}),
                (Feature.StatusChanged, {"old_status": old, "status": new,
                                         "rationale": "Not this year", "reverts": None}))
    assert (feature.status, feature.release_id) == (new, None)


@pytest.mark.parametrize("new", [REJECTED, DEFERRED])
def test_rejecting_or_deferring_a_backlog_feature_only_changes_its_status(new: str) -> None:
    feature = given(*feature_history(ACCEPTED))

    then_events(when(feature.change_status, new, because()),
                (Feature.StatusChanged, {"old_status": ACCEPTED, "status": new}))


@pytest.mark.parametrize(("old", "new"), [(PROPOSED, ACCEPTED), (ACCEPTED, IN_PROGRESS),
                                          (IN_PROGRESS, DONE), (DONE, IN_PROGRESS)])
def test_other_moves_leave_a_scheduled_feature_in_its_release(old: str, new: str) -> None:
    release_id = a_release_id()
    feature = given(*feature_history(old, schedule_in(release_id)))

    then_events(when(feature.change_status, new, because()),
                (Feature.StatusChanged, {"old_status": old, "status": new}))
    assert feature.release_id == release_id


def test_a_refused_rejection_leaves_the_feature_in_its_release() -> None:
    release_id = a_release_id()
    feature = given(*feature_history(IN_PROGRESS, schedule_in(release_id)))

    with then_refused(RuleViolation, "is in_progress and cannot become rejected", feature):
        feature.change_status(REJECTED, because())
    assert feature.release_id == release_id


# Corrections


@pytest.mark.parametrize(("old", "new"), [(PROPOSED, ACCEPTED), (ACCEPTED, PROPOSED),
                                          (DONE, IN_PROGRESS), (IN_PROGRESS, ACCEPTED),
                                          (REJECTED, ACCEPTED), (DEFERRED, DONE)])
def test_a_correction_puts_a_status_back_whichever_way_it_goes_and_names_the_decision(
        old: str, new: str) -> None:
    feature = given(*feature_history(old))

    events = when(feature.restore_status, new, REVERSED_DECISION, because("Undo"))

    then_events(events, (Feature.StatusChanged, {
        "old_status": old, "status": new, "reverts": REVERSED_DECISION, "rationale": "Undo"}))
    assert feature.status == new


@pytest.mark.parametrize("old", [s for s in STATUSES if s != SHIPPED])
def test_a_correction_never_makes_a_feature_shipped(old: str) -> None:
    feature = given(*feature_history(old))

    with then_refused(RuleViolation, "only shipping its release makes a feature shipped",
                      feature):
        feature.restore_status(SHIPPED, REVERSED_DECISION, because())


def test_a_shipped_feature_stays_shipped_even_by_a_correction() -> None:
    feature = given(*feature_history(SHIPPED))

    with then_refused(RuleViolation, "a shipped feature stays shipped", feature):
        feature.restore_status(DONE, REVERSED_DECISION, because())


def test_a_correction_to_the_status_the_feature_has_is_refused() -> None:
    feature = given(*feature_history(ACCEPTED))

    with then_refused(RuleViolation, "is already accepted", feature):
        feature.restore_status(ACCEPTED, REVERSED_DECISION, because())


def test_a_correction_cannot_leave_a_rejected_feature_in_a_release() -> None:
    feature = given(*feature_history(PROPOSED, schedule_in(a_release_id())))

    with then_refused(RuleViolation, "a rejected feature is in no release: unschedule it "
                      "first", feature):
        feature.restore_status(REJECTED, REVERSED_DECISION, because())


def test_a_correction_to_deferred_leaves_a_scheduled_feature_where_it_is() -> None:
    release_id = a_release_id()
    feature = given(*feature_history(ACCEPTED, schedule_in(release_id)))

    then_events(when(feature.restore_status, DEFERRED, REVERSED_DECISION, because()),
                (Feature.StatusChanged, {"status": DEFERRED, "reverts": REVERSED_DECISION}))
    assert feature.release_id == release_id


def test_a_correction_to_an_unknown_status_is_refused() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, "Unknown status 'started'", feature):
        feature.restore_status("started", REVERSED_DECISION, because())


def test_a_status_stored_before_corrections_existed_reads_as_a_lifecycle_move() -> None:
    stored = feature_history(ACCEPTED)
    del stored[-1].__dict__["reverts"]  # as the library rebuilds an event stored without it

    assert given(*stored).status == ACCEPTED
    assert stored[-1].reverts is None
