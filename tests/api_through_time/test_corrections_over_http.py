"""Corrections and the lifecycle over HTTP: a status decision is reversed (the answer is the
reversing decision's id), rejecting a scheduled feature takes it off the roadmap's releases,
refusals offer only what the same call can do, and decisions say when they happened."""

from datetime import datetime
from typing import Any

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.support.builders import decision_body


def status_body(feature_id: str, status: str) -> dict[str, str]:
    return {"kind": "change_status", "feature_id": feature_id, "status": status}


def a_status_decision(editor: Api, product: str, feature: str, status: str) -> str:
    """A decision moving ``feature`` to ``status``, proposed and accepted: its id."""
    decision: str = editor.write(f"/products/{product}/decisions",
                                 decision_body(f"Make it {status}", "Review outcome"))["id"]
    editor.write(f"/decisions/{decision}/accept", {"changes": [status_body(feature, status)]})
    return decision


def test_a_status_decision_is_reversed_by_a_correction_and_the_answer_is_the_new_decision(
        editor: Api) -> None:
    product, feature = editor.new_feature("Share roadmaps")
    decision = a_status_decision(editor, product, feature, "accepted")

    response = editor.post(f"/decisions/{decision}/reverse", {"rationale": "Accepted too soon"})

    assert response.status_code == 201, response.text
    reversal = response.json()["id"]
    assert reversal != decision and response.headers["Location"] == f"/decisions/{reversal}"
    assert editor.read(f"/features/{feature}")["status"] == "proposed"
    assert editor.read(f"/decisions/{reversal}")["changes"] == [
        {"kind": "change_status", "feature_id": feature, "feature_title": "Share roadmaps",
         "old_status": "accepted", "status": "proposed", "reverts": decision}]
    history = editor.read(f"/features/{feature}/history", after=response.json()["position"])
    corrected = history["items"][-1]
    assert (corrected["type"], corrected["decision_id"]) == ("feature.status_changed", reversal)


def test_a_decision_says_when_it_was_proposed_accepted_and_reversed(editor: Api) -> None:
    product, feature = editor.new_feature()
    decision = a_status_decision(editor, product, feature, "accepted")
    editor.write(f"/decisions/{decision}/reverse", {"rationale": "Undo"})

    read = editor.read(f"/decisions/{decision}")
    lineage = editor.read(f"/decisions/{decision}/lineage")

    times = [datetime.fromisoformat(read[k]) for k in ("proposed_at", "accepted_at",
                                                       "reversed_at")]
    assert times == sorted(times)
    assert read["superseded_at"] is None and read["rejected_at"] is None
    assert {k: lineage[k] for k in ("proposed_at", "accepted_at", "reversed_at")} == {
        k: read[k] for k in ("proposed_at", "accepted_at", "reversed_at")}
    [step] = lineage["changed_again_by"]
    assert step["decision_id"] == read["reversed_by"]
    assert step["accepted_at"] is not None and step["reversed_at"] is None


def test_a_reversal_refused_over_http_names_the_later_change_in_its_way(
        editor: Api, runtime: Runtime) -> None:
    product, feature = editor.new_feature()
    decision = a_status_decision(editor, product, feature, "accepted")
    editor.set_status(feature, "in_progress", "The team started")
    before = runtime.app.event_count()

    response = editor.post(f"/decisions/{decision}/reverse", {"rationale": "Undo"})

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "its status is now in_progress, not accepted" in detail
    assert 'by alice ("The team started")' in detail
    assert runtime.app.event_count() == before


def roadmap_after(editor: Api, product: str, outcome: dict[str, Any]) -> Any:
    return editor.read(f"/products/{product}/roadmap", after=outcome["position"])


def test_rejecting_a_scheduled_feature_moves_it_to_rejected_on_the_roadmap(
        editor: Api) -> None:
    product, feature = editor.new_feature("Legacy sync")
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    editor.schedule(feature, release, "Fits 1.0")

    outcome = editor.set_status(feature, "rejected", "Nobody uses it")

    roadmap = roadmap_after(editor, product, outcome)
    assert [f["title"] for f in roadmap["rejected"]] == ["Legacy sync"]
    assert roadmap["now"]["features"] == [] and roadmap["releases"][0]["features"] == []
    assert editor.read(f"/releases/{release}")["feature_ids"] == []
    refused = editor.post(f"/features/{feature}/schedule",
                          {"release_id": release, "rationale": "Back in"})
    assert refused.status_code == 409 and "is rejected and cannot be scheduled" in refused.text


def test_deferring_by_a_decision_takes_the_feature_out_and_its_reversal_puts_it_back(
        editor: Api) -> None:
    product, feature = editor.new_feature("Dark mode")
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    editor.schedule(feature, release, "Fits 1.0")
    decision = a_status_decision(editor, product, feature, "deferred")
    assert [c["kind"] for c in editor.read(f"/decisions/{decision}")["changes"]] == [
        "unschedule_feature", "change_status"]
    assert editor.read(f"/features/{feature}")["release_id"] is None

    outcome = editor.write(f"/decisions/{decision}/reverse", {"rationale": "It fits after all"})

    back = editor.read(f"/features/{feature}")
    assert (back["status"], back["release_id"]) == ("proposed", release)
    roadmap = roadmap_after(editor, product, outcome)
    assert [f["title"] for f in roadmap["now"]["features"]] == ["Dark mode"]


def test_a_refused_status_change_offers_only_what_the_same_call_can_make(
        editor: Api) -> None:
    _, feature = editor.new_feature()
    for status in ("accepted", "in_progress", "done"):
        editor.set_status(feature, status, "Progress")

    backwards = editor.post(f"/features/{feature}/status",
                            {"status": "accepted", "rationale": "Oops"})
    shipped = editor.post(f"/features/{feature}/status",
                          {"status": "shipped", "rationale": "Out"})

    assert backwards.status_code == shipped.status_code == 409
    assert ("From done it can become: in_progress; it ships with its release, when that "
            "release ships.") in backwards.json()["detail"]
    assert "shipped" not in backwards.json()["detail"].split("can become:")[1].split(";")[0]
    assert "A feature ships with its release" in shipped.json()["detail"]
