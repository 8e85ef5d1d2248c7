"""A quarter of roadmap decisions on a simulated clock, read back through time."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from domain.decision import ACCEPTED, REVERSED, SUPERSEDED
from domain.errors import RuleViolation
from projections import slips as through_time
from projections.feeding.catch_up import StoreCatchUp
from projections.release_notes import release_notes
from projections.views import Views
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from services.runtime.settings import Settings
from tests.decisions.scenario import KIM, PAT, Roadmap, a_roadmap
from tests.support.builders import KNOW_WHY, by
from tests.support.clock import JAN_5_2026, SimulatedClock, stamping_with
from tests.support.views import open_views_of

RICE_JANUARY = {"reach": 1000, "impact": 1, "confidence": 0.5, "effort": 2}
RICE_FEBRUARY = {"reach": 4000, "impact": 2, "confidence": 0.8, "effort": 2}


@pytest.fixture
def calendar() -> Iterator[SimulatedClock]:
    """Simulated time: each reading is a second later; ``on`` jumps to a day of 2026."""
    yield from stamping_with(SimulatedClock(JAN_5_2026, step=timedelta(seconds=1)))


@pytest.fixture
def views(settings: Settings) -> Iterator[Views]:
    """Beside the log: in the test's folder, or in its PostgreSQL database."""
    yield from open_views_of(settings)


def release_of(views: Views, road: Roadmap, title: str, at: datetime) -> str | None:
    roadmap = views.roadmap(road.product, as_of=at)
    assert roadmap is not None
    for release in roadmap["releases"]:
        if any(f["title"] == title for f in release["features"]):
            return str(release["name"])
    return None


def target_of(views: Views, road: Roadmap, name: str, at: datetime | None) -> str:
    roadmap = views.roadmap(road.product, as_of=at)
    assert roadmap is not None
    return next(str(r["target_date"]) for r in roadmap["releases"] if r["name"] == name)


def test_a_quarter_of_decisions_reads_back_as_it_was_at_every_step(
        log: DecisionLog, views: Views, calendar: SimulatedClock) -> None:
    road = a_roadmap(log)
    search = KNOW_WHY.a_feature(log, road.product, "Search")
    log.schedule_feature(search, road.r1, by(PAT))

    calendar.on(1, 12)
    log.score_priority(road.csv, "rice", RICE_JANUARY, by(PAT, "January scoring."))
    log.score_priority(search, "rice", {**RICE_JANUARY, "reach": 1500}, by(PAT, "Scoring."))

    calendar.on(1, 20)
    first = road.propose(title="CSV to 2.0, slip 1.0")
    log.accept_decision(first, [MoveFeature(road.csv, road.r2),
                                ChangeTargetDate(road.r1, date(2027, 3, 15))], actor=KIM)
    end_of_january = calendar.on(1, 31)

    calendar.on(2, 3)
    rejected_whole = road.propose(title="PDF into 1.0, keep 2.0",
                                  rationale="PDF is what partners asked for.")
    before = log.event_count()
    with pytest.raises(RuleViolation, match="Change 2 of 2"):
        log.accept_decision(rejected_whole, [MoveFeature(road.pdf, road.r1),
                                             ChangeTargetDate(road.r2, road.target_of(road.r2))],
                            actor=KIM)
    assert log.event_count() == before

    calendar.on(2, 10)
    second = road.propose(title="CSV to 3.0", rationale="2.0 is full.", supersedes=first)
    log.accept_decision(second, [MoveFeature(road.csv, road.r3)], actor=KIM)

    calendar.on(2, 17)
    log.score_priority(road.csv, "rice", RICE_FEBRUARY, by(KIM, "Usage data came in."))

    calendar.on(3, 2)
    slip = road.propose(title="Slip 2.0 a week", rationale="The vendor is a week late.")
    log.accept_decision(slip, [ChangeTargetDate(road.r2, date(2027, 6, 8))], actor=KIM)
    early_march = calendar.on(3, 3)
    calendar.on(3, 5)
    reversal = log.reverse_decision(slip, by(PAT, "The vendor delivered after all.")).id

    calendar.on(3, 16)
    for status in ("accepted", "in_progress", "done"):
        log.change_feature_status(search, status, by(PAT))
    log.ship_release(road.r1, date(2026, 3, 16), by(PAT, "Shipped."))
    StoreCatchUp(log, views).run_until_caught_up()

    # The roadmap as it stood then.
    assert release_of(views, road, "CSV export", end_of_january) == "2.0"
    assert target_of(views, road, "1.0", end_of_january) == "2027-03-15"
    assert release_of(views, road, "CSV export", early_march) == "3.0"
    assert target_of(views, road, "2.0", early_march) == "2027-06-08"
    assert target_of(views, road, "2.0", None) == "2027-06-01"

    # Superseded and reversed, with their lineage.
    assert [(s.decision_id, s.status) for s in log.entity_lineage(road.csv)] == [
        (first, SUPERSEDED), (second, ACCEPTED)]
    assert log.decision_lineage(first).superseded_by == second
    slipped = log.decision_lineage(slip)
    assert (slipped.status, slipped.reversed_by) == (REVERSED, reversal)
    assert [s.decision_id for s in slipped.changed_again_by] == [reversal]

    # Which dates slipped, and why.
    with views.reading() as conn:
        ledger = through_time.slip_ledger(conn, str(road.r2))
        assert ledger is not None
        assert [(c["delta_days"], c["decision"]) for c in ledger["changes"]] == [
            (7, "decision 'Slip 2.0 a week'"), (-7, "decision 'Reverse: Slip 2.0 a week'")]
        assert ledger["totals"]["net_days"] == 0
        notes = release_notes(conn, str(road.r1))
    assert notes is not None and "- **Search**: Search in one click." in notes
    assert "CSV" not in notes

    # The January ranking, recomputed from what was recorded then.
    january = log.rank_features(road.product, as_of=end_of_january)
    assert [(r.title, r.priority) for r in january] == [("Search", 375.0),
                                                        ("CSV export", 250.0),
                                                        ("PDF export", 3.0)]
    assert [r.title for r in log.rank_features(road.product)][:1] == ["CSV export"]
