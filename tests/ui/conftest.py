"""Fixtures of the browser tests: a real ``pdl serve`` (one worker) on its own data folder,
the people who use it, and Debian's Chromium driven by Playwright, headless (see
:mod:`tests.ui.browser`)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.processes import Server, serving
from tests.ui.browser import CHROMIUM, DESKTOP, People, Plan, Visit, make_plan


@dataclass
class Served:
    server: Server
    data_dir: Path


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("ui")
    with serving(tmp / "data", tmp / "logs", workers=1) as server:
        yield Served(server, tmp / "data")


@pytest.fixture(scope="session")
def server(served: Served) -> Server:
    return served.server


@pytest.fixture(scope="session")
def people(served: Served) -> People:
    """An editor (olivia) and a viewer (victor), made with the first admin token."""
    admin = (served.data_dir / "admin-token").read_text().strip()
    tokens = {}
    with httpx.Client(base_url=served.server.url,
                      headers={"Authorization": f"Bearer {admin}"}) as api:
        for name, role in (("olivia", "editor"), ("victor", "viewer")):
            created = api.post("/tokens", json={"name": name, "role": role})
            assert created.status_code == 201, created.text
            tokens[role] = created.json()["token"]
    return People(served.server.url, admin, tokens["editor"], tokens["viewer"])


@pytest.fixture
def plan(people: People, request: pytest.FixtureRequest) -> Plan:
    return make_plan(people, f"Ledger {request.node.name[5:40]}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def visit(browser: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Visit]:
    """A fresh browser context (no cookies) at desktop size."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    seen = Visit(server, page, request.node.name.removeprefix("test_")[:24])

    def only_the_service(route: Any, req: Any) -> None:
        if req.url.startswith(server.url + "/"):
            route.continue_()
        else:
            seen.blocked.append(req.url)
            route.abort()

    page.route("**/*", only_the_service)
    def logged(message: Any) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))

    def dismiss(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    try:
        yield seen
        seen.assert_clean()
    finally:
        context.close()
