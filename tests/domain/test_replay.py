"""The recorded events are the whole truth: replaying them rebuilds the same state."""

from datetime import UTC, date, datetime
from uuid import uuid4

from domain.clock import use_clock
from domain.feature import ACCEPTED, Feature
from tests.support.builders import (
    a_feature,
    a_product,
    a_release,
    a_release_id,
    because,
    schedule_in,
)
from tests.support.gwt import given, recorded, when


def test_replaying_a_products_events_rebuilds_the_same_product() -> None:
    product = a_product()
    events = recorded(product, lambda p: p.revise_vision("V2", because()),
                      lambda p: p.revise_strategy("S2", because()), lambda p: p.retire(because()))

    assert given(*events) == product


def test_replaying_a_features_events_rebuilds_the_same_feature() -> None:
    feature = a_feature(requirements=[{"text": "One", "acceptance_criteria": ["a"]}])
    events = recorded(
        feature,
        lambda f: f.change_status(ACCEPTED, because()),
        schedule_in(a_release_id()),
        schedule_in(a_release_id()),
        lambda f: f.unschedule(because()),
        lambda f: f.change_priority(5, because()),
        lambda f: f.revise_details(because(), benefit="Faster exports"),
        lambda f: f.add_requirement("Two", ["b"], because()),
        lambda f: f.revise_requirement("R1", "One!", ["a", "c"], because()),
        lambda f: f.remove_requirement("R2", because()),
    )

    assert given(*events) == feature
    assert feature.times_scheduled == 2
    assert feature.requirement_count == 2


def test_replaying_a_releases_events_rebuilds_the_same_release() -> None:
    with use_clock(lambda: datetime(2027, 4, 2, 9, 0, tzinfo=UTC)):  # it ships that day
        release = a_release()
        feature_ids = [uuid4(), uuid4()]
        events = recorded(
            release,
            *[lambda r, f=f: r.add_feature(f, because()) for f in feature_ids],
            lambda r: r.remove_feature(feature_ids[0], because()),
            lambda r: r.change_target_date(date(2027, 4, 1), because()),
            lambda r: r.ship(date(2027, 4, 2), because()),
        )

    assert given(*events) == release


def test_events_are_stamped_by_the_domain_clock() -> None:
    then = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)

    with use_clock(lambda: then):
        feature = given(*recorded(a_feature()))
        events = when(feature.change_priority, 4, because())

    assert events[0].timestamp == then
    assert feature.created_on == then


def test_changing_the_requirements_passed_in_changes_neither_event_nor_feature() -> None:
    criteria = ["Opens in Excel"]
    requirements = [{"text": "Export", "acceptance_criteria": criteria}]
    feature = a_feature(requirements=requirements)

    criteria.append("Sneaked in")
    requirements.append({"text": "Sneaked in", "acceptance_criteria": []})
    events = recorded(feature)

    as_proposed = {"text": "Export", "acceptance_criteria": ["Opens in Excel"]}
    assert events[0].requirements == [as_proposed]
    assert feature.requirements == {"R1": as_proposed}


def test_changing_the_criteria_passed_to_a_command_changes_neither_event_nor_feature() -> None:
    feature = given(*recorded(a_feature()))
    criteria = ["Works offline"]
    evidence = ["https://wiki/offline"]

    events = when(feature.add_requirement, "Offline", criteria,
                  because("Field sales", *evidence))
    criteria.append("Sneaked in")
    evidence.append("Sneaked in")

    assert events[0].acceptance_criteria == ["Works offline"]
    assert events[0].evidence == ["https://wiki/offline"]
    assert feature.requirements["R1"]["acceptance_criteria"] == ["Works offline"]


def test_changing_a_features_state_does_not_rewrite_its_recorded_events() -> None:
    feature = a_feature(requirements=[{"text": "Export", "acceptance_criteria": ["CSV"]}])
    feature.add_requirement("Import", ["CSV"], because())
    events = recorded(feature)

    for body in feature.requirements.values():
        body["acceptance_criteria"].append("Mutated state")

    assert isinstance(events[0], Feature.Created)
    assert events[0].requirements[0]["acceptance_criteria"] == ["CSV"]
    assert events[1].acceptance_criteria == ["CSV"]
    assert given(*events).requirements["R2"]["acceptance_criteria"] == ["CSV"]
