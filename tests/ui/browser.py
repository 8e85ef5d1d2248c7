"""Helpers of the browser tests: the people, the plan they start from, and a browser tab
that checks every page it looks at (see ``tests/ui/conftest.py`` for the fixtures)."""

import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.processes import ROOT, Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = ROOT / ".ui-screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: axe-core's impacts that fail a test.
BLOCKING = ("serious", "critical")

#: Every browser test: slow, and skipped only where there is no chromium and CI is unset
#: (deploy/test.sh installs Debian's chromium; in CI a missing browser fails the tests).
MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="no chromium on PATH (deploy/test.sh installs it)"),
]


@dataclass
class People:
    """The tokens of the people in the stories, and the API as each of them."""

    url: str
    admin: str
    editor: str
    viewer: str

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"},
                            timeout=10)


@dataclass
class Plan:
    """A product with two releases and a feature scheduled into the first."""

    product: str
    r1: str
    r2: str
    feature: str
    position: int


def written(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def make_plan(people: People, name: str) -> Plan:
    with people.api(people.editor) as api:
        product = written(api.post("/products", json={
            "name": name, "vision": "Every team closes its books in a day",
            "value_proposition": "Automated reconciliation",
            "target_customers": "Finance teams in mid-size companies", "owner": "olivia"}))["id"]
        r1 = written(api.post(f"/products/{product}/releases", json={
            "name": "1.0", "theme": "Import", "target_date": "2027-03-01"}))["id"]
        r2 = written(api.post(f"/products/{product}/releases", json={
            "name": "1.1", "target_date": "2027-06-01"}))["id"]
        feature = written(api.post(f"/products/{product}/features", json={
            "title": "CSV export", "problem": "Accountants re-type figures into spreadsheets",
            "business_value": "Removes a day of manual work per close",
            "benefit": "Export any ledger to CSV in one click", "priority": 8,
            "requirements": [{"text": "Exports all columns",
                              "acceptance_criteria": ["Opens in Excel"]}]}))["id"]
        done = written(api.post(f"/features/{feature}/schedule", json={
            "release_id": r1, "rationale": "Top customer request"}))
    return Plan(product, r1, r2, feature, done["position"])


@dataclass
class Visit:
    """One person's browser tab on the service: what its pages logged as errors, what they
    tried to load from elsewhere, the dialogs they opened (a script that ran: none may)."""

    server: Server
    page: Any
    name: str
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    #: Console errors a test expects, e.g. the log line of a page answered with 412.
    expected: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def sign_in(self, token: str) -> None:
        self.go("/ui/sign-in")
        self.page.fill("#token", token)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_load_state()

    def look(self, name: str) -> None:
        """Check the page with axe-core (no serious or critical violation) and photograph
        it at a desktop and a phone width, into ``.ui-screenshots/`` (not committed)."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state("networkidle")
        results = Axe().run(self.page)
        blocking = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                     "nodes": [n["html"][:200] for n in v["nodes"][:3]]}
                    for v in results.response["violations"] if v["impact"] in BLOCKING]
        SCREENSHOTS.mkdir(exist_ok=True)
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=SCREENSHOTS / f"{self.name}-{name}-{width}.png",
                                 full_page=True)
        self.page.set_viewport_size(DESKTOP)
        assert blocking == [], f"axe on {name}: {blocking}"

    def csrf(self) -> str:
        value: str = self.page.locator("input[name=csrf]").first.get_attribute("value")
        return value

    def assert_clean(self) -> None:
        unexpected = [e for e in self.errors
                      if not any(re.search(pattern, e) for pattern in self.expected)]
        assert unexpected == [], unexpected
        assert self.blocked == []
        assert self.dialogs == []
