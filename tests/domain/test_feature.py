"""Feature: proposal, scheduling, priority, details and requirements."""

import math

import pytest

from domain.errors import InvalidCommand, RuleViolation
from domain.feature import (
    ACCEPTED,
    CRITERION_MAX,
    DEFERRED,
    DONE,
    MAX_CRITERIA,
    MAX_PRIORITY,
    MAX_REQUIREMENTS,
    PROPOSED,
    REJECTED,
    SHIPPED,
    TEXT_MAX,
    TITLE_MAX,
    Feature,
)
from tests.support.builders import (
    ACTOR,
    FEATURE,
    PRODUCT_ID,
    a_feature,
    a_release_id,
    because,
    feature_history,
    move_to,
    schedule_in,
)
from tests.support.gwt import given, then_events, then_refused, when

# Proposing


def test_proposing_a_feature_records_its_details_with_numbered_requirements() -> None:
    events = when(Feature.propose, **FEATURE, priority=7, requirements=[
        {"text": " Export all columns ", "acceptance_criteria": ["Opens in Excel"]},
        {"text": "Export filtered rows"},
    ])

    then_events(events, (Feature.Created, {**FEATURE, "priority": 7.0, "requirements": [
        {"text": "Export all columns", "acceptance_criteria": ["Opens in Excel"]},
        {"text": "Export filtered rows", "acceptance_criteria": []},
    ]}))
    feature = given(*events)
    assert feature.status == PROPOSED
    assert feature.release_id is None
    assert list(feature.requirements) == ["R1", "R2"]


@pytest.mark.parametrize(("field", "what"), [
    ("title", "The feature title"),
    ("problem", r"The problem \(why this feature\)"),
    ("business_value", "The business value"),
    ("benefit", "The customer-facing benefit"),
])
def test_a_feature_needs_every_descriptive_field(field: str, what: str) -> None:
    with then_refused(InvalidCommand, f"{what} must not be empty"):
        a_feature(**{field: " \n "})


@pytest.mark.parametrize(("field", "limit"), [
    ("title", TITLE_MAX), ("problem", TEXT_MAX), ("business_value", TEXT_MAX),
    ("benefit", TEXT_MAX),
])
def test_oversize_feature_text_is_refused_with_its_limit(field: str, limit: int) -> None:
    with then_refused(InvalidCommand, f"must be at most {limit} characters"):
        a_feature(**{field: "x" * (limit + 1)})


def test_text_at_the_limit_is_accepted() -> None:
    assert a_feature(title="x" * TITLE_MAX).title == "x" * TITLE_MAX


@pytest.mark.parametrize("priority", [-1, -0.5, math.nan, math.inf, MAX_PRIORITY + 1])
def test_a_priority_that_cannot_be_ordered_is_refused(priority: float) -> None:
    with then_refused(InvalidCommand, f"The priority must be a number from 0 to {MAX_PRIORITY}"):
        a_feature(priority=priority)


def test_a_requirement_needs_text() -> None:
    with then_refused(InvalidCommand, "A requirement's text must not be empty"):
        a_feature(requirements=[{"text": "", "acceptance_criteria": []}])


def test_an_empty_acceptance_criterion_is_refused() -> None:
    with then_refused(InvalidCommand, "An acceptance criterion must not be empty"):
        a_feature(requirements=[{"text": "Export", "acceptance_criteria": ["ok", " "]}])


def test_too_many_requirements_are_refused() -> None:
    too_many = [{"text": f"r{i}"} for i in range(MAX_REQUIREMENTS + 1)]

    with then_refused(InvalidCommand, f"at most {MAX_REQUIREMENTS} requirements"):
        a_feature(requirements=too_many)


# Scheduling


def test_scheduling_a_feature_records_the_release_it_went_into() -> None:
    feature = given(*feature_history(ACCEPTED))
    release_id = a_release_id()

    events = when(feature.schedule, release_id, because("Fits the theme"))

    then_events(events, (Feature.Scheduled, {
        "old_release_id": None, "release_id": release_id, "product_id": PRODUCT_ID,
        "rationale": "Fits the theme",
    }))
    assert feature.release_id == release_id


def test_moving_a_feature_records_the_release_it_left_and_the_one_it_joined() -> None:
    first, second = a_release_id(), a_release_id()
    feature = given(*feature_history(ACCEPTED, schedule_in(first)))

    events = when(feature.schedule, second, because("Release 1 is full"))

    then_events(events, (Feature.Scheduled, {"old_release_id": first, "release_id": second}))


def test_scheduling_into_the_release_it_is_already_in_is_refused() -> None:
    release_id = a_release_id()
    feature = given(*feature_history(ACCEPTED, schedule_in(release_id)))

    with then_refused(RuleViolation, "already scheduled in that release", feature):
        feature.schedule(release_id, because())


@pytest.mark.parametrize("status", [PROPOSED, ACCEPTED, DONE, DEFERRED])
def test_an_open_feature_can_be_scheduled(status: str) -> None:
    feature = given(*feature_history(status))

    then_events(when(feature.schedule, a_release_id(), because()), (Feature.Scheduled, {}))


@pytest.mark.parametrize("status", [REJECTED, SHIPPED])
def test_a_rejected_or_shipped_feature_cannot_be_scheduled(status: str) -> None:
    feature = given(*feature_history(status))

    with then_refused(RuleViolation, f"is {status} and cannot be scheduled", feature):
        feature.schedule(a_release_id(), because())


def test_unscheduling_records_the_release_it_left() -> None:
    release_id = a_release_id()
    feature = given(*feature_history(ACCEPTED, schedule_in(release_id)))

    events = when(feature.unschedule, because("Back to the backlog"))

    then_events(events, (Feature.Unscheduled, {"old_release_id": release_id}))
    assert feature.release_id is None


def test_unscheduling_a_feature_in_no_release_is_refused() -> None:
    feature = given(*feature_history(ACCEPTED))

    with then_refused(RuleViolation, "is not scheduled in any release", feature):
        feature.unschedule(because())


def test_a_shipped_feature_stays_in_its_release() -> None:
    feature = given(*feature_history(DONE, schedule_in(a_release_id()), move_to(SHIPPED)))

    with then_refused(RuleViolation, "has shipped; it stays in its release", feature):
        feature.unschedule(because())


# Priority and details


def test_changing_the_priority_records_the_old_and_new_priority() -> None:
    feature = given(*feature_history(priority=3))

    events = when(feature.change_priority, 8, because("Top customer ask"))

    then_events(events, (Feature.PriorityChanged, {"old_priority": 3.0, "priority": 8.0}))


def test_setting_the_same_priority_is_refused() -> None:
    feature = given(*feature_history(priority=3))

    with then_refused(RuleViolation, "already has priority 3", feature):
        feature.change_priority(3.0, because())


@pytest.mark.parametrize("priority", [-1, math.nan])
def test_changing_to_an_invalid_priority_is_refused(priority: float) -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, "The priority must be a number", feature):
        feature.change_priority(priority, because())


def test_revising_details_records_only_the_fields_that_changed() -> None:
    feature = given(*feature_history())

    events = when(feature.revise_details, because("Clearer wording"),
                  title="CSV export", problem=FEATURE["problem"], benefit=None)

    then_events(events, (Feature.DetailsRevised, {
        "changes": {"title": {"old": "Export to CSV", "new": "CSV export"}},
    }))
    assert feature.title == "CSV export"


def test_a_revision_that_changes_nothing_is_refused() -> None:
    feature = given(*feature_history())

    with then_refused(RuleViolation, "Nothing to revise", feature):
        feature.revise_details(because(), title=FEATURE["title"])


def test_only_descriptive_details_can_be_revised() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, "'status' is not a revisable detail", feature):
        feature.revise_details(because(), status="done")


def test_a_revised_title_obeys_the_same_limits() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, "The title must not be empty", feature):
        feature.revise_details(because(), title="")


# Requirements


def test_adding_a_requirement_gives_it_the_next_id() -> None:
    feature = given(*feature_history(requirements=[{"text": "First"}]))

    events = when(feature.add_requirement, "Second", ["Works offline"], because())

    then_events(events, (Feature.RequirementAdded, {
        "requirement_id": "R2", "text": "Second", "acceptance_criteria": ["Works offline"],
        "actor": ACTOR,
    }))


def test_a_removed_requirements_id_is_never_reused() -> None:
    feature = given(*feature_history(
        PROPOSED,
        lambda f: f.add_requirement("One", [], because()),
        lambda f: f.add_requirement("Two", [], because()),
        lambda f: f.remove_requirement("R2", because()),
    ))

    assert feature.add_requirement("Three", [], because()) == "R3"
    assert list(feature.requirements) == ["R1", "R3"]


def test_revising_a_requirement_records_its_old_and_new_text_and_criteria() -> None:
    feature = given(*feature_history(
        requirements=[{"text": "Export", "acceptance_criteria": ["CSV"]}]))

    events = when(feature.revise_requirement, "R1", "Export all", ["CSV", "UTF-8"], because())

    then_events(events, (Feature.RequirementRevised, {
        "requirement_id": "R1", "old_text": "Export", "text": "Export all",
        "old_acceptance_criteria": ["CSV"], "acceptance_criteria": ["CSV", "UTF-8"],
    }))


def test_a_revision_that_leaves_a_requirement_unchanged_is_refused() -> None:
    feature = given(*feature_history(
        requirements=[{"text": "Export", "acceptance_criteria": ["CSV"]}]))

    with then_refused(RuleViolation, "Requirement R1 already reads exactly that", feature):
        feature.revise_requirement("R1", "Export", ["CSV"], because())


def test_removing_a_requirement_keeps_what_it_said_in_the_event() -> None:
    feature = given(*feature_history(
        requirements=[{"text": "Export", "acceptance_criteria": ["CSV"]}]))

    events = when(feature.remove_requirement, "R1", because("Out of scope"))

    then_events(events, (Feature.RequirementRemoved, {
        "requirement_id": "R1", "old_text": "Export", "old_acceptance_criteria": ["CSV"],
    }))
    assert feature.requirements == {}


def test_an_unknown_requirement_is_refused_with_the_known_ids() -> None:
    feature = given(*feature_history(requirements=[{"text": "Export"}]))

    with then_refused(RuleViolation, r"has no requirement R9 \(it has: R1\)", feature):
        feature.remove_requirement("R9", because())
    with then_refused(RuleViolation, "has no requirement R9", feature):
        feature.revise_requirement("R9", "x", [], because())


def test_a_removed_requirement_cannot_be_revised() -> None:
    feature = given(*feature_history(
        PROPOSED, lambda f: f.remove_requirement("R1", because()),
        requirements=[{"text": "Export"}]))

    with then_refused(RuleViolation, r"has no requirement R1 \(it has: none\)", feature):
        feature.revise_requirement("R1", "Export again", [], because())


def test_too_many_acceptance_criteria_are_refused() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, f"at most {MAX_CRITERIA} acceptance criteria", feature):
        feature.add_requirement("Export", ["ok"] * (MAX_CRITERIA + 1), because())


def test_an_oversize_acceptance_criterion_is_refused() -> None:
    feature = given(*feature_history())

    with then_refused(InvalidCommand, f"at most {CRITERION_MAX} characters", feature):
        feature.add_requirement("Export", ["x" * (CRITERION_MAX + 1)], because())


def test_a_feature_with_the_most_requirements_takes_no_more() -> None:
    feature = given(*feature_history(requirements=[{"text": "r"}] * MAX_REQUIREMENTS))

    with then_refused(RuleViolation, f"at most {MAX_REQUIREMENTS} requirements", feature):
        feature.add_requirement("One more", [], because())
