"""The roadmap as of any month's end is what the roadmap was at that month's end."""

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from projections.intervals import instant
from tests.support.clock import end_of
from tests.through_time.scenario import MONTHS, YEAR, History


@pytest.mark.parametrize("month", MONTHS)
def test_the_roadmap_as_of_a_month_end_is_the_snapshot_taken_then(
        history: History, month: str) -> None:
    as_of = history.views.roadmap(history.product, as_of=end_of(month, YEAR))

    assert as_of is not None
    assert as_of["as_of"] == instant(end_of(month, YEAR))
    assert {**as_of, "as_of": None} == history.snapshots[month]


def test_every_month_left_a_different_roadmap(history: History) -> None:
    snapshots = [history.snapshots[month] for month in MONTHS]

    assert all(a != b for a, b in pairwise(snapshots))


def test_the_roadmap_of_february_shows_what_was_planned_then_not_what_happened_later(
        history: History) -> None:
    february = history.views.roadmap(history.product, as_of=end_of("February", YEAR))

    assert february is not None
    plan = {r["name"]: (r["target_date"], r["state"], [f["title"] for f in r["features"]])
            for r in february["releases"]}
    assert plan == {
        "Beta": ("2026-02-27", "cancelled", []),
        "1.0": ("2026-04-14", "planned", ["SSO"]),
        "1.1": ("2026-06-30", "planned", ["Export", "Import"]),
        "2.0": ("2026-09-30", "planned", ["Audit log"]),
    }
    assert [f["title"] for f in february["backlog"]] == ["Dark mode"]
    assert [f["title"] for f in february["rejected"]] == ["Legacy sync"]
    assert february["now"]["name"] == "1.0" and february["next"]["name"] == "1.1"


def test_a_change_shows_as_of_its_own_instant_and_not_a_microsecond_before(
        history: History) -> None:
    cancelled = next(item for item in history.views.history(history.releases["Beta"])
                     if item["type"] == "release.cancelled")
    at = datetime.fromisoformat(cancelled["occurred_at"])

    just_before = history.views.roadmap(history.product, as_of=at - timedelta(microseconds=1))
    at_the_change = history.views.roadmap(history.product, as_of=at)

    assert just_before is not None and at_the_change is not None
    assert [r["name"] for r in just_before["cancelled"]] == []
    assert [r["name"] for r in at_the_change["cancelled"]] == ["Beta"]
