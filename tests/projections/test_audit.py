"""The audit trail: who changed what, when, from what to what, and why."""

from datetime import timedelta

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from tests.projections.scenario import roadmap_story
from tests.support.builders import BOOKS, by
from tests.support.clock import JAN_5_2026, SimulatedClock


def test_a_move_records_who_when_the_old_and_new_release_and_why(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    moves = views.audit(entity_id=story.features["Export"], change_type="feature.scheduled")

    move = moves["items"][-1]
    assert move["summary"] == "bob moved feature 'Export' from release '1.0' to release '1.1'"
    assert move["actor"] == "bob"
    assert move["rationale"] == "Too big for 1.0"
    assert move["changes"] == [
        {"field": "release_id", "old": str(story.releases["1.0"]),
         "new": str(story.releases["1.1"])},
        {"field": "release", "old": "1.0", "new": "1.1"},
    ]
    assert move["occurred_at"].startswith("2026-01-05T09:")


def test_a_slip_records_the_old_and_new_date_the_delta_and_the_evidence(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()

    [slip] = views.audit(change_type="release.target_date_changed")["items"]

    assert slip["summary"] == (
        "carol slipped release '1.1' by 14 days, from 2026-06-01 to 2026-06-15")
    assert slip["changes"] == [
        {"field": "target_date", "old": "2026-06-01", "new": "2026-06-15"},
        {"field": "delta_days", "old": None, "new": 14},
    ]
    assert (slip["rationale"], slip["evidence"]) == ("Vendor API late", ["https://tickets/42"])
    assert slip["entity_id"] == str(story.releases["1.1"])
    assert slip["product_id"] == str(story.product)


def test_every_item_has_the_agreed_fields(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    roadmap_story(log)
    catchup.run_until_caught_up()

    items = views.audit(limit=1000)["items"]

    assert len(items) == views.event_count() == log.event_count()
    assert {tuple(item) for item in items} == {(
        "event_id", "position", "occurred_at", "actor", "entity_type", "entity_id",
        "entity_version", "product_id", "type", "summary", "changes", "rationale", "evidence",
        "decision_id", "correlation_id", "caused_by")}
    assert [item["position"] for item in items] == list(range(1, len(items) + 1))


def test_a_rename_reads_with_the_old_title_and_later_changes_with_the_new_one(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    feature = BOOKS.a_feature(log, BOOKS.a_product(log), "Export")
    log.revise_feature(feature, by("alice", "Clearer"), title="CSV export")
    log.change_priority(feature, 4, by("alice", "Asked for often"))
    catchup.run_until_caught_up()

    summaries = [item["summary"] for item in views.history(feature)]

    assert summaries == [
        "alice proposed feature 'Export' for product 'Ledger'",
        "alice revised the title of feature 'Export'",
        "alice changed the priority of feature 'CSV export' from 0 to 4",
    ]


def test_the_audit_filters_by_product_actor_type_and_time(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    story = roadmap_story(log)
    clock.jump(days=1)
    middle = clock.now
    other = BOOKS.a_product(log, "Other")
    BOOKS.a_feature(log, other, "Elsewhere")
    catchup.run_until_caught_up()

    by_product = views.audit(product_id=other)["items"]
    by_actor = views.audit(actor="carol")["items"]
    by_type = views.audit(change_type="release.cancelled")["items"]
    since = views.audit(since=middle)["items"]
    until = views.audit(until=middle, limit=1000)["items"]

    assert [i["type"] for i in by_product] == ["product.created", "feature.proposed"]
    assert by_actor and {i["actor"] for i in by_actor} == {"carol"}
    assert [i["entity_id"] for i in by_type] == [str(story.releases["Beta"])]
    assert since == by_product
    assert len(until) == views.event_count() - 2


def test_pages_follow_each_other_without_gaps_or_overlaps(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    roadmap_story(log)
    catchup.run_until_caught_up()
    pages, cursor = [], None

    while True:
        page = views.audit(limit=7, cursor=cursor)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert all(len(page) == 7 for page in pages[:-1])
    assert [i for page in pages for i in page] == views.audit(limit=1000)["items"]


def test_an_entity_history_is_oldest_first_and_can_stop_at_an_instant(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    feature = BOOKS.a_feature(log, BOOKS.a_product(log), "Export")
    log.change_feature_status(feature, "accepted", by("alice", "Fits the strategy"))
    then = clock.jump(days=2)
    log.change_feature_status(feature, "in_progress", by("alice", "Sprint 4"))
    catchup.run_until_caught_up()

    history = views.history(feature)
    earlier = views.history(feature, as_of=then)

    assert [i["entity_version"] for i in history] == [1, 2, 3]
    assert earlier == history[:2]
    assert history[2]["changes"] == [{"field": "status", "old": "accepted", "new": "in_progress"}]


def test_a_product_history_holds_the_product_its_features_and_its_releases(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    BOOKS.a_product(log, "Unrelated")
    catchup.run_until_caught_up()

    history = views.product_history(story.product)
    as_of_start = views.product_history(story.product, as_of=JAN_5_2026 + timedelta(seconds=1))

    entities = {i["entity_id"] for i in history}
    assert entities == {str(story.product), *map(str, story.releases.values()),
                        *map(str, story.features.values())}
    assert [i["position"] for i in history] == sorted(i["position"] for i in history)
    assert [i["type"] for i in as_of_start] == ["product.created"]


def test_the_audit_lists_one_commands_changes_with_each_cascade_under_its_cause(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    from domain.context import correlated
    from tests.support.builders import LEDGER, because, scheduled

    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    scheduled(log, LEDGER.a_feature(log, product_id), release_id)
    with correlated("req-7"):
        log.cancel_release(release_id, because("Merged"))
    catchup.run_until_caught_up()

    items = views.audit(correlation="req-7")["items"]

    assert [i["type"] for i in items] == [
        "release.feature_removed", "feature.unscheduled", "release.cancelled"]
    cancelled = items[-1]
    assert [i["caused_by"]["event_id"] if i["caused_by"] else None for i in items] == [
        cancelled["event_id"], cancelled["event_id"], None]
    assert {i["correlation_id"] for i in items} == {"req-7"}
