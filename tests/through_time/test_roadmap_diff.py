"""What changed between two month ends, item by item, with who, when and why."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.errors import InvalidCommand
from projections.diff import InvalidInterval, render_markdown, roadmap_diff
from projections.feeding.catch_up import StoreCatchUp
from tests.support.builders import by
from tests.support.clock import SimulatedClock, end_of
from tests.through_time.scenario import YEAR, History

DECISION = "Export waits for the new engine"
JULY_2 = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)


def diff(history: History, since: str, until: str) -> dict[str, Any]:
    found = roadmap_diff(history.views, history.product, end_of(since, YEAR), end_of(until, YEAR))
    assert found is not None
    return found


def reasons(item: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(b["actor"], b["rationale"], b["decision"]) for b in item["because"]]


def where(release: dict[str, Any] | None) -> str:
    return "backlog" if release is None else release["name"]


def test_the_diff_names_the_product_and_the_interval(history: History) -> None:
    found = diff(history, "January", "April")

    assert found["product"] == {"id": str(history.product), "name": "Ledger"}
    assert found["since"] == "2026-01-31T23:59:59.999999+00:00"
    assert found["until"] == "2026-04-30T23:59:59.999999+00:00"


def test_the_net_feature_changes_between_january_and_april(history: History) -> None:
    features = diff(history, "January", "April")["net"]["features"]

    assert [(f["title"], f["status"], f["priority"], where(f["release"]), reasons(f))
            for f in features["added"]] == [
        ("Reports", "proposed", 4.0, "3.0",
         [("alice", "", None), ("alice", "Needs the new engine too", None)])]
    assert [(f["title"], f["old"], f["new"], reasons(f)) for f in features["removed"]] == [
        ("Legacy sync", "proposed", "rejected", [("carol", "Nobody uses it", None)])]
    assert [(f["title"], where(f["from"]), where(f["to"]), reasons(f))
            for f in features["moved"]] == [
        ("Audit log", "backlog", "2.0", [("alice", "Compliance quarter", None)]),
        ("Dark mode", "Beta", "backlog", [("carol", "Beta programme stopped", None)]),
        ("Export", "1.0", "2.0", [("bob", "Too big for 1.0", None),
                                  ("kim", "Build it once, on the new engine.", DECISION)]),
    ]
    assert [(f["title"], f["old"], f["new"], [b["actor"] for b in f["because"]])
            for f in features["status_changed"]] == [
        ("Dark mode", "proposed", "deferred", ["olivia"]),
        ("Import", "proposed", "accepted", ["olivia"]),
        ("SSO", "in_progress", "shipped", ["bob", "carol"]),
    ]
    assert [(f["title"], f["old"], f["new"], reasons(f))
            for f in features["priority_changed"]] == [
        ("Audit log", 5.0, 9.0, [("olivia", "Compliance deals", None)])]
    [export] = features["requirements_changed"]
    assert (export["title"], export["removed"]) == ("Export", {})
    assert export["added"] == {"R2": {"text": "Export on a schedule",
                                      "acceptance_criteria": ["Runs nightly"]}}
    assert export["revised"] == {"R1": {
        "old": {"text": "Export to CSV", "acceptance_criteria": ["Demoed"]},
        "new": {"text": "Export to CSV and XLSX", "acceptance_criteria": ["Demoed",
                                                                          "Opens in Excel"]}}}
    assert reasons(export) == [("alice", "Customers use XLSX", None),
                               ("alice", "Asked by accountants", None)]


def test_the_net_release_changes_between_january_and_april(history: History) -> None:
    releases = diff(history, "January", "April")["net"]["releases"]

    assert [(r["name"], r["target_date"], r["state"]) for r in releases["added"]] == [
        ("3.0", "2026-12-15", "planned")]
    assert [(r["name"], r["shipped_on"], reasons(r)) for r in releases["shipped"]] == [
        ("1.0", "2026-04-02", [("carol", "Release train left", None)])]
    assert [(r["name"], reasons(r)) for r in releases["cancelled"]] == [
        ("Beta", [("carol", "Beta programme stopped", None)])]
    assert [(r["name"], r["old"], r["new"], r["delta_days"], reasons(r))
            for r in releases["slipped"]] == [
        ("1.0", "2026-03-31", "2026-04-14", 14, [("carol", "Vendor API late", None)])]
    assert [(r["name"], r["old"], r["new"], r["delta_days"], reasons(r))
            for r in releases["pulled_in"]] == [
        ("1.1", "2026-06-30", "2026-06-20", -10,
         [("kim", "Build it once, on the new engine.", DECISION)]),
        ("2.0", "2026-09-30", "2026-09-20", -10, [("pat", "Less scope than planned", None)]),
    ]


def test_every_step_between_january_and_april_is_listed_in_order_with_its_reason(
        history: History) -> None:
    changes = diff(history, "January", "April")["changes"]

    def value(v: Any) -> Any:
        return v["name"] if isinstance(v, dict) and "name" in v else v

    assert [(c["kind"], c["name"], value(c["old"]), value(c["new"]), c["actor"], c["decision"])
            for c in changes] == [
        ("feature_moved", "Export", "1.0", "1.1", "bob", None),
        ("release_slipped", "1.0", "2026-03-31", "2026-04-14", "carol", None),
        ("feature_status_changed", "Legacy sync", "proposed", "rejected", "carol", None),
        ("feature_priority_changed", "Audit log", 5.0, 9.0, "olivia", None),
        ("feature_scheduled", "Audit log", None, "2.0", "alice", None),
        ("feature_unscheduled", "Dark mode", "Beta", None, "carol", None),
        ("release_cancelled", "Beta", "planned", "cancelled", "carol", None),
        ("feature_moved", "Export", "1.1", "2.0", "kim", DECISION),
        ("release_pulled_in", "1.1", "2026-06-30", "2026-06-20", "kim", DECISION),
        ("requirement_revised", "Export",
         {"text": "Export to CSV", "acceptance_criteria": ["Demoed"]},
         {"text": "Export to CSV and XLSX", "acceptance_criteria": ["Demoed", "Opens in Excel"]},
         "alice", None),
        ("requirement_added", "Export", None,
         {"text": "Export on a schedule", "acceptance_criteria": ["Runs nightly"]}, "alice", None),
        ("feature_status_changed", "SSO", "in_progress", "done", "bob", None),
        ("release_planned", "3.0", None, "2026-12-15", "alice", None),
        ("feature_proposed", "Reports", None, {"status": "proposed", "priority": 4.0}, "alice",
         None),
        ("feature_scheduled", "Reports", None, "3.0", "alice", None),
        ("feature_status_changed", "SSO", "done", "shipped", "carol", None),
        ("release_shipped", "1.0", "planned", "shipped", "carol", None),
        ("feature_status_changed", "Import", "proposed", "accepted", "olivia", None),
        ("release_pulled_in", "2.0", "2026-09-30", "2026-09-20", "pat", None),
        ("feature_status_changed", "Dark mode", "proposed", "deferred", "olivia", None),
    ]
    slip = changes[1]
    assert (slip["delta_days"], slip["rationale"], slip["evidence"]) == (
        14, "Vendor API late", ["https://tickets/42"])
    assert changes[7]["decision_id"] == str(history.decision)
    assert changes[7]["evidence"] == ["https://wiki/engine"]


def test_a_feature_moved_away_and_back_is_a_step_but_not_a_net_move(history: History) -> None:
    found = diff(history, "April", "May")

    assert found["net"]["features"]["moved"] == []
    assert [(c["kind"], c["name"], c["old"]["name"], c["new"]["name"], c["rationale"])
            for c in found["changes"] if c["kind"] == "feature_moved"] == [
        ("feature_moved", "Export", "2.0", "1.1", "The engine came early"),
        ("feature_moved", "Export", "1.1", "2.0", "The engine is late after all"),
    ]
    assert [(r["name"], r["delta_days"]) for r in found["net"]["releases"]["slipped"]] == [
        ("1.1", 25)]


def test_a_release_planned_and_slipped_inside_the_interval_counts_from_its_planned_date(
        history: History, calendar: SimulatedClock, catchup: StoreCatchUp) -> None:
    calendar.now = JULY_2
    history.release("4.0", date(2027, 3, 1))
    history.log.change_target_date(history.releases["4.0"], date(2027, 3, 8),
                                   by("pat", "Holidays"))
    catchup.run_until_caught_up()

    found = roadmap_diff(history.views, history.product, end_of("June", YEAR))

    assert found is not None
    releases = found["net"]["releases"]
    assert [r["name"] for r in releases["added"]] == ["4.0"]
    assert [(r["name"], r["old"], r["new"], r["delta_days"]) for r in releases["slipped"]] == [
        ("4.0", "2027-03-01", "2027-03-08", 7)]


def test_a_quiet_interval_has_no_changes(history: History) -> None:
    found = roadmap_diff(history.views, history.product, datetime(2026, 1, 20, tzinfo=UTC),
                         datetime(2026, 1, 25, tzinfo=UTC))

    assert found is not None and found["changes"] == []
    assert all(items == [] for section in found["net"].values() for items in section.values())
    assert "Nothing changed on the roadmap in this period." in render_markdown(found)


def test_since_before_the_product_existed_everything_is_added(history: History) -> None:
    found = roadmap_diff(history.views, history.product, datetime(2025, 12, 1, tzinfo=UTC),
                         end_of("January", YEAR))

    assert found is not None
    assert [r["name"] for r in found["net"]["releases"]["added"]] == ["1.0", "1.1", "2.0", "Beta"]
    assert len(found["net"]["features"]["added"]) == 6


def test_a_product_unknown_at_the_end_of_the_interval_has_no_diff(history: History) -> None:
    assert roadmap_diff(history.views, history.decision or history.product,
                        datetime(2025, 1, 1, tzinfo=UTC)) is None
    assert roadmap_diff(history.views, history.product, datetime(2025, 1, 1, tzinfo=UTC),
                        datetime(2025, 6, 1, tzinfo=UTC)) is None


def test_the_markdown_reads_as_a_summary_with_who_when_and_why(history: History) -> None:
    markdown = render_markdown(diff(history, "January", "April"))

    assert markdown.startswith("# Ledger: roadmap changes\n")
    assert "From 2026-01-31 23:59:59 UTC to 2026-04-30 23:59:59 UTC." in markdown
    for line in [
        "## Features moved",
        "- **Export**: release 1.0 → release 2.0",
        "  - 2026-02-02 09:01:00 UTC, bob: _Why:_ Too big for 1.0.",
        "- **Dark mode**: release Beta → backlog",
        "- **Legacy sync**: proposed → rejected",
        "- **Audit log**: priority 5 → 9",
        "- **Export**: requirements added R2; revised R1",
        "- **1.0**: 2026-03-31 → 2026-04-14 (slipped 14 days)",
        "  - 2026-02-02 09:04:00 UTC, carol: _Why:_ Vendor API late. _Evidence:_ "
        "https://tickets/42.",
        "- **1.1**: 2026-06-30 → 2026-06-20 (pulled in 10 days)",
        "- **1.0** shipped on 2026-04-02",
        "- **Beta** cancelled",
        "- **3.0**, targeting 2026-12-15 (planned)",
        "## Every change, in order",
        "8. 2026-03-02 09:02:00 UTC: kim moved feature 'Export' from release '1.1' to "
        "release '2.0'."
        " _Why:_ Build it once, on the new engine. _Decision:_ Export waits for the new engine."
        " _Evidence:_ https://wiki/engine.",
    ]:
        assert line in markdown.splitlines(), line


def test_markdown_in_names_and_reasons_is_shown_as_written(
        history: History, calendar: SimulatedClock, catchup: StoreCatchUp) -> None:
    calendar.now = JULY_2
    history.log.change_priority(history.features["Import"], 7,
                                by("pat", "See *this* [link](http://x) # now"))
    catchup.run_until_caught_up()

    found = roadmap_diff(history.views, history.product, end_of("June", YEAR), None)

    assert found is not None
    assert r"_Why:_ See \*this\* \[link\](http://x) \# now." in render_markdown(found)


@pytest.mark.parametrize(("since", "until", "message"), [
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC),
     r"'from' \(2026-03-01T00:00:00.000000\+00:00\) must be before 'to' "
     r"\(2026-02-01T00:00:00.000000\+00:00\)"),
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), "must be before"),
    (datetime(2026, 3, 1), datetime(2026, 4, 1, tzinfo=UTC), "'from' needs a timezone"),
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1), "'to' needs a timezone"),
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC),
     "'to' .* is in the future"),
])
def test_an_interval_that_is_not_in_the_past_and_forward_is_refused(
        history: History, since: datetime, until: datetime, message: str) -> None:
    with pytest.raises(InvalidInterval, match=message):
        roadmap_diff(history.views, history.product, since, until)


def test_a_refused_interval_is_a_value_error_the_http_layer_answers_with_422(
        history: History) -> None:
    with pytest.raises(InvalidInterval) as refused:
        roadmap_diff(history.views, history.product, end_of("May", YEAR), end_of("May", YEAR))

    assert isinstance(refused.value, ValueError) and isinstance(refused.value, InvalidCommand)


def test_the_default_end_of_the_interval_is_now(history: History, calendar: SimulatedClock) -> None:
    found = roadmap_diff(history.views, history.product, end_of("May", YEAR))

    assert found is not None
    assert end_of("May", YEAR) < datetime.fromisoformat(found["until"]) <= calendar.now
    assert [c["name"] for c in found["changes"]] == ["Import", "Reports"]
