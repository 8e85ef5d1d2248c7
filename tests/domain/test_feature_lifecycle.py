"""The feature lifecycle: proposed → accepted → in_progress → done → shipped, rejected, deferred."""

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
    TRANSITIONS,
    Feature,
)
from tests.support.builders import ACTOR, because, feature_history
from tests.support.gwt import given, then_events, then_refused, when

#: The lifecycle as the product brief describes it, written out independently of the code.
ALLOWED = {
    (PROPOSED, ACCEPTED), (PROPOSED, REJECTED), (PROPOSED, DEFERRED),
    (ACCEPTED, IN_PROGRESS), (ACCEPTED, REJECTED), (ACCEPTED, DEFERRED),
    (IN_PROGRESS, DONE), (IN_PROGRESS, DEFERRED),
    (DONE, IN_PROGRESS),
    (DEFERRED, PROPOSED), (DEFERRED, ACCEPTED),
    (REJECTED, PROPOSED),
}
ALL_MOVES = [(old, new) for old in STATUSES for new in STATUSES if new != SHIPPED]


def test_the_lifecycle_table_is_the_one_the_tests_describe() -> None:
    in_code = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}

    assert in_code == ALLOWED | {(DONE, SHIPPED)}


def test_a_new_feature_is_proposed() -> None:
    assert given(*feature_history()).status == PROPOSED


@pytest.mark.parametrize(("old", "new"), sorted(m for m in ALL_MOVES if m in ALLOWED))
def test_an_allowed_status_change_records_the_old_and_new_status(old: str, new: str) -> None:
    feature = given(*feature_history(old))

    events = when(feature.change_status, new, because("Planning meeting"))

    then_events(events, (Feature.StatusChanged, {
        "old_status": old, "status": new, "actor": ACTOR, "rationale": "Planning meeting",
    }))
    assert feature.status == new


@pytest.mark.parametrize(("old", "new"), sorted(m for m in ALL_MOVES if m not in ALLOWED))
def test_a_status_change_the_lifecycle_does_not_allow_is_refused(old: str, new: str) -> None:
    feature = given(*feature_history(old))

    with then_refused(RuleViolation, f"is {old} and cannot become {new}", feature):
        feature.change_status(new, because())


def test_the_refusal_lists_the_statuses_a_feature_can_move_to() -> None:
    feature = given(*feature_history(IN_PROGRESS))

    with then_refused(RuleViolation, "From in_progress it can become: deferred, done", feature):
        feature.change_status(ACCEPTED, because())


def test_a_shipped_feature_is_final() -> None:
    feature = given(*feature_history(SHIPPED))

    with then_refused(RuleViolation, r"it can become: none \(it is final\)", feature):
        feature.change_status(IN_PROGRESS, because())


@pytest.mark.parametrize("old", STATUSES)
def test_a_feature_cannot_be_marked_shipped_directly(old: str) -> None:
    feature = given(*feature_history(old))

    with then_refused(RuleViolation, "ship the release it is scheduled in", feature):
        feature.change_status(SHIPPED, because())


def test_a_done_feature_ships_with_its_release() -> None:
    feature = given(*feature_history(DONE))

    events = when(feature.ship, because("Release 2.0 shipped"))

    then_events(events, (Feature.StatusChanged, {"old_status": DONE, "status": SHIPPED}))


@pytest.mark.parametrize("old", [s for s in STATUSES if s != DONE])
def test_only_a_done_feature_can_ship(old: str) -> None:
    feature = given(*feature_history(old))

    with then_refused(RuleViolation, f"is {old} and cannot become shipped", feature):
        feature.ship(because())


def test_an_unknown_status_is_refused_with_the_known_ones() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, "Unknown status 'started'. Use one of: proposed, ", feature):
        feature.change_status("started", because())


# What a refusal offers, the same call can do


@pytest.mark.parametrize("old", STATUSES)
def test_a_refusal_offers_only_moves_the_same_call_then_makes(old: str) -> None:
    feature = given(*feature_history(old))
    with pytest.raises(RuleViolation) as refused:  # no status moves to itself
        feature.change_status(DONE if old == SHIPPED else old, because())
    offered = str(refused.value).split("it can become: ")[1].split(";")[0].split(" (")[0]
    offered = offered.rstrip(".")

    for status in [] if offered == "none" else offered.split(", "):
        again = given(*feature_history(old))
        then_events(when(again.change_status, status, because()),
                    (Feature.StatusChanged, {"old_status": old, "status": status}))


def test_from_done_the_refusal_offers_in_progress_and_says_it_ships_with_its_release() -> None:
    feature = given(*feature_history(DONE))

    with then_refused(RuleViolation, "From done it can become: in_progress; it ships with its "
                      "release, when that release ships.", feature):
        feature.change_status(ACCEPTED, because())


@pytest.mark.parametrize("old", STATUSES)
def test_the_moves_a_feature_offers_are_the_table_s_without_shipping(old: str) -> None:
    feature = given(*feature_history(old))

    assert set(feature.next_statuses) == {new for o, new in ALLOWED if o == old}
