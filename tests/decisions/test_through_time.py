"""The slip ledger, reschedules and release notes, read from the projected views."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta

import pytest

from projections import slips as through_time
from projections.dialect import Connection
from projections.feeding.catch_up import StoreCatchUp
from projections.release_notes import ReleaseNotShipped, release_notes
from projections.views import Views
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from services.runtime.settings import Settings
from tests.decisions.scenario import KIM, PAT, Roadmap, a_roadmap
from tests.support.builders import KNOW_WHY, MARCH_1, by, today
from tests.support.views import open_views_of

Reader = Callable[[DecisionLog, Views], Connection]


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    """Beside the log: in the test's folder, or in its PostgreSQL database."""
    yield from open_views_of(settings)


@pytest.fixture
def read() -> Iterator[Reader]:
    """Catches the views up with the log and opens a connection to read them."""
    with ExitStack() as opened:

        def caught_up(log: DecisionLog, views: Views) -> Connection:
            StoreCatchUp(log, views).run_until_caught_up()
            return opened.enter_context(views.reading())

        yield caught_up


def a_bumpy_quarter(log: DecisionLog) -> tuple[Roadmap, str]:
    """1.0 slips 14 days by decision, is pulled in 7, slips 21; 2.0 slips 3; CSV moves
    1.0 → 2.0 → 1.0 → backlog → 1.0."""
    road = a_roadmap(log)
    decision = road.propose(title="Slip 1.0 for CSV")
    log.accept_decision(decision, [ChangeTargetDate(road.r1, MARCH_1 + timedelta(days=14)),
                                   MoveFeature(road.csv, road.r2)], actor=KIM)
    log.change_target_date(road.r1, MARCH_1 + timedelta(days=7), by(PAT, "QA finished early."))
    log.change_target_date(road.r1, MARCH_1 + timedelta(days=28), by(PAT, "Vendor outage."))
    log.change_target_date(road.r2, date(2027, 6, 4), by(PAT, "Holiday."))
    log.schedule_feature(road.csv, road.r1, by(PAT, "Back in scope."))
    log.unschedule_feature(road.csv, by(PAT, "Too big."))
    log.schedule_feature(road.csv, road.r1, by(PAT, "Split and back in."))
    return road, str(decision)


def test_the_slip_ledger_lists_every_date_change_with_its_reason_and_totals(
        log: DecisionLog, views: Views, read: Reader) -> None:
    road, decision = a_bumpy_quarter(log)

    ledger = through_time.slip_ledger(read(log, views), str(road.r1))

    assert ledger is not None
    assert [(c["old_target_date"], c["target_date"], c["delta_days"], c["kind"])
            for c in ledger["changes"]] == [
        ("2027-03-01", "2027-03-15", 14, "slip"),
        ("2027-03-15", "2027-03-08", -7, "pull-in"),
        ("2027-03-08", "2027-03-29", 21, "slip"),
    ]
    first = ledger["changes"][0]
    assert (first["decision_id"], first["decision"], first["actor"]) == (
        decision, "decision 'Slip 1.0 for CSV'", KIM)
    assert ledger["changes"][2]["rationale"] == "Vendor outage."
    assert ledger["totals"] == {"slips": 2, "pull_ins": 1, "days_slipped": 35,
                                "days_pulled_in": 7, "net_days": 28}
    assert (ledger["planned_target_date"], ledger["target_date"]) == ("2027-03-01",
                                                                      "2027-03-29")


def test_the_releases_that_slipped_most_come_first(log: DecisionLog, views: Views,
                                                   read: Reader) -> None:
    road, _ = a_bumpy_quarter(log)

    ranking = through_time.slipped_most(read(log, views), str(road.product))

    assert [(r["name"], r["slips"], r["days_slipped"]) for r in ranking] == [
        ("1.0", 2, 35), ("2.0", 1, 3)]


def test_each_feature_counts_the_times_it_was_rescheduled(log: DecisionLog, views: Views,
                                                          read: Reader) -> None:
    road, _ = a_bumpy_quarter(log)
    steady = KNOW_WHY.a_feature(log, road.product, "Search")
    log.schedule_feature(steady, road.r3, by(PAT))

    features = through_time.reschedules(read(log, views), str(road.product))

    assert [(f["title"], f["times_rescheduled"]) for f in features] == [
        ("CSV export", 3), ("Search", 0)]
    assert [(m["from"], m["to"]) for m in features[0]["moves"]] == [
        (None, "1.0"), ("1.0", "2.0"), ("2.0", "1.0"), ("1.0", None), (None, "1.0")]


def test_release_notes_come_from_the_benefits_of_the_features_that_shipped(
        log: DecisionLog, views: Views, read: Reader) -> None:
    road = a_roadmap(log)
    search = KNOW_WHY.a_feature(log, road.product, "Search", priority=9)
    log.schedule_feature(search, road.r1, by(PAT))
    log.schedule_feature(road.pdf, road.r1, by(PAT))  # not done: back to the backlog
    for feature_id in (road.csv, search):
        for status in ("accepted", "in_progress", "done"):
            log.change_feature_status(feature_id, status, by(PAT))
    log.ship_release(road.r1, today(), by(PAT, "Shipped."))

    notes = release_notes(read(log, views), str(road.r1))

    assert notes == (
        f"# Ledger 1.0\n\n_Released {today().isoformat()}._\n\n## What's new\n\n"
        "- **Search**: Search in one click.\n"
        "- **CSV export**: CSV export in one click.\n"
    )


def test_release_notes_wait_until_the_release_has_shipped(log: DecisionLog, views: Views,
                                                          read: Reader) -> None:
    road = a_roadmap(log)
    conn = read(log, views)

    with pytest.raises(ReleaseNotShipped, match=r"Release '1\.0' is planned"):
        release_notes(conn, str(road.r1))
    assert release_notes(conn, str(road.csv)) is None

