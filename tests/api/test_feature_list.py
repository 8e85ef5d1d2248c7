"""``GET /products/{id}/features``: which features, by status, release and title words,
a page at a time, as of an instant, in one call."""

from typing import Any

from tests.api.driver import Api


def catalogue(editor: Api) -> tuple[str, str, dict[str, str], int]:
    """A product with a release and four features, one of them in the release and one
    accepted: the product's id, the release's, the features' and the last position."""
    product = editor.create_product()["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    features = {title: editor.propose(product, title, priority)["id"]
                for title, priority in [("CSV export", 5), ("PDF export", 3),
                                        ("Dark mode", 8), ("Bank import", 1)]}
    editor.set_status(features["PDF export"], "accepted", "customers asked")
    outcome = editor.schedule(features["CSV export"], release, "fits")
    return product, release, features, outcome["position"]


def titles(page: dict[str, Any]) -> list[str]:
    return [feature["title"] for feature in page["items"]]


def test_every_feature_of_a_product_is_listed_by_priority(editor: Api) -> None:
    product, _, _, position = catalogue(editor)

    page = editor.read(f"/products/{product}/features", after=position)

    assert titles(page) == ["Dark mode", "CSV export", "PDF export", "Bank import"]
    assert page["next_cursor"] is None


def test_features_are_filtered_by_status_release_and_title_words(editor: Api) -> None:
    product, release, _, position = catalogue(editor)
    path = f"/products/{product}/features"

    assert titles(editor.read(path, after=position, status=["accepted", "proposed"],
                              q="EXPORT")) == ["CSV export", "PDF export"]
    assert titles(editor.read(path, after=position, release=release)) == ["CSV export"]
    assert titles(editor.read(path, after=position, release="backlog", q="export")) == [
        "PDF export"]
    assert titles(editor.read(path, after=position, status="accepted")) == ["PDF export"]


def test_features_read_a_page_at_a_time_hold_them_all(editor: Api) -> None:
    product, _, _, position = catalogue(editor)
    path = f"/products/{product}/features"

    first = editor.read(path, after=position, limit=3)
    second = editor.read(path, after=position, limit=3, cursor=first["next_cursor"])

    assert titles(first) + titles(second) == titles(editor.read(path, after=position))
    assert second["next_cursor"] is None


def test_features_as_of_an_instant_are_those_of_then(editor: Api) -> None:
    product, release, features, scheduled = catalogue(editor)
    before = editor.read(f"/features/{features['CSV export']}/history",
                         after=scheduled)["items"][-1]
    editor.write(f"/features/{features['CSV export']}/unschedule", {"rationale": "too big"})
    position = editor.write("/features/" + features["Dark mode"] + "/details",
                            {"title": "Night mode", "rationale": "clearer"})["position"]

    then = editor.read(f"/products/{product}/features", after=position,
                       as_of=before["occurred_at"], release=release)
    now = editor.read(f"/products/{product}/features", after=position, q="night")

    assert titles(then) == ["CSV export"]
    assert titles(now) == ["Night mode"]
