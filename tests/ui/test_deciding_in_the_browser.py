"""A product manager decides, from the pages alone, to move a feature and slip a release, then
finds the reason everywhere someone would ask: the roadmap, the feature's history, the slip
chart, the roadmap as it stood before, what changed since, the audit and the search."""

import time
from datetime import UTC, datetime
from typing import Any

from tests.ui.browser import MARKS, People, Plan, Visit

pytestmark = MARKS

RATIONALE = "The zanzibar pilot renews only if import ships first"


def features_of(page: Any, release: str) -> list[str]:
    """The feature cards under ``release`` on the roadmap timeline."""
    card = page.locator(".roadmap-timeline > li", has=page.locator(
        f"h3.release-name a:text-is('{release}')"))
    titles: list[str] = card.locator(".feature .title").all_inner_texts()
    return titles


def an_instant_between_steps() -> str:
    """Now, to the second (what the as-of picker sends), with a second on either side so
    that the changes before and after it fall clearly on their sides."""
    time.sleep(1.1)
    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    time.sleep(1.1)
    return moment


def propose_the_decision(visit: Visit) -> None:
    page = visit.page
    page.click("text=Propose a decision")
    visit.look("new-decision")
    page.fill("#decision-title", "Export moves to 1.1, which slips two weeks")
    page.fill("#decision-context", "Import is late and the pilot customer needs it first.")
    page.fill("#option-1-name", "Move export to 1.1")
    page.fill("#option-1-pros", "1.0 ships on time\nImport gets the whole team")
    page.fill("#option-1-cons", "Export comes three months later")
    page.fill("#option-2-name", "Keep export in 1.0")
    page.fill("#option-2-cons", "1.0 slips")
    page.fill("#decision-rationale", RATIONALE)
    page.fill("#decision-evidence", "https://wiki.example/pilot-renewal")
    page.click("button:has-text('Propose the decision')")
    page.wait_for_load_state()


def accept_with_changes(visit: Visit) -> None:
    page = visit.page
    page.select_option("#change-1-kind", "move_feature")
    page.select_option("#change-1-feature", label="CSV export")
    page.select_option("#change-1-release", label="1.1 (target 2027-06-01)")
    page.select_option("#change-2-kind", "change_target_date")
    page.select_option("#change-2-release", label="1.1 (target 2027-06-01)")
    page.fill("#change-2-date", "2027-06-15")
    page.click("button:has-text('Accept the decision')")
    page.wait_for_load_state()


def test_a_product_manager_moves_a_feature_and_slips_a_release_by_a_decision_and_finds_why(
        visit: Visit, people: People, plan: Plan) -> None:
    page = visit.page
    visit.sign_in(people.editor)
    visit.look("home")
    visit.go(f"/ui/products/{plan.product}")
    visit.look("product")
    before = an_instant_between_steps()
    assert features_of(page, "1.0") == ["CSV export"]

    propose_the_decision(visit)
    assert page.locator(".badge.status-proposed").inner_text() == "proposed"
    visit.look("decision-proposed")
    accept_with_changes(visit)
    visit.look("decision-accepted")
    changed = page.locator("ul.changed").inner_text()

    visit.go(f"/ui/products/{plan.product}")
    on_1_0, on_1_1 = features_of(page, "1.0"), features_of(page, "1.1")
    target_1_1 = page.locator(".roadmap-timeline > li", has=page.locator(
        "h3.release-name a:text-is('1.1')")).locator(".release-meta time").inner_text()
    page.click(".feature .title:text-is('CSV export')")
    visit.look("feature")
    last_change = page.locator("#history ~ .timeline > .event").last.inner_text()
    page.click("text=Export moves to 1.1, which slips two weeks")  # the lineage link
    landed_on_decision = page.url
    visit.go(f"/ui/releases/{plan.r2}")
    visit.look("release")
    chart_labels = page.locator("svg.slip-chart .point text").all_text_contents()

    visit.go(f"/ui/products/{plan.product}")
    page.fill("#as-of", before)
    page.click("button:has-text('Show')")
    page.wait_for_load_state()
    visit.look("product-as-of")
    then_1_0, then_1_1 = features_of(page, "1.0"), features_of(page, "1.1")
    page.fill("#since", before)
    page.click("button:has-text('Show changes')")
    page.wait_for_load_state()
    visit.look("changes")
    moved = page.locator(".net > li", has_text="moved from release 1.0 to release 1.1")
    moved_count, moved_text = moved.count(), moved.first.inner_text()
    decision_links = moved.locator(
        "a:text-is('Export moves to 1.1, which slips two weeks')").count()

    visit.go("/ui/search")
    page.fill("#search-q", "zanzibar")
    page.click("main button:has-text('Search')")
    page.wait_for_load_state()
    everything = page.locator(".results .result a").all_inner_texts()
    page.select_option("#search-kind", "decision")
    page.click("main button:has-text('Search')")
    page.wait_for_load_state()
    visit.look("search")
    found = page.locator(".results .result a").all_inner_texts()
    page.click(".results .result a")
    found_decision = page.locator("h1").inner_text()
    visit.go("/ui/audit?actor=olivia&type=release.target_date_changed")
    visit.look("audit")
    audited = page.locator(".timeline.audit .event").all_inner_texts()

    assert "Moved feature CSV export from release 1.0 to release 1.1" in changed
    assert "from 2027-06-01 to 2027-06-15" in changed
    assert (on_1_0, on_1_1, target_1_1) == ([], ["CSV export"], "2027-06-15")
    assert "moved feature 'CSV export' from release '1.0' to release '1.1'" in last_change
    assert RATIONALE in last_change and "The decision behind this change" in last_change
    assert "/ui/decisions/" in landed_on_decision
    assert chart_labels == [f"1. +14 d: {RATIONALE[:33]}…"]
    assert (then_1_0, then_1_1) == (["CSV export"], [])
    assert moved_count == 1 and decision_links == 1
    assert RATIONALE in moved_text and "olivia" in moved_text
    # What the decision changed carries its reason too: the feature and both releases.
    assert sorted(everything) == ["1.0", "1.1", "CSV export",
                                  "Export moves to 1.1, which slips two weeks"]
    assert found == [found_decision] == ["Export moves to 1.1, which slips two weeks"]
    assert len(audited) == 1 and RATIONALE in audited[0]
