"""The as-of read proposed in ``benchmarks/as_of_reads.py`` (one indexed lookup per entity)
reads exactly the roadmap that the current range scan reads, at any instant."""

from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.as_of_reads import proposed_roadmap
from tests.support.clock import end_of
from tests.through_time.scenario import MONTHS, YEAR, History


def instants(history: History) -> list[datetime]:
    """Every month end, and the instant of every change and a microsecond before it."""
    moments = [end_of(month, YEAR) for month in MONTHS[:-1]]
    for item in history.views.product_history(history.product):
        at = datetime.fromisoformat(item["occurred_at"])
        moments += [at, at - timedelta(microseconds=1)]
    return [datetime(2025, 12, 31, tzinfo=UTC), *moments]


def test_the_proposed_as_of_read_answers_what_the_range_scan_answers(history: History) -> None:
    with history.views.reading() as conn:
        for at in instants(history):
            assert proposed_roadmap(conn, str(history.product), at) == history.views.roadmap(
                history.product, as_of=at), at


@pytest.mark.parametrize("month", MONTHS[:-1])
def test_the_proposed_as_of_read_of_a_month_end_is_the_snapshot_taken_then(
        history: History, month: str) -> None:
    with history.views.reading() as conn:
        found = proposed_roadmap(conn, str(history.product), end_of(month, YEAR))

    assert found is not None and {**found, "as_of": None} == history.snapshots[month]
