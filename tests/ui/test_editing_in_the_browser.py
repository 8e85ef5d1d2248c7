"""An editor plans from the pages alone: a release, a feature with its requirements, its
scheduling, a slipped date; and reverses a decision, which puts the roadmap back."""

from tests.ui.browser import MARKS, People, Plan, Visit, written

pytestmark = MARKS


def test_an_editor_plans_a_release_proposes_and_schedules_a_feature_and_slips_the_date(
        visit: Visit, people: People, plan: Plan) -> None:
    page = visit.page
    visit.sign_in(people.editor)
    visit.go(f"/ui/products/{plan.product}")
    page.click("summary:has-text('Plan a release')")
    page.fill("#release-name", "2.0")
    page.fill("#release-date", "2027-09-01")
    page.fill("#release-theme", "Close in a day")
    page.click("button:has-text('Plan the release')")
    page.wait_for_load_state()
    planned = page.locator("h1").inner_text()
    visit.go(f"/ui/products/{plan.product}")
    page.click("summary:has-text('Propose a feature')")
    page.fill("#feature-title", "Bank feeds")
    page.fill("#feature-problem", "Statements are imported by hand")
    page.fill("#feature-value", "Saves an hour a day")
    page.fill("#feature-benefit", "Your bank's lines arrive by themselves")
    page.fill("#feature-priority", "5")
    page.fill("#feature-requirements", "Import daily\n- Lines appear by 7am\n- No duplicates\n"
                                        "\nMatch payees")
    page.click("button:has-text('Propose the feature')")
    page.wait_for_load_state()
    requirements = page.locator(".requirements > li").all_inner_texts()
    page.select_option("#schedule-release", label="2.0 (target 2027-09-01)")
    page.fill("#schedule-rationale", "The theme of 2.0")
    page.click("button:has-text('Schedule')")
    page.wait_for_load_state()
    notice, facts = page.locator("[role=status]").inner_text(), page.locator(".facts").inner_text()
    page.click(".facts a:text-is('2.0')")
    page.fill("#date-target", "2027-09-20")
    page.fill("#date-rationale", "Bank certification")
    page.fill("#date-evidence", "https://bank.example/certification")
    page.click("button:has-text('Change the date')")
    page.wait_for_load_state()
    visit.look("release-slipped")
    slips = page.locator(".timeline.slips").inner_text()
    labels = page.locator("svg.slip-chart .point text").all_text_contents()

    assert planned == "Release 2.0"
    assert requirements == ["R1 Import daily\n\nLines appear by 7am\nNo duplicates",
                            "R2 Match payees"]
    assert notice == "Feature scheduled." and "in release 2.0, target 2027-09-01" in facts
    assert "Slip: 2027-09-01 → 2027-09-20 (+19 days)" in slips and "Bank certification" in slips
    assert page.locator("a[href='https://bank.example/certification']").count() >= 1
    assert labels == ["1. +19 d: Bank certification"]


def test_reversing_a_decision_from_its_page_puts_the_roadmap_back(
        visit: Visit, people: People, plan: Plan) -> None:
    with people.api(people.editor) as api:
        decision = written(api.post(f"/products/{plan.product}/decisions", json={
            "title": "Export waits for 1.1", "context": "1.0 is full",
            "chosen_option": "Wait", "options": [{"name": "Wait"}, {"name": "Squeeze in"}],
            "rationale": "Focus", "deciders": ["olivia"]}))["id"]
        written(api.post(f"/decisions/{decision}/accept", json={"changes": [
            {"kind": "move_feature", "feature_id": plan.feature, "release_id": plan.r2}]}))
    page = visit.page
    visit.sign_in(people.editor)
    visit.go(f"/ui/decisions/{decision}")
    page.fill("#reverse-rationale", "The customer paid for it in 1.0")
    page.click("button:has-text('Reverse the decision')")
    page.wait_for_load_state()
    visit.look("reversal")
    reversal = page.locator("h1").inner_text()
    relations = page.locator(".relations").inner_text()
    changed = page.locator("ul.changed").inner_text()
    page.click(".relations a")
    reversed_status = page.locator(".facts .badge").inner_text()

    assert reversal == "Reverse: Export waits for 1.1"
    assert relations == "Reverses Export waits for 1.1"
    assert "Moved feature CSV export from release 1.1 to release 1.0" in changed
    assert reversed_status == "reversed"
    with people.api(people.editor) as api:
        assert api.get(f"/features/{plan.feature}").json()["release_id"] == plan.r1
