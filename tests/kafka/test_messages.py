"""CloudEvents encoding and roadmap-change derivation, on changes built from real events."""

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.changes import Change
from contract.cloudevents import (
    NotOurMessage,
    change_from_message,
    change_message,
    messages_for,
    roadmap_change_from_message,
)
from contract.roadmap_changes import roadmap_change_from
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings
from tests.kafka.streams import INTERVIEWS, WIKI, stored_changes
from tests.support.builders import ACTOR, ATLAS, because, today


@pytest.fixture
def changes(tmp_path: Path) -> dict[str, list[Change]]:
    """The changes of a small history, by public type."""
    app = build_application(Settings(data_dir=tmp_path))
    product = ATLAS.a_product(app)
    q1 = app.plan_release(product, actor=ACTOR, name="Q1", target_date=date(2027, 3, 1)).id
    q2 = app.plan_release(product, actor=ACTOR, name="Q2", target_date=date(2027, 6, 1)).id
    feature = ATLAS.a_feature(app, product, "Search")
    app.schedule_feature(feature, q1, because("First.", WIKI))
    app.schedule_feature(feature, q2, because("Moved.", WIKI))
    app.unschedule_feature(feature, because("Backlog.", WIKI))
    app.change_feature_status(feature, "accepted", INTERVIEWS)
    app.change_target_date(q1, date(2027, 3, 11), because("Slip.", WIKI))
    app.change_target_date(q2, date(2027, 5, 30), because("Pull in.", WIKI))
    app.ship_release(q1, today(), INTERVIEWS)  # early
    app.cancel_release(q2, INTERVIEWS)
    result: dict[str, list[Change]] = {}
    for change in stored_changes(app):
        result.setdefault(change.type, []).append(change)
    app.close()
    return result


def test_a_change_survives_the_trip_through_cloudevents_headers_and_value(
        changes: dict[str, list[Change]]) -> None:
    for group in changes.values():
        for change in group:
            message = change_message(change, "pdl")
            assert change_from_message(message.headers, message.value) == change


def test_a_reader_ignores_fields_added_later_within_v1(changes: dict[str, list[Change]]) -> None:
    change = changes["feature.scheduled"][0]
    message = change_message(change, "pdl")
    newer = orjson.dumps({**orjson.loads(message.value), "added_in_v1_3": "ignored"})
    assert change_from_message(message.headers, newer) == change


def test_records_that_are_not_our_cloudevents_are_refused(
        changes: dict[str, list[Change]]) -> None:
    message = change_message(changes["feature.scheduled"][0], "pdl")
    headers = dict(message.headers)
    without_id = [(k, v) for k, v in message.headers if k != "ce_id"]
    with pytest.raises(NotOurMessage, match="ce_id"):
        change_from_message(without_id, message.value)
    v2 = [(k, b"com.pdl.feature.scheduled.v2" if k == "ce_type" else v) for k, v in headers.items()]
    with pytest.raises(NotOurMessage, match="version"):
        change_from_message(v2, message.value)
    roadmap = messages_for(changes["feature.scheduled"][0], "pdl")[1]
    with pytest.raises(NotOurMessage, match="roadmap"):
        change_from_message(roadmap.headers, roadmap.value)
    assert roadmap_change_from_message(roadmap.headers, roadmap.value).type == (
        "roadmap.feature_scheduled")


def derived(change: Change) -> dict[str, Any]:
    roadmap_change = roadmap_change_from(change)
    assert roadmap_change is not None
    return dataclasses.asdict(roadmap_change)


def test_scheduling_into_a_release_and_moving_between_releases_are_told_apart(
        changes: dict[str, list[Change]]) -> None:
    first, move = changes["feature.scheduled"]
    scheduled, moved = derived(first), derived(move)
    assert scheduled["type"] == "roadmap.feature_scheduled"
    assert scheduled["before"] == {"release_id": None}
    assert moved["type"] == "roadmap.feature_moved"
    assert moved["before"] == {"release_id": scheduled["after"]["release_id"]}
    assert moved["after"]["release_id"] != moved["before"]["release_id"]
    assert (moved["rationale"], moved["actor"], moved["evidence"]) == (
        "Moved.", ACTOR, ["https://wiki/x"])


def test_a_slip_and_a_pull_in_carry_old_and_new_dates_and_the_delta(
        changes: dict[str, list[Change]]) -> None:
    slip, pull_in = (derived(c) for c in changes["release.target_date_changed"])
    assert (slip["type"], slip["before"], slip["after"], slip["details"]) == (
        "roadmap.release_slipped", {"target_date": "2027-03-01"},
        {"target_date": "2027-03-11"}, {"delta_days": 10})
    assert (pull_in["type"], pull_in["details"]) == ("roadmap.release_pulled_in",
                                                     {"delta_days": -2})


def test_unscheduling_status_shipping_and_cancelling_alter_the_roadmap(
        changes: dict[str, list[Change]]) -> None:
    assert derived(changes["feature.unscheduled"][-1])["after"] == {"release_id": None}
    status = derived(changes["feature.status_changed"][0])
    assert (status["before"], status["after"]) == ({"status": "proposed"},
                                                   {"status": "accepted"})
    shipped = derived(changes["release.shipped"][0])
    assert shipped["after"] == {"state": "shipped", "shipped_on": today().isoformat()}
    assert derived(changes["release.cancelled"][0])["after"] == {"state": "cancelled"}


def test_release_scope_mirrors_and_other_changes_derive_no_roadmap_change(
        changes: dict[str, list[Change]]) -> None:
    for kind in ("release.feature_added", "release.feature_removed", "product.created",
                 "release.planned", "feature.proposed"):
        assert all(roadmap_change_from(c) is None for c in changes[kind]), kind


def test_a_roadmap_change_has_a_stable_id_of_its_own_linked_to_its_source(
        changes: dict[str, list[Change]]) -> None:
    change = changes["release.shipped"][0]
    first, again = derived(change), derived(change)
    assert first["change_id"] == again["change_id"] != change.event_id
    assert first["source_event_id"] == change.event_id
    assert first["product_id"] == change.product_id
    assert first["log_position"] == change.log_position


def test_a_malformed_value_is_refused_as_not_ours(changes: dict[str, list[Change]]) -> None:
    message = change_message(changes["feature.scheduled"][0], "pdl")
    for value in (b"not json", b"[1, 2]", orjson.dumps({"event_id": "x"})):
        with pytest.raises(NotOurMessage):
            change_from_message(message.headers, value)
