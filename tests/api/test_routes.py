"""The routes beyond the scenario: each answers with the new version, its ETag and position."""

from typing import Any

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.support.builders import today


def test_a_create_answers_201_with_location_etag_id_version_and_position(
        editor: Api, runtime: Runtime) -> None:
    response = editor.post(
        "/products", {"name": "Atlas", "vision": "v", "value_proposition": "vp",
                      "target_customers": "tc", "owner": "o", "strategy": "s"})

    body = response.json()
    assert response.status_code == 201
    assert response.headers["Location"] == f"/products/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body == {"id": body["id"], "version": 1, "position": runtime.app.event_count()}


def test_the_product_vision_and_strategy_are_revised_and_it_is_retired(editor: Api) -> None:
    product = editor.create_product()["id"]

    editor.write(f"/products/{product}/vision",
                 {"vision": "Plans everyone trusts", "rationale": "Board review"})
    editor.write(f"/products/{product}/strategy",
                 {"strategy": "Land with PMs", "rationale": "Sales feedback",
                  "evidence": ["https://crm.example.com/report/7"]}, **{"If-Match": '"2"'})
    retired = editor.write(f"/products/{product}/retire", {"rationale": "Merged into Atlas 2"})

    read = editor.get(f"/products/{product}")
    assert retired["version"] == 4 and read.headers["ETag"] == '"4"'
    assert read.json()["vision"] == "Plans everyone trusts"
    assert read.json()["strategy"] == "Land with PMs"
    assert read.json()["retired"] is True


def test_feature_details_priority_and_requirements_change_with_reasons(editor: Api) -> None:
    _, feature = editor.new_feature()

    editor.write(f"/features/{feature}/details", {"benefit": "Share in one click",
                                                   "rationale": "Marketing wording"})
    editor.write(f"/features/{feature}/priority", {"priority": 9.5, "rationale": "Top ask"})
    editor.write(f"/features/{feature}/requirements",
                 {"text": "Share by link", "acceptance_criteria": ["Link opens read-only"],
                  "rationale": "Needed for launch"})
    editor.write(f"/features/{feature}/requirements/R1/revise",
                 {"text": "Share by link or email", "acceptance_criteria": ["Link works"],
                  "rationale": "Email asked for"})
    added = editor.write(f"/features/{feature}/requirements",
                         {"text": "Revoke a link", "rationale": "Security review"})
    removed = editor.write(f"/features/{feature}/requirements/R2/remove",
                           {"rationale": "Moved to its own feature"})

    read = editor.read(f"/features/{feature}")
    assert added["version"] == 6 and removed["version"] == 7
    assert read["benefit"] == "Share in one click" and read["priority"] == 9.5
    assert read["requirements"] == [{"id": "R1", "text": "Share by link or email",
                                     "acceptance_criteria": ["Link works"]}]


def test_a_feature_is_unscheduled_back_to_the_backlog(editor: Api) -> None:
    product, feature = editor.new_feature()
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    editor.schedule(feature, release, "Fits 1.0")

    done = editor.write(f"/features/{feature}/unschedule", {"rationale": "Descoped"})

    roadmap = editor.read(f"/products/{product}/roadmap", after=done["position"])
    assert [f["id"] for f in roadmap["backlog"]] == [feature]
    assert roadmap["releases"][0]["features"] == []


def test_shipping_a_release_ships_its_done_features(editor: Api) -> None:
    product, feature = editor.new_feature()
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    for status in ("accepted", "in_progress", "done"):
        editor.set_status(feature, status, "progress")
    editor.schedule(feature, release, "Ready")

    shipped = editor.ship(release, today().isoformat(), "All green")  # early

    roadmap = editor.read(f"/products/{product}/roadmap", after=shipped["position"])
    assert roadmap["shipped"][0]["shipped_on"] == today().isoformat()
    assert roadmap["shipped"][0]["features"][0]["status"] == "shipped"


def test_a_method_a_path_does_not_take_is_405_with_every_method_the_path_takes(
        editor: Api) -> None:
    product = editor.create_product()["id"]
    answers = {(method, path): editor.http.request(method, path, headers=editor.headers())
               for method, path in [("OPTIONS", "/products"), ("PUT", f"/products/{product}"),
                                    ("GET", f"/products/{product}/vision"),
                                    ("POST", "/tokens/alice")]}

    assert {key: (a.status_code, a.headers["Allow"]) for key, a in answers.items()} == {
        ("OPTIONS", "/products"): (405, "GET, POST"),
        ("PUT", f"/products/{product}"): (405, "GET"),
        ("GET", f"/products/{product}/vision"): (405, "POST"),
        ("POST", "/tokens/alice"): (405, "DELETE")}


def test_cancelling_a_release_returns_its_scope_to_the_backlog(editor: Api) -> None:
    product, feature = editor.new_feature()
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    editor.schedule(feature, release, "Fits")

    cancelled = editor.write(f"/releases/{release}/cancel", {"rationale": "Merged into 1.1"})

    roadmap = editor.read(f"/products/{product}/roadmap", after=cancelled["position"])
    assert roadmap["cancelled"][0]["id"] == release
    assert [f["id"] for f in roadmap["backlog"]] == [feature]


def test_if_match_star_or_a_weak_tag_is_accepted(editor: Api) -> None:
    _, feature = editor.new_feature()

    star = editor.post(f"/features/{feature}/priority", {"priority": 2, "rationale": "a"},
                       **{"If-Match": "*"})
    weak = editor.post(f"/features/{feature}/priority", {"priority": 3, "rationale": "b"},
                       **{"If-Match": 'W/"2"'})

    assert (star.status_code, weak.status_code) == (200, 200)
    assert weak.headers["ETag"] == '"3"'


def test_the_views_read_the_past_with_as_of(editor: Api) -> None:
    created = editor.create_product()
    product = created["id"]

    past = editor.read("/products", as_of="2000-01-01T00:00:00Z", after=created["position"])
    now: dict[str, Any] = editor.read("/products")

    assert past["items"] == []
    assert [p["id"] for p in now["items"]] == [product]
