"""Decisions over HTTP: accepted with roadmap changes, refused all or nothing, superseded,
reversed, and their lineage; priorities scored and ranked as they stood."""

from datetime import datetime

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.api_through_time.scenario import (
    APR_10,
    D1_EVIDENCE,
    D1_WHY,
    EXPORT_RICE,
    EXPORT_RICE_LATER,
    FEB_10,
    FEB_20,
    JAN_31,
    MAY_12,
    SHARE_RICE,
    History,
)
from tests.support.builders import decision_body, move_body


def test_a_proposal_answers_201_with_location_and_reads_back_whole(
        editor: Api, history: History) -> None:
    body = decision_body("Drop dark mode", "Nobody asked twice")

    response = editor.post(f"/products/{history.ids['product']}/decisions", body)

    read = editor.get(response.headers["Location"])
    assert response.status_code == 201 and response.headers["ETag"] == '"1"'
    decision = read.json()
    assert read.headers["ETag"] == '"1"'
    assert {k: decision[k] for k in body} == {**body, "options": [
        {"description": "", **body["options"][0]}, body["options"][1]]}
    assert decision["status"] == "proposed" and decision["proposed_by"] == "alice"
    assert decision["changes"] == [] and decision["supersedes"] is None


def test_an_accepted_decision_records_its_changes_and_every_event_names_it(
        editor: Api, history: History) -> None:
    ids = history.ids

    decision = editor.read(f"/decisions/{ids['d1']}")
    feature_history = editor.read(f"/features/{ids['export']}/history")["items"]
    release_history = editor.read(f"/releases/{ids['r1']}/history")["items"]

    assert decision["status"] == "accepted" and decision["accepted_by"] == "alice"
    assert decision["changes"] == [
        {"kind": "move_feature", "feature_id": ids["export"], "feature_title": "Export to CSV",
         "old_release_id": ids["r1"], "old_release_name": "1.0",
         "release_id": ids["r2"], "release_name": "1.1"},
        {"kind": "change_target_date", "release_id": ids["r1"], "release_name": "1.0",
         "old_target_date": "2027-03-01", "target_date": "2027-03-15"}]
    moved = [i for i in feature_history if i["decision_id"] == ids["d1"]]
    assert [(i["type"], datetime.fromisoformat(i["occurred_at"])) for i in moved] == [
        ("feature.scheduled", FEB_10)]
    assert moved[0]["rationale"] == D1_WHY and moved[0]["evidence"] == D1_EVIDENCE
    assert {i["type"] for i in release_history if i["decision_id"] == ids["d1"]} == {
        "release.feature_removed", "release.target_date_changed"}


def test_a_decision_whose_second_change_is_illegal_changes_nothing_and_says_which(
        editor: Api, runtime: Runtime, history: History) -> None:
    ids = history.ids
    proposed = editor.write(f"/products/{ids['product']}/decisions",
                            decision_body("Ship SSO early", "Pilot deadline"))["id"]
    before = runtime.app.event_count()

    response = editor.post(f"/decisions/{proposed}/accept", {"changes": [
        move_body(ids["sso"], ids["r2"]), move_body(ids["dark"], ids["r1"])]})

    problem = response.json()
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "Change 2 of 2 (move feature 'Dark mode' to release '1.0')" in problem["detail"]
    assert "is shipped" in problem["detail"] and "Nothing was applied" in problem["detail"]
    assert runtime.app.event_count() == before
    assert editor.read(f"/decisions/{proposed}")["status"] == "proposed"
    assert editor.read(f"/features/{ids['sso']}")["release_id"] == ids["r3"]


def test_the_refused_decision_of_february_stayed_a_proposal_until_it_was_rejected(
        editor: Api, history: History) -> None:
    ids = history.ids

    then = editor.read(f"/decisions/{ids['d2']}", as_of=FEB_20.isoformat())
    share = editor.read(f"/features/{ids['share']}/history", as_of=FEB_20.isoformat())

    assert then["status"] == "proposed" and then["changes"] == []
    assert editor.read(f"/decisions/{ids['d2']}")["status"] == "rejected"
    assert [i["type"] for i in share["items"]] == [
        "feature.proposed", "feature.scheduled", "feature.priority_scored"]


def test_a_superseded_decision_points_to_its_successor_and_its_lineage_shows_it(
        editor: Api, history: History) -> None:
    ids = history.ids

    d3 = editor.read(f"/decisions/{ids['d3']}")
    d3_before = editor.read(f"/decisions/{ids['d3']}", as_of=APR_10.isoformat())
    lineage = editor.read(f"/decisions/{ids['d3']}/lineage")
    successor = editor.read(f"/decisions/{ids['d4']}/lineage")

    assert d3["status"] == "superseded" and d3["superseded_by"] == ids["d4"]
    assert d3_before["status"] == "accepted" and d3_before["superseded_by"] is None
    assert sorted((c["entity_id"], c["type"]) for c in lineage["changed"]) == sorted([
        (ids["r2"], "release.target_date_changed"), (ids["r2"], "release.feature_removed"),
        (ids["sso"], "feature.scheduled"), (ids["r3"], "release.feature_added")])
    # D4 changed 1.1's date again; D5 and its reversal moved Export, not SSO, in and out of
    # the same releases: a different field, so they did not change D3's result.
    assert [s["decision_id"] for s in lineage["changed_again_by"]] == [ids["d4"]]
    assert successor["supersedes"] == ids["d3"] and successor["status"] == "accepted"
    assert [c["data"]["target_date"] for c in successor["changed"]
            if c["type"] == "release.target_date_changed"] == ["2027-06-15"]


def test_a_reversed_decision_puts_the_feature_back_and_names_both_decisions(
        editor: Api, history: History) -> None:
    ids = history.ids

    export = editor.read(f"/features/{ids['export']}")
    reversal = editor.read(f"/decisions/{ids['d5_reversal']}")
    original = editor.read(f"/decisions/{ids['d5']}")
    back = editor.read(f"/features/{ids['export']}/history")["items"][-2]

    assert export["release_id"] == ids["r2"]
    assert original["status"] == "reversed" and original["reversed_by"] == ids["d5_reversal"]
    assert reversal["reverses"] == ids["d5"] and reversal["status"] == "accepted"
    assert reversal["changes"] == [{"kind": "move_feature", "feature_id": ids["export"],
                                    "feature_title": "Export to CSV",
                                    "old_release_id": ids["r3"], "old_release_name": "2.0",
                                    "release_id": ids["r2"], "release_name": "1.1"}]
    assert back["type"] == "feature.scheduled" and back["decision_id"] == ids["d5_reversal"]
    assert datetime.fromisoformat(back["occurred_at"]) == MAY_12
    assert "Move CSV export to 2.0" in back["rationale"]


def test_the_lineage_of_a_feature_is_the_chain_of_decisions_that_moved_it(
        editor: Api, history: History) -> None:
    ids = history.ids

    lineage = editor.read(f"/features/{ids['export']}/lineage")
    d5 = editor.read(f"/decisions/{ids['d5']}/lineage")

    assert [(s["decision_id"], s["status"]) for s in lineage["decisions"]] == [
        (ids["d1"], "accepted"), (ids["d5"], "reversed"), (ids["d5_reversal"], "accepted")]
    assert [[c["data"]["release_id"] for c in s["changes"]
             if c["type"] == "feature.scheduled"] for s in lineage["decisions"]] == [
        [ids["r2"]], [ids["r3"]], [ids["r2"]]]
    assert d5["reversed_by"] == ids["d5_reversal"]
    assert [s["decision_id"] for s in d5["changed_again_by"]] == [ids["d5_reversal"]]


def test_the_lineage_of_a_release_lists_the_decisions_that_moved_its_date(
        editor: Api, history: History) -> None:
    ids = history.ids

    lineage = editor.read(f"/releases/{ids['r2']}/lineage")

    assert [s["title"] for s in lineage["decisions"]] == [
        "Move CSV export to 1.1", "Slip 1.1 to July", "Slip 1.1 to mid-June only",
        "Move CSV export to 2.0", "Reverse: Move CSV export to 2.0"]


def test_reversing_a_decision_that_later_changes_made_irreversible_is_refused_and_says_why(
        editor: Api, runtime: Runtime, history: History) -> None:
    before = runtime.app.event_count()

    response = editor.post(f"/decisions/{history.ids['d1']}/reverse",
                           {"rationale": "Undo the February move"})

    assert response.status_code == 409
    assert "cannot be reversed exactly" in response.json()["detail"]
    assert runtime.app.event_count() == before


def test_decisions_are_listed_with_their_status_then_and_now(
        editor: Api, history: History) -> None:
    ids = history.ids
    path = f"/products/{ids['product']}/decisions"

    now = editor.read(path)["items"]
    then = editor.read(path, as_of=APR_10.isoformat())["items"]

    assert [(d["id"], d["status"]) for d in now] == [
        (ids["d1"], "accepted"), (ids["d2"], "rejected"), (ids["d3"], "superseded"),
        (ids["d4"], "accepted"), (ids["d5"], "reversed"), (ids["d5_reversal"], "accepted")]
    assert [(d["id"], d["status"]) for d in then] == [
        (ids["d1"], "accepted"), (ids["d2"], "rejected"), (ids["d3"], "accepted")]


def test_the_ranking_of_january_is_recomputed_from_the_inputs_recorded_then(
        editor: Api, history: History) -> None:
    ids = history.ids
    path = f"/products/{ids['product']}/ranking"

    january = editor.read(path, as_of=JAN_31.isoformat())
    now = editor.read(path)

    assert {**january, "as_of": None} == history.snapshots[JAN_31]["ranking"]
    top = january["items"][0]
    assert (top["feature_id"], top["priority"], top["formula"], top["inputs"]) == (
        ids["export"], 400, "rice.v1", EXPORT_RICE)
    assert top["reproduced"] is True
    assert top["explanation"].startswith("Scored rice.v1: 1000 * 2 * 0.8 / 4 = 400 on 2027-01-15")
    assert [i["inputs"] for i in january["items"][:2]] == [EXPORT_RICE, SHARE_RICE]
    assert (now["items"][0]["priority"], now["items"][0]["inputs"]) == (800, EXPORT_RICE_LATER)
    assert ids["share"] not in [i["feature_id"] for i in now["items"]]  # shipped


def test_accept_honours_if_match_and_a_retried_proposal_is_not_recorded_twice(
        editor: Api, runtime: Runtime, history: History) -> None:
    path = f"/products/{history.ids['product']}/decisions"
    body = decision_body("Retry me", "Flaky network")

    first = editor.post(path, body, **{"Idempotency-Key": "retry-1"})
    again = editor.post(path, body, **{"Idempotency-Key": "retry-1"})
    before = runtime.app.event_count()
    stale = editor.post(f"/decisions/{first.json()['id']}/accept", {"changes": []},
                        **{"If-Match": '"7"'})

    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert stale.status_code == 412 and stale.headers["ETag"] == '"1"'
    assert runtime.app.event_count() == before
    accepted = editor.write(f"/decisions/{first.json()['id']}/accept", {"changes": []},
                            **{"If-Match": '"1"'})
    assert accepted["version"] == 2
