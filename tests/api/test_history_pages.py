"""Histories page like ``/audit``: ``limit``, ``cursor`` and ``order``, with the same items
as the whole answer, a page at a time."""

from typing import Any

import pytest

from tests.api.driver import Api


def history(editor: Api) -> tuple[str, str, str, int]:
    """A product whose feature and release each have several changes: ids and last position."""
    product, feature = editor.new_feature("Export")
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    for n, priority in enumerate((3, 5, 8, 13)):
        editor.write(f"/features/{feature}/priority",
                     {"priority": priority, "rationale": f"review {n}"})
    for target in ("2027-03-08", "2027-03-15", "2027-03-22"):
        editor.slip(release, target, "capacity")
    editor.schedule(feature, release, "fits")
    return product, feature, release, editor.read("/health")["log_position"]


def pages(editor: Api, path: str, after: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of ``path``, following next_cursor."""
    found, cursor = [], None
    while True:
        page = editor.read(path, after=after, **params,
                           **({"cursor": cursor} if cursor is not None else {}))
        found.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize("kind", ["products", "features", "releases"])
def test_a_history_read_a_page_at_a_time_holds_the_whole_history_in_order(
        editor: Api, kind: str) -> None:
    product, feature, release, position = history(editor)
    entity = {"products": product, "features": feature, "releases": release}[kind]
    path = f"/{kind}/{entity}/history"
    whole = editor.read(path, after=position)
    assert whole["next_cursor"] is None and len(whole["items"]) >= 4

    oldest = pages(editor, path, position, limit=2)
    newest = pages(editor, path, position, limit=3, order="newest")

    assert all(len(page) <= 2 for page in oldest) and len(oldest) > 1
    assert [item for page in oldest for item in page] == whole["items"]
    assert [item for page in newest for item in page] == whole["items"][::-1]


def test_a_page_of_a_history_as_of_an_instant_stops_at_that_instant(editor: Api) -> None:
    _, feature, _, position = history(editor)
    whole = editor.read(f"/features/{feature}/history", after=position)["items"]
    then = whole[2]["occurred_at"]
    page = editor.read(f"/features/{feature}/history", as_of=then, limit=10, order="newest")
    assert page["items"][0]["entity_version"] == whole[2]["entity_version"]
    assert page["next_cursor"] is None


@pytest.mark.parametrize("query", [
    {"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"cursor": -1}, {"cursor": "x"},
    {"order": "sideways"},
])
@pytest.mark.parametrize("kind", ["products", "features", "releases"])
def test_a_bad_page_request_is_422_naming_the_parameter(editor: Api, kind: str,
                                                       query: dict[str, Any]) -> None:
    product, feature, release, _ = history(editor)
    entity = {"products": product, "features": feature, "releases": release}[kind]
    response = editor.get(f"/{kind}/{entity}/history", **query)
    assert response.status_code == 422, response.text
    assert next(iter(query)) in response.text
