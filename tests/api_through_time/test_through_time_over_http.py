"""The roadmap through time over HTTP: as-of reads equal what was answered then; the diff
between two month ends, item by item; slip ledgers; release notes of what shipped."""

from datetime import datetime
from typing import Any

from tests.api.driver import Api
from tests.api_through_time.scenario import (
    APR_10,
    D1_WHY,
    FEB_10,
    HAND_SLIP_WHY,
    JAN_4,
    JAN_31,
    MAR_15,
    MAR_31,
    History,
)


def test_the_roadmap_as_of_each_month_end_is_what_it_was_then(
        editor: Api, history: History) -> None:
    product = history.ids["product"]

    for instant, then in history.snapshots.items():
        as_of = editor.read(f"/products/{product}/roadmap", as_of=instant.isoformat())

        assert datetime.fromisoformat(as_of["as_of"]) == instant
        assert {**as_of, "as_of": None} == then["roadmap"]
    assert history.snapshots[JAN_31]["roadmap"] != history.snapshots[MAR_31]["roadmap"]


def test_an_entity_as_of_a_month_end_is_the_version_read_then(
        editor: Api, history: History) -> None:
    ids = history.ids

    for instant, then in history.snapshots.items():
        for key, path in (("export", f"/features/{ids['export']}"),
                          ("r1", f"/releases/{ids['r1']}")):
            response = editor.get(path, as_of=instant.isoformat())

            assert (response.json(), response.headers["ETag"]) == then[key]


def test_an_as_of_read_includes_a_change_stamped_at_that_very_instant(
        editor: Api, history: History) -> None:
    release = f"/releases/{history.ids['r1']}"

    assert editor.read(release, as_of=FEB_10.isoformat())["target_date"] == "2027-03-15"
    assert editor.read(release, as_of="2027-02-10T14:29:59Z")["target_date"] == "2027-03-01"


def test_an_entity_asked_for_before_it_existed_is_not_found(
        editor: Api, history: History) -> None:
    response = editor.get(f"/decisions/{history.ids['d1']}", as_of=JAN_4.isoformat())

    assert response.status_code == 404
    assert "did not exist yet" in response.json()["detail"]


def reasons_in(item: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(b["actor"], b["decision"], b["rationale"]) for b in item["because"]]


def test_the_diff_between_two_month_ends_lists_each_change_with_its_reason(
        editor: Api, history: History) -> None:
    ids = history.ids

    diff = editor.read(f"/products/{ids['product']}/diff",
                       **{"from": JAN_31.isoformat(), "to": MAR_31.isoformat()})

    features, releases = diff["net"]["features"], diff["net"]["releases"]
    assert [(f["feature_id"], f["status"], f["priority"], f["release"])
            for f in features["added"]] == [(ids["audit"], "proposed", 2.5, None)]
    assert features["removed"] == [] and features["priority_changed"] == []
    assert [(f["feature_id"], f["from"], f["to"]) for f in features["moved"]] == [
        (ids["export"], {"id": ids["r1"], "name": "1.0"}, {"id": ids["r2"], "name": "1.1"})]
    assert reasons_in(features["moved"][0]) == [("alice", "Move CSV export to 1.1", D1_WHY)]
    assert [(f["feature_id"], f["old"], f["new"], len(f["because"]))
            for f in features["status_changed"]] == [(ids["share"], "proposed", "shipped", 4)]
    assert [(r["release_id"], r["old"], r["new"], r["delta_days"])
            for r in releases["slipped"]] == [(ids["r1"], "2027-03-01", "2027-03-15", 14)]
    assert reasons_in(releases["slipped"][0]) == [("alice", "Move CSV export to 1.1", D1_WHY)]
    assert [(r["release_id"], r["shipped_on"]) for r in releases["shipped"]] == [
        (ids["r1"], "2027-03-15")]
    assert releases["added"] == releases["cancelled"] == releases["pulled_in"] == []
    assert sorted(s["kind"] for s in diff["changes"]) == sorted([
        "feature_moved", "release_slipped", "feature_proposed", "feature_status_changed",
        "feature_status_changed", "feature_status_changed", "feature_status_changed",
        "release_shipped"])
    assert all(JAN_31 < datetime.fromisoformat(s["occurred_at"]) <= MAR_31
               for s in diff["changes"])


def test_the_diff_as_markdown_reads_as_a_change_report(editor: Api, history: History) -> None:
    response = editor.get(f"/products/{history.ids['product']}/diff", format="markdown",
                          **{"from": JAN_31.isoformat(), "to": MAR_31.isoformat()})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Atlas: roadmap changes")
    assert "**Export to CSV**: release 1.0 → release 1.1" in text
    assert "**1.0**: 2027-03-01 → 2027-03-15 (slipped 14 days)" in text
    assert "_Decision:_ Move CSV export to 1.1." in text
    assert f"_Why:_ {D1_WHY}. _Decision:_ Move CSV export to 1.1." in text
    assert "From 2027-01-31 18:00:00 UTC to 2027-03-31 18:00:00 UTC." in text


def test_the_slip_ledger_of_a_release_totals_its_slips_and_pull_ins(
        editor: Api, history: History) -> None:
    ids = history.ids

    ledger = editor.read(f"/releases/{ids['r2']}/slips")
    april = editor.read(f"/releases/{ids['r2']}/slips", as_of=APR_10.isoformat())

    assert [(c["old_target_date"], c["target_date"], c["delta_days"], c["kind"])
            for c in ledger["changes"]] == [("2027-06-01", "2027-07-01", 30, "slip"),
                                            ("2027-07-01", "2027-06-15", -16, "pull-in"),
                                            ("2027-06-15", "2027-06-29", 14, "slip")]
    assert [c["decision_id"] for c in ledger["changes"]] == [ids["d3"], ids["d4"], None]
    assert ledger["changes"][2]["rationale"] == HAND_SLIP_WHY
    assert ledger["totals"] == {"slips": 2, "pull_ins": 1, "days_slipped": 44,
                                "days_pulled_in": 16, "net_days": 28}
    assert (ledger["planned_target_date"], ledger["target_date"]) == ("2027-06-01",
                                                                      "2027-06-29")
    assert april["totals"]["net_days"] == 30 and april["target_date"] == "2027-07-01"


def test_a_shipped_releases_ledger_gives_its_ship_date_and_the_slip_to_shipping(
        editor: Api, history: History) -> None:
    ids = history.ids

    shipped = editor.read(f"/releases/{ids['r1']}/slips")
    planned = editor.read(f"/releases/{ids['r2']}/slips")

    assert (shipped["planned_target_date"], shipped["shipped_on"],
            shipped["slip_to_ship_days"]) == ("2027-03-01", "2027-03-15", 14)
    assert (planned["shipped_on"], planned["slip_to_ship_days"]) == (None, None)


def test_the_product_slips_rank_releases_and_count_feature_reschedules(
        editor: Api, history: History) -> None:
    ids = history.ids

    slips = editor.read(f"/products/{ids['product']}/slips")

    assert [(r["release_id"], r["days_slipped"], r["slips"]) for r in slips["releases"]] == [
        (ids["r2"], 44, 2), (ids["r1"], 14, 1)]
    assert [(f["feature_id"], f["times_rescheduled"]) for f in slips["features"]] == [
        (ids["export"], 3), (ids["sso"], 1), (ids["share"], 0)]


def test_release_notes_are_assembled_from_what_shipped(editor: Api, history: History) -> None:
    response = editor.get(f"/releases/{history.ids['r1']}/notes")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text == ("# Atlas 1.0\n\n_Released 2027-03-15._\n\n## What's new\n\n"
                             "- **Share roadmaps**: You can share roadmaps\n")
    assert MAR_15.date().isoformat() in response.text


def test_release_notes_before_shipping_are_not_yet_to_be_read(
        editor: Api, history: History) -> None:
    response = editor.get(f"/releases/{history.ids['r2']}/notes")

    assert response.status_code == 409
    assert response.json()["title"] == "Not shipped yet"
    assert "once the release has shipped" in response.json()["detail"]


def test_a_diff_without_to_runs_up_to_now(editor: Api, history: History) -> None:
    diff = editor.read(f"/products/{history.ids['product']}/diff", **{"from": MAR_31.isoformat()})

    slips = diff["net"]["releases"]["slipped"]
    assert [(r["release_id"], r["old"], r["new"]) for r in slips] == [
        (history.ids["r2"], "2027-06-01", "2027-06-29")]
    assert [b["rationale"] for b in slips[0]["because"]][-1] == HAND_SLIP_WHY


def test_a_viewer_reads_every_view_through_time(viewer: Api, history: History) -> None:
    ids = history.ids

    for path, params in ((f"/products/{ids['product']}/ranking", {}),
                         (f"/products/{ids['product']}/decisions", {}),
                         (f"/products/{ids['product']}/diff", {"from": JAN_31.isoformat()}),
                         (f"/products/{ids['product']}/slips", {}),
                         (f"/releases/{ids['r1']}/slips", {}),
                         (f"/releases/{ids['r1']}/notes", {}),
                         (f"/decisions/{ids['d1']}/lineage", {}),
                         (f"/features/{ids['export']}/lineage", {})):
        assert viewer.get(path, **params).status_code == 200, path
