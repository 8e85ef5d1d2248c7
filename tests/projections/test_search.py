"""Search: which products, features, releases and decisions mention these words, now or in
the reason of a past change; one item per entity, best first, with a link and a snippet."""

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from projections import search
from projections.feeding.catch_up import StoreCatchUp
from projections.feeding.rebuild import rebuild
from projections.search import InvalidQuery, snippet_parts
from projections.views import Views
from services.commands.application import DecisionLog
from tests.projections.search_index import search_content
from tests.projections.test_rebuild_matches_catch_up import a_rich_history, caught_up
from tests.support.builders import BOOKS, by
from tests.support.clock import SimulatedClock

#: A feature whose text does not repeat its title (BOOKS' does), so a rename shows.
PLAIN = {"problem": "Analysts retype figures", "business_value": "Retention",
         "benefit": "Figures leave in one click"}


def found(views: Views, q: str, **filters: Any) -> list[tuple[str, str]]:
    """(kind, title) of each item found, best first."""
    return [(item["kind"], item["title"]) for item in views.search(q, **filters)["items"]]


def test_each_kind_of_entity_is_found_by_its_words_with_a_link_and_a_snippet(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log, vision="Books that balance themselves overnight")
    feature = BOOKS.a_feature(log, product, "Bank feeds", **PLAIN)
    release = BOOKS.a_release(log, product, "Spring", date(2027, 3, 1),
                              theme="Feeds from every bank")
    decision = BOOKS.a_decision(log, product, "Feeds before reports",
                                context="Banks change their formats every spring")
    catchup.run_until_caught_up()

    answer = views.search("overnight")
    [item] = answer["items"]

    assert item == {"kind": "product", "id": str(product), "product_id": str(product),
                    "title": "Ledger",
                    "snippet": "Books that balance themselves [overnight]\n"
                               "Close the month in a day\nSmall firms",
                    "path": f"/products/{product}", "rank": item["rank"]}
    assert item["rank"] > 0 and answer["next_offset"] is None
    assert {(i["kind"], i["id"], i["path"]) for i in views.search("feeds")["items"]} == {
        ("feature", str(feature), f"/features/{feature}"),
        ("release", str(release), f"/releases/{release}"),
        ("decision", str(decision), f"/decisions/{decision}")}


def test_a_renamed_feature_is_found_by_its_new_title_only(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    feature = BOOKS.a_feature(log, BOOKS.a_product(log), "Export", **PLAIN)
    catchup.run_until_caught_up()
    assert found(views, "export") == [("feature", "Export")]

    log.revise_feature(feature, by("alice", "Clearer"), title="Spreadsheet download")
    catchup.run_until_caught_up()

    assert found(views, "export") == []
    assert found(views, "spreadsheet") == [("feature", "Spreadsheet download")]


def test_revised_requirements_and_vision_replace_the_text_they_revise(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log, vision="Books that balance themselves")
    feature = BOOKS.a_feature(log, product, "Export", **PLAIN)
    log.add_requirement(feature, "Opens in Excel", ["Dates stay dates"], by("alice", "Asked"))
    log.add_requirement(feature, "Keeps currencies", [], by("alice", "Asked"))
    catchup.run_until_caught_up()
    assert found(views, "excel dates") == [("feature", "Export")]

    log.revise_requirement(feature, "R1", "Opens in Numbers", ["Dates stay dates"],
                           by("alice", "Mac users"))
    log.remove_requirement(feature, "R2", by("alice", "Out of scope"))
    log.revise_vision(product, "Close the month in an hour", by("olivia", "Sharper"))
    catchup.run_until_caught_up()

    assert found(views, "excel") == found(views, "currencies") == []
    assert found(views, "numbers") == [("feature", "Export")]
    assert found(views, "balance") == [] and found(views, "hour") == [("product", "Ledger")]


def test_the_rationale_and_evidence_of_past_changes_stay_findable(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    feature = BOOKS.a_feature(log, product, "Export", **PLAIN)
    log.change_priority(feature, 9, by("alice", "The pilot customer asked",
                                       "https://wiki.example/pilot-notes"))
    log.change_priority(feature, 3, by("alice", "Other work came first"))
    kept = BOOKS.a_decision(log, product, "Keep the plan", rationale="The pilot decides")
    rejected = BOOKS.a_decision(log, product, "Slip 1.0")
    log.reject_decision(rejected, by("dana", "The pilot cannot wait"))
    BOOKS.a_decision(log, product, "Hire", rationale="Too much work")
    catchup.run_until_caught_up()

    decisions = views.search("pilot", kind="decision")["items"]
    [by_evidence] = views.search("pilot notes")["items"]

    assert {item["id"] for item in decisions} == {str(kept), str(rejected)}
    assert {item["snippet"] for item in decisions} == {"The [pilot] decides",
                                                       "The [pilot] cannot wait"}
    assert by_evidence["id"] == str(feature)
    assert by_evidence["snippet"] == ("The [pilot] customer asked\n"
                                      "https://wiki.example/[pilot]-[notes]")


def test_search_narrows_to_a_product_and_a_kind(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    ledger, atlas = BOOKS.a_product(log), BOOKS.a_product(log, "Atlas")
    BOOKS.a_feature(log, ledger, "Roadmap export", **PLAIN)
    BOOKS.a_feature(log, atlas, "Roadmap sharing", **PLAIN)
    BOOKS.a_release(log, atlas, "Roadmap 2", date(2027, 3, 1))
    catchup.run_until_caught_up()

    assert len(found(views, "roadmap")) == 3
    assert sorted(found(views, "roadmap", product_id=atlas)) == [
        ("feature", "Roadmap sharing"), ("release", "Roadmap 2")]
    assert found(views, "roadmap", product_id=atlas, kind="feature") == [
        ("feature", "Roadmap sharing")]
    assert found(views, "ledger", kind="product") == [("product", "Ledger")]
    assert found(views, "roadmap", product_id=UUID(int=1)) == []


def test_a_title_match_ranks_above_a_text_match_above_a_reason_match(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    in_reason = BOOKS.a_feature(log, product, "Reports", **PLAIN)
    log.change_priority(in_reason, 2, by("alice", "Invoices need them"))
    BOOKS.a_feature(log, product, "Reminders", **{**PLAIN, "problem": "Invoices go unpaid"})
    BOOKS.a_feature(log, product, "Invoices", **PLAIN)
    catchup.run_until_caught_up()

    items = views.search("invoices")["items"]

    assert [item["title"] for item in items] == ["Invoices", "Reminders", "Reports"]
    assert items[0]["rank"] > items[1]["rank"] > items[2]["rank"]


def test_an_entity_is_answered_once_with_its_best_match(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    feature = BOOKS.a_feature(log, BOOKS.a_product(log), "Pilot export", **PLAIN)
    for priority in (1, 2, 3):
        log.change_priority(feature, priority, by("alice", f"The pilot, take {priority}"))
    catchup.run_until_caught_up()

    [item] = views.search("pilot")["items"]

    assert item["snippet"] == "[Pilot] export"


def test_pages_follow_the_ranking_with_limit_and_offset(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    for n in range(5):
        BOOKS.a_feature(log, product, f"Report {n}", **PLAIN)
    catchup.run_until_caught_up()
    everything = views.search("report", limit=100)["items"]

    pages, offset = [], 0
    while offset is not None:
        page = views.search("report", limit=2, offset=offset)
        pages.append(page["items"])
        offset = page["next_offset"]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [item for page in pages for item in page] == everything


def test_words_match_in_any_form_and_quotes_make_a_phrase(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    product = BOOKS.a_product(log)
    BOOKS.a_feature(log, product, "Bank feeds", **PLAIN)
    BOOKS.a_feature(log, product, "Feeds of the bank", **PLAIN)
    catchup.run_until_caught_up()

    assert len(found(views, "banks feed")) == 2
    assert found(views, '"bank feeds"') == [("feature", "Bank feeds")]


@pytest.mark.parametrize("query", [
    'pilot"', '"pilot', 'AND OR', 'pilot AND', 'NOT pilot', 'NEAR(pilot customer)',
    'title:pilot', 'reason:pilot', '^pilot', 'pilot*', '(pilot', 'pilot)', '-pilot', '+pilot',
    "pilot's", '"" pilot', 'pilot;DROP TABLE audit', '{title body}: pilot', 'pilot\x00',
    'ünïcödé pilot', '%_pilot_%', 'pilot\\', '[pilot]', 'pilot\x1b[31m', '\x00"pilot',
    '\udcff pilot',
    # tsquery syntax (PostgreSQL): operators, prefixes, weights, quotes, a cast
    'pilot & !customer', 'pilot | export', 'pilot <-> customer', 'pilot <2> export',
    'pilot:*', 'pilot:AB', "'pilot'", "pilot'::tsquery", '!!pilot', '((pilot)))',
    'pilot ' * 80, '\u2028pilot\u00a0customer', '数据 pilot', '🚀 pilot',
])
def test_any_text_with_a_word_is_searched_as_words_never_as_syntax(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, query: str) -> None:
    feature = BOOKS.a_feature(log, BOOKS.a_product(log), "Pilot customer export", **PLAIN)
    catchup.run_until_caught_up()

    answer = views.search(query)

    assert answer["next_offset"] is None
    assert all(item["id"] == str(feature) for item in answer["items"])


@pytest.mark.parametrize(("query", "finds"), [
    ("PILOT", True), ("pilots", True), ("Pîlot cüstomer", True), ("pilot's", False),
    ('"pilot customer"', True), ('"customer pilot"', False), ("pilot-customer", True),
    ("pilot & nothing", False), ("pilot | nothing", False), ("pilot:*", True),
    ("pilot " * 80, True), ("x" * 500, False), ("the pilot", False),
])
def test_words_are_found_whatever_their_case_accents_form_or_the_signs_around_them(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, query: str,
        finds: bool) -> None:
    BOOKS.a_feature(log, BOOKS.a_product(log), "Pilot customer export", **PLAIN)
    catchup.run_until_caught_up()

    assert bool(views.search(query)["items"]) is finds


@pytest.mark.parametrize("query", ["", "   ", '""', "*", "-:", "()", "_", "x" * 501])
def test_a_query_without_a_word_or_too_long_is_refused(views: Views, query: str) -> None:
    with pytest.raises(InvalidQuery):
        views.search(query)


def test_an_unknown_kind_is_refused(views: Views) -> None:
    with pytest.raises(InvalidQuery, match="kinds: product, feature, release, decision"):
        views.search("pilot", kind="customer")


def test_brackets_of_the_text_are_escaped_in_a_snippet_and_read_back(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    BOOKS.a_feature(log, BOOKS.a_product(log), "Export [beta] \\ CSV", **PLAIN)
    catchup.run_until_caught_up()

    [item] = views.search("beta")["items"]

    assert item["snippet"] == "Export \\[[beta]\\] \\\\ CSV"
    assert snippet_parts(item["snippet"]) == [("Export [", False), ("beta", True),
                                              ("] \\ CSV", False)]


@pytest.mark.sqlite_only  # the SQLite rebuild's files
def test_a_rebuild_answers_every_search_as_the_catch_up_does(
        log: DecisionLog, clock: SimulatedClock, tmp_path: Path) -> None:
    a_rich_history(log, clock)
    caught_up(log, tmp_path / "caught_up.db")
    rebuild(log, tmp_path / "rebuilt.db", workers=2)
    queries = ["export", "customers asked", "1.0", "ledger", "vendor", "import", "move"]

    answers = []
    for name in ("caught_up.db", "rebuilt.db"):
        views = Views(tmp_path / name)
        answers.append([views.search(q, limit=100) for q in queries])
        views.close()

    assert answers[0] == answers[1]
    assert all(answer["items"] for answer in answers[0])
    assert search_content(tmp_path / "rebuilt.db") == search_content(tmp_path / "caught_up.db")


@pytest.mark.sqlite_only  # a SQLite file of an older version
def test_views_of_the_version_before_search_are_emptied_and_caught_up_with_it(
        log: DecisionLog, tmp_path: Path) -> None:
    BOOKS.a_feature(log, BOOKS.a_product(log), "Export", **PLAIN)
    path = tmp_path / "views.db"
    caught_up(log, path)
    conn = sqlite3.connect(path)  # as version 4 left it: no search tables
    conn.executescript("DROP TABLE search_index; DROP TABLE search_documents; "
                       "PRAGMA user_version = 4;")
    conn.close()

    views = Views(path)
    emptied = (views.position, views.event_count(), found(views, "export"))
    StoreCatchUp(log, views).run_until_caught_up()

    assert emptied == (0, 0, [])
    assert found(views, "export") == [("feature", "Export")]
    assert search.TABLES == ("search_documents", "search_index")
    views.close()
