"""A diff reads what changed in its interval, and answers as if it had read everything.

The net effect is found from the states at the two instants of the features and releases
that changed in between (and of the releases they were in): these tests compare it with the
definition, the net of *every* feature and release of the product at both instants.
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from projections.diff import (
    StepsOf,
    _net_features,
    _net_releases,
    _Snapshot,
    diff_between,
    roadmap_diff,
)
from projections.feeding.catch_up import StoreCatchUp
from projections.intervals import states
from projections.roadmap import FEATURES, RELEASES
from projections.views import Views
from services.commands.application import DecisionLog
from tests.support.builders import BOOKS, by
from tests.support.clock import MONTH_NAMES, SimulatedClock, end_of
from tests.through_time.scenario import MONTHS, YEAR, History


def net_of_everything(history: History, since: datetime, until: datetime,
                      steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The net effect as defined: every feature and release of the product compared."""
    steps_of: StepsOf = defaultdict(list)
    for step in steps:
        steps_of[step["entity_id"]].append(step)
    pid = str(history.product)
    with history.views.reading() as conn:
        before, after = (_Snapshot(states(conn, FEATURES, "product_id = ?", (pid,), at),
                                   states(conn, RELEASES, "product_id = ?", (pid,), at))
                         for at in (since, until))
    return {"features": _net_features(before, after, steps_of),
            "releases": _net_releases(before, after, steps_of)}


def test_the_net_is_that_of_every_feature_and_release_between_any_two_instants(
        history: History) -> None:
    with history.views.reading() as conn:
        instants = sorted({datetime.fromisoformat(row[0]) for row in conn.execute(
            "SELECT occurred_at FROM audit WHERE product_id = ?", (str(history.product),))})
        created = datetime.fromisoformat(conn.execute(
            "SELECT min(valid_from) FROM products WHERE entity_id = ?",
            (str(history.product),)).fetchone()[0])
    # Month ends, the instants of changes themselves (``since`` excludes a change stamped
    # then, ``until`` includes it) and the microseconds around some of them.
    bounds = sorted({*(end_of(month, YEAR) for month in MONTHS), *instants[::3],
                     *(i - timedelta(microseconds=1) for i in instants[1::7]),
                     *(i + timedelta(microseconds=1) for i in instants[2::7])})
    pairs = [(since, until) for n, since in enumerate(bounds) for until in bounds[n + 1:]]

    compared = 0
    for since, until in pairs[::5]:
        with history.views.reading() as conn:
            found = diff_between(conn, str(history.product), since, until)
        if found is None:  # the product did not exist yet
            assert until < created
            continue
        assert found["net"] == net_of_everything(history, since, until, found["changes"]), (
            since, until)
        compared += bool(found["changes"])
    assert compared > 100


def test_a_change_stamped_before_the_interval_but_valid_only_inside_it_is_in_the_net(
        log: DecisionLog, views: Views, catchup: StoreCatchUp,
        calendar: SimulatedClock) -> None:
    product = BOOKS.a_product(log)
    release = BOOKS.a_release(log, product, "1.0", date(2026, 9, 1))
    calendar.on(MONTH_NAMES[2], 2, YEAR)
    log.change_target_date(release, date(2026, 9, 8), by("carol", "Vendor API late"))
    slipped_at = calendar.now
    calendar.now = slipped_at - timedelta(minutes=10)  # the next writer's clock is behind
    log.change_target_date(release, date(2026, 9, 22), by("dave", "Certification too"))
    catchup.run_until_caught_up()
    since = slipped_at - timedelta(minutes=5)  # after dave's stamp, before his version began
    calendar.now = slipped_at + timedelta(hours=2)

    found = roadmap_diff(views, product, since, slipped_at + timedelta(hours=1))

    assert found is not None
    assert [(s["actor"], s["new"]) for s in found["changes"]] == [("carol", "2026-09-08")]
    assert [(r["name"], r["old"], r["new"], [b["actor"] for b in r["because"]])
            for r in found["net"]["releases"]["slipped"]] == [
        ("1.0", "2026-09-01", "2026-09-22", ["carol"])]
