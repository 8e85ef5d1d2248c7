"""Any roadmap as it was at a past instant: an indexed lookup, not a replay."""

from datetime import date

from projections.feeding.catch_up import StoreCatchUp
from projections.intervals import instant
from projections.views import Views
from services.commands.application import DecisionLog
from tests.support.builders import BOOKS, by
from tests.support.clock import SimulatedClock


def test_the_roadmap_as_of_an_earlier_instant_is_what_it_was_then(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    product = BOOKS.a_product(log)
    release = BOOKS.a_release(log, product, "1.0", date(2026, 3, 1))
    export = BOOKS.a_feature(log, product, "Export", 5)
    log.schedule_feature(export, release, by("alice", "Customers asked"))
    catchup.run_until_caught_up()
    then = clock.jump(days=30)
    roadmap_then = views.roadmap(product)
    log.change_target_date(release, date(2026, 4, 1), by("alice", "Slipped"))
    log.unschedule_feature(export, by("alice", "Not ready"))
    log.revise_feature(export, by("alice", "Clearer"), title="CSV export")
    BOOKS.a_feature(log, product, "Later idea")
    BOOKS.a_release(log, product, "2.0", date(2026, 9, 1))
    catchup.run_until_caught_up()

    as_of = views.roadmap(product, as_of=then)

    assert as_of is not None and roadmap_then is not None
    assert as_of["as_of"] == instant(then)
    assert {**as_of, "as_of": None} == roadmap_then
    assert as_of != views.roadmap(product)


def test_nothing_existed_before_the_product_was_created(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    before = clock.now
    product = BOOKS.a_product(log)
    catchup.run_until_caught_up()

    assert views.roadmap(product, as_of=before) is None
    assert views.list_products(as_of=before) == []
    assert [p["id"] for p in views.list_products()] == [str(product)]


def test_the_products_as_of_an_instant_have_the_vision_they_had_then(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    product = BOOKS.a_product(log)
    then = clock.jump(hours=1)
    log.revise_vision(product, "A new vision", by("alice", "Pivot"))
    catchup.run_until_caught_up()

    [old] = views.list_products(as_of=then)
    [new] = views.list_products()

    assert (old["vision"], old["version"]) == ("Books that balance themselves", 1)
    assert (new["vision"], new["version"]) == ("A new vision", 2)
