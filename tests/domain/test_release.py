"""Release: a target date that slips or is pulled in; shipped or cancelled, then closed."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.errors import InvalidCommand, RuleViolation
from domain.release import NAME_MAX, Release
from tests.support.builders import ACTOR, MARCH_1, PRODUCT_ID, a_release, because
from tests.support.clock import SimulatedClock, stamping_with
from tests.support.gwt import given, recorded, then_events, then_refused, when

FEATURE_ID = uuid4()
#: When the releases here are planned (and shipped), unless a test moves the clock on.
MARCH_3_9AM = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[SimulatedClock]:
    yield from stamping_with(SimulatedClock(MARCH_3_9AM))


def shipped(release: Release) -> None:
    release.ship(date(2027, 3, 3), because())


def cancelled(release: Release) -> None:
    release.cancel(because())


def test_planning_a_release_records_its_name_theme_and_target_date() -> None:
    events = when(Release.plan, product_id=PRODUCT_ID, name=" 2.0 ", theme="Exports",
                  target_date=MARCH_1, actor=ACTOR)

    then_events(events, (Release.Created, {
        "product_id": PRODUCT_ID, "name": "2.0", "theme": "Exports", "target_date": MARCH_1,
        "actor": ACTOR,
    }))
    release = given(*events)
    assert release.is_open
    assert release.feature_ids == []


def test_a_release_needs_a_name() -> None:
    with then_refused(InvalidCommand, "The release name must not be empty"):
        a_release(name="")


def test_a_release_name_has_a_length_limit() -> None:
    with then_refused(InvalidCommand, f"at most {NAME_MAX} characters"):
        a_release(name="v" * (NAME_MAX + 1))


def test_a_later_target_date_is_a_slip_with_a_positive_number_of_days() -> None:
    release = given(*recorded(a_release()))

    events = when(release.change_target_date, date(2027, 3, 15),
                  because("Vendor API late", "https://status.vendor/incident/42"))

    then_events(events, (Release.TargetDateChanged, {
        "old_target_date": MARCH_1, "target_date": date(2027, 3, 15), "delta_days": 14,
        "actor": ACTOR, "rationale": "Vendor API late",
        "evidence": ["https://status.vendor/incident/42"], "product_id": PRODUCT_ID,
    }))
    assert release.target_date == date(2027, 3, 15)


def test_an_earlier_target_date_is_a_pull_in_with_a_negative_number_of_days() -> None:
    release = given(*recorded(a_release()))

    events = when(release.change_target_date, date(2027, 2, 26), because("Scope cut"))

    then_events(events, (Release.TargetDateChanged, {
        "old_target_date": MARCH_1, "target_date": date(2027, 2, 26), "delta_days": -3,
    }))


def test_changing_to_the_same_target_date_is_refused() -> None:
    release = given(*recorded(a_release()))

    with then_refused(RuleViolation, "already targets 2027-03-01; give a different date", release):
        release.change_target_date(MARCH_1, because())


def test_shipping_records_the_actual_date() -> None:
    release = given(*recorded(a_release()))

    events = when(release.ship, date(2027, 3, 3), because("All green"))

    then_events(events, (Release.Shipped, {
        "shipped_on": date(2027, 3, 3), "rationale": "All green",
    }))
    assert release.state == "shipped"
    assert not release.is_open


def test_a_release_ships_on_a_day_that_has_begun_somewhere_on_earth(
        clock: SimulatedClock) -> None:
    release = given(*recorded(a_release()))

    with then_refused(InvalidCommand, "cannot have shipped on 2027-03-04: that day is in the "
                      r"future \(the latest date anywhere on Earth is 2027-03-03\)", release):
        release.ship(date(2027, 3, 4), because())

    clock.jump(hours=1)  # 10:00 UTC: March 4 has begun at UTC+14
    events = when(release.ship, date(2027, 3, 4), because())
    then_events(events, (Release.Shipped, {"shipped_on": date(2027, 3, 4)}))


@pytest.mark.parametrize("day", [date(2027, 3, 1), date(1, 1, 1)])
def test_a_release_cannot_ship_before_the_day_it_was_planned(day: date) -> None:
    release = given(*recorded(a_release()))

    with then_refused(InvalidCommand, f"cannot have shipped on {day.isoformat()}: it was "
                      r"planned later, on 2027-03-03 \(UTC\)", release):
        release.ship(day, because())


def test_a_release_may_ship_on_the_day_before_it_was_planned_in_utc_somewhere_behind_utc(
        ) -> None:
    release = given(*recorded(a_release()))  # 9:00 UTC is still March 2 at UTC-12

    events = when(release.ship, date(2027, 3, 2), because())

    then_events(events, (Release.Shipped, {"shipped_on": date(2027, 3, 2)}))


def test_cancelling_records_who_and_why() -> None:
    release = given(*recorded(a_release()))

    events = when(release.cancel, because("Folded into 3.0"))

    then_events(events, (Release.Cancelled, {"actor": ACTOR, "rationale": "Folded into 3.0"}))
    assert release.state == "cancelled"


def test_adding_and_removing_a_feature_is_recorded_on_the_release() -> None:
    release = given(*recorded(a_release()))

    then_events(when(release.add_feature, FEATURE_ID, because()),
                (Release.FeatureAdded, {"feature_id": FEATURE_ID}))
    then_events(when(release.remove_feature, FEATURE_ID, because()),
                (Release.FeatureRemoved, {"feature_id": FEATURE_ID}))
    assert release.feature_ids == []


def test_a_feature_cannot_be_added_twice() -> None:
    release = given(*recorded(a_release(), lambda r: r.add_feature(FEATURE_ID, because())))

    with then_refused(RuleViolation, "already in release '2.0'", release):
        release.add_feature(FEATURE_ID, because())


def test_a_feature_not_in_the_release_cannot_be_removed() -> None:
    release = given(*recorded(a_release()))

    with then_refused(RuleViolation, "not in release '2.0'", release):
        release.remove_feature(FEATURE_ID, because())


@pytest.mark.parametrize(("close", "state"), [(shipped, "shipped"), (cancelled, "cancelled")])
def test_a_closed_release_takes_no_scope_and_no_date_change(close: Any, state: str) -> None:
    release = given(*recorded(
        a_release(), lambda r: r.add_feature(FEATURE_ID, because()), close))

    with then_refused(RuleViolation, f"is {state}; you can no longer schedule features", release):
        release.add_feature(uuid4(), because())
    with then_refused(RuleViolation, f"is {state}; you can no longer move features out", release):
        release.remove_feature(FEATURE_ID, because())
    with then_refused(RuleViolation, f"is {state}; you can no longer change its target", release):
        release.change_target_date(date(2027, 4, 1), because())


@pytest.mark.parametrize(("close", "state"), [(shipped, "shipped"), (cancelled, "cancelled")])
def test_a_closed_release_cannot_be_shipped_or_cancelled_again(close: Any, state: str) -> None:
    release = given(*recorded(a_release(), close))

    with then_refused(RuleViolation, f"is {state}; you can no longer ship it", release):
        release.ship(date(2027, 5, 1), because())
    with then_refused(RuleViolation, f"is {state}; you can no longer cancel it", release):
        release.cancel(because())
