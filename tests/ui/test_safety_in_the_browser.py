"""The web app refuses what a page would not offer: viewers get no edit controls and their
posts are refused; a form without its CSRF token is refused; an edit from a stale page says
what changed meanwhile; whatever people typed is shown as text; no inline script may run."""

import re
from typing import Any

import httpx

from tests.ui.browser import MARKS, People, Plan, Visit, written

pytestmark = MARKS

NASTY = '<script>alert("x")</script> "quoted" & \'single\' **bold** [link](javascript:alert(1))'
NASTY_REASON = "<img src=x onerror=alert(1)> because `code` and # heading"


def propose_decision(people: People, plan: Plan, title: str = "Keep 1.0 small") -> str:
    with people.api(people.editor) as api:
        return str(written(api.post(f"/products/{plan.product}/decisions", json={
            "title": title, "context": "1.0 is full", "chosen_option": "Keep",
            "options": [{"name": "Keep", "pros": ["On time"]}, {"name": "Grow"}],
            "rationale": "Ship something", "deciders": ["olivia"]}))["id"])


def post_controls(visit: Visit) -> int:
    """Forms that change something (signing out is not one)."""
    count: int = visit.page.locator("main form[method=post]").count()
    return count


def test_a_viewer_reads_every_page_without_edit_controls_and_their_posts_are_refused(
        visit: Visit, people: People, plan: Plan) -> None:
    decision = propose_decision(people, plan)
    visit.sign_in(people.viewer)
    pages = {"product": f"/ui/products/{plan.product}", "feature": f"/ui/features/{plan.feature}",
             "release": f"/ui/releases/{plan.r1}", "decision": f"/ui/decisions/{decision}",
             "audit": "/ui/audit", "search": "/ui/search?q=ledger"}
    controls = {}
    for name, path in pages.items():
        visit.go(path)
        visit.look(f"viewer-{name}")
        controls[name] = post_controls(visit)
    csrf = visit.csrf()  # the viewer's own, valid token: the role still forbids the change
    visit.expected.append("status of 403")
    refused = visit.page.request.post(
        f"{visit.server.url}/ui/features/{plan.feature}/status",
        form={"csrf": csrf, "expected_version": "2", "status": "accepted",
              "rationale": "I would like it"})

    assert controls == dict.fromkeys(pages, 0)
    assert refused.status == 403 and "changes need an editor" in refused.text()
    with people.api(people.viewer) as api:
        assert api.get(f"/features/{plan.feature}").json()["status"] == "proposed"


def test_a_form_posted_without_its_csrf_token_or_with_a_wrong_one_is_refused(
        visit: Visit, people: People, plan: Plan) -> None:
    visit.sign_in(people.editor)
    visit.go(f"/ui/features/{plan.feature}")
    visit.expected.append("status of 403")
    with visit.page.expect_response(re.compile(r"/status$")) as answered:
        visit.page.evaluate("""feature => {  // a form another page could have made
            const form = document.createElement("form");
            form.method = "post";
            form.action = `/ui/features/${feature}/status`;
            for (const [name, value] of [["status", "accepted"], ["rationale", "forged"]]) {
                const input = document.createElement("input");
                input.name = name; input.value = value; form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""", plan.feature)
    visit.page.wait_for_load_state()
    visit.look("forged-403")
    heading = visit.page.locator("h1").inner_text()
    cookie = {"pdl_session": people.editor}
    form = {"expected_version": "2", "status": "accepted", "rationale": "forged"}
    path = f"{people.url}/ui/features/{plan.feature}/status"
    wrong = httpx.post(path, data={**form, "csrf": "0" * 64}, cookies=cookie)
    signed_out = httpx.post(path, data={**form, "csrf": "0" * 64})

    assert answered.value.status == 403 and heading == "Not allowed"
    assert (wrong.status_code, signed_out.status_code) == (403, 403)
    with people.api(people.editor) as api:
        assert api.get(f"/features/{plan.feature}").json()["status"] == "proposed"


def test_an_edit_from_a_stale_page_is_refused_with_what_changed_meanwhile(
        visit: Visit, people: People, plan: Plan) -> None:
    page = visit.page
    visit.sign_in(people.editor)
    visit.go(f"/ui/features/{plan.feature}")
    with people.api(people.editor) as api:  # someone else, meanwhile
        written(api.post(f"/features/{plan.feature}/status",
                         json={"status": "accepted", "rationale": "Triage took it"}))
    page.select_option("#status-status", "deferred")
    page.fill("#status-rationale", "Not this quarter")
    visit.expected.append("status of 412")
    with page.expect_response(re.compile(r"/status$")) as answered:
        page.click("button:has-text('Change the status')")
    page.wait_for_load_state()
    visit.look("stale-412")
    alert = page.locator("[role=alert]").inner_text()
    kept = page.input_value("#status-rationale")
    version = page.locator("form[action$='/status'] input[name=expected_version]").input_value()

    assert answered.value.status == 412
    assert "Someone changed this since you opened the page" in alert
    assert "you saw version 2; it is now at version 3" in alert
    assert "Triage took it" in alert and "olivia" in alert
    assert kept == "Not this quarter" and version == "3"
    with people.api(people.editor) as api:
        assert api.get(f"/features/{plan.feature}").json()["status"] == "accepted"


def test_whatever_people_typed_is_shown_as_text_and_only_web_links_are_links(
        visit: Visit, people: People, plan: Plan) -> None:
    with people.api(people.editor) as api:
        feature = written(api.post(f"/products/{plan.product}/features", json={
            "title": NASTY, "problem": NASTY, "business_value": "# Not a heading",
            "benefit": "*not emphasis*", "priority": 3}))["id"]
        written(api.post(f"/features/{feature}/schedule", json={
            "release_id": plan.r1, "rationale": NASTY_REASON,
            "evidence": ["javascript:alert(1)", "https://wiki.example/ok", "data:text/html,x"]}))
    decision = propose_decision(people, plan, title=NASTY)
    visit.sign_in(people.editor)
    shown: dict[str, Any] = {}
    for name, path in (("feature", f"/ui/features/{feature}"),
                       ("decision", f"/ui/decisions/{decision}"),
                       ("product", f"/ui/products/{plan.product}"),
                       ("audit", f"/ui/audit?entity={feature}")):
        visit.go(path)
        visit.look(f"typed-{name}")
        main = visit.page.locator("main")
        shown[name] = {
            "text": main.inner_text(),
            "scripts": main.locator("script, img").count(),
            "bad links": main.locator("a[href^='javascript:'], a[href^='data:']").count(),
            "web links": main.locator("a[href='https://wiki.example/ok']").count(),
        }

    assert visit.page.locator("h1").inner_text() == "Audit trail"
    assert NASTY in shown["feature"]["text"] and NASTY_REASON in shown["feature"]["text"]
    assert "# Not a heading" in shown["feature"]["text"]
    assert NASTY in shown["decision"]["text"] and NASTY in shown["product"]["text"]
    assert "javascript:alert(1)" in shown["feature"]["text"]  # as text, not a link
    assert {name: s["scripts"] + s["bad links"] for name, s in shown.items()} == dict.fromkeys(
        shown, 0)
    assert shown["feature"]["web links"] == 1 and shown["audit"]["web links"] == 1


def test_pages_forbid_inline_script_and_the_session_cookie_is_http_only_and_strict(
        people: People, plan: Plan) -> None:
    with httpx.Client(base_url=people.url) as browser_like:
        sign_in = browser_like.get("/ui/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', sign_in.text)
        assert nonce is not None
        signed_in = browser_like.post("/ui/sign-in", data={
            "csrf": nonce.group(1), "token": people.viewer, "next": "/ui"})
        product = browser_like.get(f"/ui/products/{plan.product}")
        script = browser_like.get(re.findall(r'src="(/ui/static/app\.js[^"]*)"', product.text)[0])

    for response in (sign_in, product, script):
        policy = dict(part.strip().split(" ", 1) for part in
                      response.headers["content-security-policy"].split(";"))
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
        assert "unsafe-inline" not in response.headers["content-security-policy"]
    cookie = signed_in.headers["set-cookie"]
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/ui"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert product.status_code == 200 and "<script>" not in product.text
    assert " style=" not in product.text and "<style" not in product.text
    assert script.headers["content-type"].startswith("text/javascript")


def test_a_wrong_token_is_told_and_signing_out_ends_the_session(
        visit: Visit, people: People, plan: Plan) -> None:
    page = visit.page
    visit.go(f"/ui/features/{plan.feature}")
    sent_to = page.url
    visit.expected.append("status of 401")
    page.fill("#token", "pdl_not-a-token")
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    visit.look("sign-in-refused")
    refused = page.locator("[role=alert]").inner_text()
    page.fill("#token", people.editor)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()
    landed = page.locator("h1").inner_text()
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state()
    visit.go(f"/ui/products/{plan.product}")

    assert "/ui/sign-in?next=" in sent_to
    assert "That token is not valid" in refused
    assert landed == "CSV export"
    assert "/ui/sign-in" in page.url and page.locator("#token").count() == 1
