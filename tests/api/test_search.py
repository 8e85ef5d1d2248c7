"""``GET /search`` over HTTP: ranked entities with links and snippets, narrowed by product
and kind, paged, read after a write with ``?after=``; bad queries are ``422``."""

import pytest

from tests.api.driver import Api


def test_search_finds_what_a_write_just_said_once_the_views_include_it(editor: Api) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "CSV export")["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    moved = editor.schedule(feature, release, "The pilot customer needs it",
                            ["https://wiki.example/pilot"])

    answer = editor.read("/search", q="pilot", kind="feature", after=moved["position"])

    assert answer == {"items": [{
        "kind": "feature", "id": feature, "product_id": product, "title": "CSV export",
        "snippet": "The [pilot] customer needs it\nhttps://wiki.example/[pilot]",
        "path": f"/features/{feature}", "rank": answer["items"][0]["rank"]}],
        "next_offset": None}
    assert editor.read(answer["items"][0]["path"])["title"] == "CSV export"


def test_search_narrows_to_a_product_and_pages(editor: Api) -> None:
    atlas, other = editor.create_product()["id"], editor.create_product(name="Other")["id"]
    last = {}
    for n in range(3):
        last = editor.propose(atlas, f"Report {n}")
    editor.propose(other, "Report elsewhere")

    first = editor.read("/search", q="report", product=atlas, limit=2, after=last["position"])
    rest = editor.read("/search", q="report", product=atlas, limit=2,
                       offset=first["next_offset"])

    assert (len(first["items"]), first["next_offset"]) == (2, 2)
    assert (len(rest["items"]), rest["next_offset"]) == (1, None)
    assert {i["product_id"] for i in first["items"] + rest["items"]} == {atlas}
    assert len(editor.read("/search", q="report")["items"]) == 4


def test_a_viewer_searches_too(editor: Api, viewer: Api) -> None:
    product = editor.create_product()["id"]
    created = editor.propose(product, "Dark mode")

    answer = viewer.read("/search", q="dark", after=created["position"])

    assert [item["title"] for item in answer["items"]] == ["Dark mode"]


@pytest.mark.parametrize("query", [
    'q=pilot"', "q=AND+OR", "q=NEAR(", "q=title:x", "q=*^-", "q=a%00b", "q=%FF%FE",
    "q=%ED%A0%80+pilot", "q=%27;+DROP+TABLE+audit;+--", "q=pilot&q=AND", "q=%22%22%22",
])
def test_hostile_queries_answer_200_never_500(editor: Api, query: str) -> None:
    response = editor.http.get(f"/search?{query}", headers=editor.headers())

    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["type"] == "urn:pdl:problem:invalid-search"


@pytest.mark.parametrize(("params", "says"), [
    ({"q": ""}, "give at least one word"),
    ({"q": '" * "'}, "give at least one word"),
    ({}, "'q' is required"),
    ({"q": "x" * 501}, "'q'"),
    ({"q": "pilot", "kind": "customer"}, "'kind'"),
    ({"q": "pilot", "limit": 0}, "'limit'"),
    ({"q": "pilot", "offset": -1}, "'offset'"),
    ({"q": "pilot", "product": "atlas"}, "'product'"),
    ({"q": "pilot", "sort": "date"}, "no query parameter 'sort'; it takes: after, kind, "
                                     "limit, offset, product, q"),
])
def test_bad_searches_are_422_saying_what_is_wrong(editor: Api, params: dict[str, object],
                                                   says: str) -> None:
    response = editor.get("/search", **params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.json()["detail"]


def test_search_needs_a_token(editor: Api) -> None:
    response = editor.http.get("/search", params={"q": "pilot", "sort": "x"})

    assert response.status_code == 401


def test_a_repeated_audit_type_matches_changes_of_any_of_them(editor: Api) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "Export")["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    editor.schedule(feature, release, "Asked for")
    slipped = editor.slip(release, "2027-03-15", "Vendor late")

    answer = editor.read("/audit", product=product, after=slipped["position"],
                         type=["feature.scheduled", "release.target_date_changed"])
    one = editor.read("/audit", product=product, type="feature.scheduled")

    assert [item["type"] for item in answer["items"]] == [
        "feature.scheduled", "release.target_date_changed"]
    assert [item["type"] for item in one["items"]] == ["feature.scheduled"]
