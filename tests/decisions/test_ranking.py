"""Rankings as of a past instant: recomputed from the stored scores and explained."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidCommand
from services.commands.application import DecisionLog
from tests.decisions.scenario import KIM, PAT, a_roadmap
from tests.support.builders import KNOW_WHY, by
from tests.support.clock import SimulatedClock, stamping_with

JAN_5 = datetime(2026, 1, 5, 9, tzinfo=UTC)
JAN_20 = datetime(2026, 1, 20, 9, tzinfo=UTC)
FEB_2 = datetime(2026, 2, 2, 9, tzinfo=UTC)
FEB_10 = datetime(2026, 2, 10, 9, tzinfo=UTC)


@pytest.fixture
def time() -> Iterator[SimulatedClock]:
    """A clock the test moves forward by hand."""
    yield from stamping_with(SimulatedClock(JAN_5))


def test_a_rice_ranking_is_reproduced_at_an_old_date_after_the_inputs_changed(
        log: DecisionLog, time: SimulatedClock) -> None:
    road = a_roadmap(log)
    search = KNOW_WHY.a_feature(log, road.product, "Search")
    log.score_priority(road.csv, "rice", {"reach": 1000, "impact": 1, "confidence": 0.5,
                                          "effort": 2}, by(PAT, "January scoring."))
    log.score_priority(search, "rice", {"reach": 500, "impact": 2, "confidence": 0.8,
                                        "effort": 1}, by(PAT, "January scoring."))
    time.now = FEB_2
    log.score_priority(road.csv, "rice", {"reach": 4000, "impact": 2, "confidence": 0.8,
                                          "effort": 2}, by(KIM, "Usage data came in."))
    time.now = FEB_10

    january = log.rank_features(road.product, as_of=JAN_20)
    today = log.rank_features(road.product)

    assert [(r.rank, r.title, r.priority) for r in january] == [
        (1, "Search", 800.0), (2, "CSV export", 250.0), (3, "PDF export", 3.0)]
    assert [(r.title, r.priority) for r in today][:2] == [("CSV export", 3200.0),
                                                           ("Search", 800.0)]
    csv_then = january[1]
    assert (csv_then.formula, csv_then.reproduced) == ("rice.v1", True)
    assert csv_then.inputs == {"reach": 1000, "impact": 1, "confidence": 0.5, "effort": 2}
    assert csv_then.explanation == (
        "Scored rice.v1: 1000 * 1 * 0.5 / 2 = 250 on 2026-01-05 by pat@example.com: "
        "January scoring.")
    assert january[2].explanation == "Proposed with priority 3 on 2026-01-05 by pat@example.com."


def test_a_hand_set_priority_is_explained_as_such(log: DecisionLog,
                                                   time: SimulatedClock) -> None:
    road = a_roadmap(log)
    time.now = JAN_20
    log.change_priority(road.pdf, 9, by(KIM, "Customer escalation."))

    ranking = log.rank_features(road.product)

    assert ranking[0].explanation == (
        "Set by hand to 9 on 2026-01-20 by kim@example.com: Customer escalation.")
    assert ranking[0].formula is None


def test_a_ranking_before_a_feature_existed_leaves_it_out(log: DecisionLog,
                                                          time: SimulatedClock) -> None:
    road = a_roadmap(log)
    time.now = FEB_2
    KNOW_WHY.a_feature(log, road.product, "Search")

    assert [r.title for r in log.rank_features(road.product, as_of=JAN_20)] == [
        "CSV export", "PDF export"]


def test_a_feature_proposed_after_a_ranking_is_in_the_next_one(log: DecisionLog,
                                                               time: SimulatedClock) -> None:
    road = a_roadmap(log)
    before = [r.title for r in log.rank_features(road.product)]
    KNOW_WHY.a_feature(log, road.product, "Search")
    other = a_roadmap(log)  # another product's feature is not this product's
    KNOW_WHY.a_feature(log, other.product, "Sharing")

    after = [r.title for r in log.rank_features(road.product)]

    assert sorted(after) == sorted([*before, "Search"])


def test_rejected_and_shipped_features_are_not_ranked(log: DecisionLog,
                                                      time: SimulatedClock) -> None:
    road = a_roadmap(log)
    log.change_feature_status(road.pdf, "rejected", by(PAT))

    assert [r.title for r in log.rank_features(road.product)] == ["CSV export"]


@pytest.mark.parametrize(("as_of", "message"), [
    (FEB_10 + timedelta(days=1), "as_of is in the future"),
    (datetime(2026, 1, 20), "as_of needs a timezone"),
])
def test_a_ranking_as_of_a_bad_instant_is_refused(log: DecisionLog, time: SimulatedClock,
                                                  as_of: datetime, message: str) -> None:
    road = a_roadmap(log)
    time.now = FEB_10
    with pytest.raises(InvalidCommand, match=message):
        log.rank_features(road.product, as_of=as_of)
