"""The roadmap: releases in date order with their features, the backlog, now / next / later."""

from datetime import date
from typing import Any
from uuid import uuid4

from domain.feature import Feature
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from tests.projections.scenario import roadmap_story
from tests.support.builders import BOOKS, by


def titles(features: list[dict[str, Any]]) -> list[str]:
    return [f["title"] for f in features]


def names(releases: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in releases]


def test_releases_are_listed_in_target_date_order_with_their_state_and_features(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(story.product)

    assert roadmap is not None
    assert [(r["name"], r["target_date"], r["state"], r["shipped_on"], titles(r["features"]))
            for r in roadmap["releases"]] == [
        ("Beta", "2026-02-01", "cancelled", None, []),
        ("1.0", "2026-03-01", "shipped", "2026-01-05", ["SSO"]),  # the story's first day
        ("1.1", "2026-06-15", "planned", None, ["Export"]),
        ("2.0", "2026-09-01", "planned", None, []),
    ]


def test_a_shipped_release_keeps_its_shipped_features(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(story.product)

    assert roadmap is not None
    [shipped] = roadmap["shipped"]
    assert shipped["name"] == "1.0"
    assert [(f["title"], f["status"]) for f in shipped["features"]] == [("SSO", "shipped")]


def test_unfinished_and_cancelled_scope_returns_to_the_backlog_by_priority(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(story.product)

    assert roadmap is not None
    assert titles(roadmap["backlog"]) == ["Audit log", "Import", "Dark mode"]
    assert titles(roadmap["rejected"]) == ["Legacy sync"]
    assert names(roadmap["cancelled"]) == ["Beta"]


def test_now_is_the_earliest_open_release_and_next_the_one_after(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(story.product)

    assert roadmap is not None
    assert roadmap["now"]["name"] == "1.1"
    assert roadmap["next"]["name"] == "2.0"
    assert roadmap["later"] == {"releases": [], "features": roadmap["backlog"]}


def test_later_holds_the_open_releases_after_next_and_the_wanted_backlog(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    for number in range(4):
        BOOKS.a_release(log, product, f"R{number}", date(2026, 4 + number, 1))
    BOOKS.a_feature(log, product, "Wanted")
    parked = BOOKS.a_feature(log, product, "Parked")
    log.change_feature_status(parked, "deferred", by("alice", "Not this year"))
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert (roadmap["now"]["name"], roadmap["next"]["name"]) == ("R0", "R1")
    assert names(roadmap["later"]["releases"]) == ["R2", "R3"]
    assert titles(roadmap["later"]["features"]) == ["Wanted"]
    assert titles(roadmap["backlog"]) == ["Parked", "Wanted"]


def test_the_backlog_is_ordered_by_priority_then_title(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    for title, priority in [("b", 1), ("a", 1), ("c", 9), ("d", 0)]:
        BOOKS.a_feature(log, product, title, priority)
    raised = BOOKS.a_feature(log, product, "e", 2)
    log.change_priority(raised, 10, by("alice", "Biggest customer asked"))
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert [(f["title"], f["priority"]) for f in roadmap["backlog"]] == [
        ("e", 10), ("c", 9), ("a", 1), ("b", 1), ("d", 0)]


def test_backlog_titles_of_equal_priority_are_ordered_without_regard_to_case(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    for title in ["beta", "Alpha", "alpha", "Gamma"]:
        BOOKS.a_feature(log, product, title, 1)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert [f["title"] for f in roadmap["backlog"]] == ["Alpha", "alpha", "beta", "Gamma"]


def test_a_renamed_feature_shows_its_new_title(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    feature = BOOKS.a_feature(log, product, "Export")
    log.revise_feature(feature, by("alice", "Clearer"), title="CSV export")
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert titles(roadmap["backlog"]) == ["CSV export"]


def test_an_unknown_product_has_no_roadmap(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    BOOKS.a_product(log)
    catchup.run_until_caught_up()

    assert views.roadmap(uuid4()) is None


def test_products_are_listed_by_name_with_retired_ones_flagged(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    zed, abacus = BOOKS.a_product(log, "Zed"), BOOKS.a_product(log, "Abacus")
    log.retire_product(zed, by("alice", "Sunset"))
    log.revise_vision(abacus, "Counting for everyone", by("alice", "Broader market"))
    catchup.run_until_caught_up()

    products = views.list_products()

    assert [(p["name"], p["retired"], p["vision"]) for p in products] == [
        ("Abacus", False, "Counting for everyone"),
        ("Zed", True, "Books that balance themselves"),
    ]


def test_a_rejected_feature_is_listed_as_rejected_not_in_its_release_or_now(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    release = BOOKS.a_release(log, product, "1.0", date(2026, 4, 1))
    for title in ("Kept", "Dropped"):
        log.schedule_feature(BOOKS.a_feature(log, product, title), release, by("alice", "Fits"))
    dropped = next(f for f in log.get_release(release).feature_ids
                   if log.get_feature(f).title == "Dropped")
    log.change_feature_status(dropped, "rejected", by("alice", "No longer needed"))
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert titles(roadmap["rejected"]) == ["Dropped"]
    assert titles(roadmap["now"]["features"]) == ["Kept"]
    assert [titles(r["features"]) for r in roadmap["releases"]] == [["Kept"]]
    assert titles(roadmap["backlog"]) == []


def test_a_feature_rejected_in_its_release_before_that_took_it_out_is_listed_as_rejected(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    release = BOOKS.a_release(log, product, "1.0", date(2026, 4, 1))
    legacy = BOOKS.a_feature(log, product, "Legacy sync")
    log.schedule_feature(legacy, release, by("alice", "Fits"))
    feature = log.get_feature(legacy)  # rejected as stored before rejecting unscheduled
    feature.record(Feature.StatusChanged, by("alice", "Dropped"), old_status="proposed",
                   status="rejected")
    log.save(feature)
    catchup.run_until_caught_up()

    roadmap = views.roadmap(product)

    assert roadmap is not None
    assert titles(roadmap["rejected"]) == ["Legacy sync"]
    assert roadmap["now"]["features"] == [] and roadmap["backlog"] == []
