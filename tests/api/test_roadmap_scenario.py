"""The issue's HTTP scenario: plan, schedule, move, slip, reject; then read the roadmap
and ask the feature's history why it moved."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.driver import Api
from tests.support.clock import SimulatedClock, stamping_with

JAN_4 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
JAN_5 = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
MOVED_AT = datetime(2027, 2, 10, 14, 30, tzinfo=UTC)
SLIPPED_AT = datetime(2027, 2, 11, 11, 0, tzinfo=UTC)
REJECTED_AT = datetime(2027, 2, 12, 16, 0, tzinfo=UTC)

MOVE_WHY = "Team capacity: CSV export needs the new API, which lands in 1.1"
MOVE_EVIDENCE = ["https://wiki.example.com/capacity-review-2027-02"]
SLIP_WHY = "The vendor's SSO API is delayed by six weeks"
REJECT_WHY = "Not aligned with the vision: we serve planning, not theming"


@pytest.fixture
def clock() -> Iterator[SimulatedClock]:
    """Simulated time: events are stamped with whatever ``now`` is set to."""
    yield from stamping_with(SimulatedClock(JAN_4))


def play_scenario(api: Api, clock: SimulatedClock) -> dict[str, Any]:
    """The scenario; returns the ids and the position of its last write."""
    clock.now = JAN_4
    product = api.create_product()["id"]
    share = api.propose(product, "Share roadmaps", priority=3)["id"]
    export = api.propose(product, "Export to CSV", priority=2)["id"]
    dark = api.propose(product, "Dark mode", priority=1)["id"]
    r1 = api.plan(product, "1.0", "2027-03-01")["id"]
    r2 = api.plan(product, "1.1", "2027-06-01")["id"]
    clock.now = JAN_5
    api.schedule(share, r1, "Core of the first release")
    api.schedule(export, r1, "Customers asked for it in the beta")
    clock.now = MOVED_AT
    api.schedule(export, r2, MOVE_WHY, MOVE_EVIDENCE)
    clock.now = SLIPPED_AT
    api.slip(r1, "2027-04-15", SLIP_WHY)
    clock.now = REJECTED_AT
    last = api.set_status(dark, "rejected", REJECT_WHY)
    return {"product": product, "share": share, "export": export, "dark": dark,
            "r1": r1, "r2": r2, "position": last["position"]}


def feature(ids: dict[str, Any], key: str, title: str, priority: float, status: str,
            release: str | None, version: int) -> dict[str, Any]:
    return {"id": ids[key], "title": title, "status": status, "priority": priority,
            "release_id": ids[release] if release else None, "version": version}


def expected_roadmap(ids: dict[str, Any]) -> dict[str, Any]:
    share = feature(ids, "share", "Share roadmaps", 3, "proposed", "r1", 2)
    export = feature(ids, "export", "Export to CSV", 2, "proposed", "r2", 3)
    dark = feature(ids, "dark", "Dark mode", 1, "rejected", None, 2)
    r1 = {"id": ids["r1"], "name": "1.0", "theme": "", "target_date": "2027-04-15",
          "state": "planned", "shipped_on": None, "version": 5, "features": [share]}
    r2 = {"id": ids["r2"], "name": "1.1", "theme": "", "target_date": "2027-06-01",
          "state": "planned", "shipped_on": None, "version": 2, "features": [export]}
    return {
        "product": {"id": ids["product"], "name": "Atlas",
                    "vision": "Every team plans in the open.",
                    "value_proposition": "One place for the why, what and when.",
                    "target_customers": "Product teams", "strategy": "",
                    "owner": "Dana (Head of Product)", "retired": False, "version": 1},
        "as_of": None,
        "releases": [r1, r2],
        "backlog": [],
        "rejected": [dark],
        "now": r1,
        "next": r2,
        "later": {"releases": [], "features": []},
        "shipped": [],
        "cancelled": [],
    }


def test_the_roadmap_shows_the_moved_feature_the_slipped_date_and_the_rejection(
        editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    roadmap = editor.read(f"/products/{ids['product']}/roadmap", after=ids["position"])

    assert roadmap == expected_roadmap(ids)


def test_the_feature_history_says_who_moved_it_when_from_where_to_where_and_why(
        editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    history = editor.read(f"/features/{ids['export']}/history", after=ids["position"])

    moves = [item for item in history["items"] if item["type"] == "feature.scheduled"]
    assert len(moves) == 2
    move = moves[1]
    assert move["actor"] == "alice"
    assert datetime.fromisoformat(move["occurred_at"]) == MOVED_AT
    assert {"field": "release_id", "old": ids["r1"], "new": ids["r2"]} in move["changes"]
    assert move["rationale"] == MOVE_WHY
    assert move["evidence"] == MOVE_EVIDENCE
    assert "moved" in move["summary"] and "1.0" in move["summary"] and "1.1" in move["summary"]


def test_the_release_history_says_why_the_date_slipped(editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    history = editor.read(f"/releases/{ids['r1']}/history", after=ids["position"])

    slip = next(i for i in history["items"] if i["type"] == "release.target_date_changed")
    assert slip["actor"] == "alice"
    assert datetime.fromisoformat(slip["occurred_at"]) == SLIPPED_AT
    assert {"field": "target_date", "old": "2027-03-01", "new": "2027-04-15"} in slip["changes"]
    assert slip["rationale"] == SLIP_WHY


def test_the_audit_filters_by_type_and_pages_with_a_cursor(
        editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    moves = editor.read("/audit", type="feature.scheduled", after=ids["position"])
    first = editor.read("/audit", product=ids["product"], limit=5)
    rest = editor.read("/audit", product=ids["product"], limit=100,
                       cursor=first["next_cursor"])

    assert [m["entity_id"] for m in moves["items"]] == [ids["share"], ids["export"],
                                                        ids["export"]]
    assert len(first["items"]) == 5 and first["next_cursor"] is not None
    everything = editor.read(f"/products/{ids['product']}/history")["items"]
    assert first["items"] + rest["items"] == everything
    assert rest["next_cursor"] is None


def test_the_audit_filters_by_actor_and_time_range(editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    window = editor.read("/audit", actor="alice", after=ids["position"],
                         **{"from": MOVED_AT.isoformat(), "to": REJECTED_AT.isoformat()})
    nobody = editor.read("/audit", actor="mallory")

    assert {i["type"] for i in window["items"]} == {
        "feature.scheduled", "release.feature_removed", "release.feature_added",
        "release.target_date_changed"}
    assert nobody["items"] == []


def test_a_write_is_readable_at_once_with_after(editor: Api) -> None:
    created = editor.create_product(name="Fresh")

    products = editor.read("/products", after=created["position"])

    assert [p["name"] for p in products["items"]] == ["Fresh"]


def test_an_entity_read_carries_its_version_as_etag(editor: Api, clock: SimulatedClock) -> None:
    ids = play_scenario(editor, clock)

    response = editor.get(f"/releases/{ids['r1']}")

    assert response.headers["ETag"] == '"5"'
    assert response.json()["target_date"] == "2027-04-15"
    assert response.json()["feature_ids"] == [ids["share"]]


def test_a_read_after_a_position_no_write_returned_is_refused_at_once(editor: Api) -> None:
    position = editor.create_product()["position"]

    response = editor.get("/audit", after=position + 1000)

    assert response.status_code == 409  # past the log's end; 503 is for one not applied yet
    assert (response.json()["position"], response.json()["log_end"]) == (
        position + 1000, position)
