"""/docs and /redoc render in a real browser (Debian's Chromium driven by Playwright) with
every request that leaves the service blocked: their scripts come from the service itself."""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.api.processes import Server, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    # deploy/test.sh installs Debian's chromium; in CI a missing browser fails the test.
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="no chromium on PATH (deploy/test.sh installs it)"),
]


@dataclass
class Visit:
    """What a page did: the requests it tried outside the service, its console errors."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("docs")
    with serving(tmp / "data", tmp / "logs", workers=1) as server:
        yield server


def open_page(server: Server, path: str, ready: str) -> tuple[Visit, int]:
    """Open ``path`` on the service, wait for ``ready`` (a CSS selector) and count it."""
    from playwright.sync_api import sync_playwright

    visit = Visit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def only_the_service(route, request) -> None:  # type: ignore[no-untyped-def]
                if request.url.startswith(server.url + "/"):
                    route.continue_()
                else:
                    visit.blocked.append(request.url)
                    route.abort()

            page.route("**/*", only_the_service)
            page.on("console", lambda message: message.type == "error"
                    and visit.errors.append(message.text))
            page.on("pageerror", lambda error: visit.errors.append(str(error)))
            page.goto(server.url + path)
            page.wait_for_selector(ready, timeout=30_000)
            page.wait_for_load_state("networkidle")
            return visit, page.locator(ready).count()
        finally:
            browser.close()


def operations(server: Server) -> int:
    spec = httpx.get(server.url + "/openapi.json").json()
    return sum(len(methods) for methods in spec["paths"].values())


def test_swagger_ui_lists_every_operation_with_nothing_loaded_from_elsewhere(
        server: Server) -> None:
    visit, shown = open_page(server, "/docs", ".opblock")

    assert visit.blocked == []
    assert visit.errors == []
    assert shown == operations(server)


def test_redoc_lists_every_operation_with_nothing_loaded_from_elsewhere(
        server: Server) -> None:
    visit, shown = open_page(server, "/redoc", "[data-section-id^='operation/']")

    assert visit.blocked == []
    assert visit.errors == []
    assert shown == operations(server)

