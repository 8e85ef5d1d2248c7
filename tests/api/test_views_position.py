"""Every view read answered from the views says the log position it reflects
(``X-Views-Position``), whether read afresh or sent again from the read cache."""

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.support.builders import decision_body, today


def test_view_reads_say_the_views_position_they_reflect(editor: Api) -> None:
    product, feature = editor.new_feature("Export")
    position = editor.propose(product, "Import")["position"]

    for path in ("/products", f"/products/{product}/roadmap", f"/products/{product}/history",
                 f"/products/{product}/features", f"/features/{feature}/history"):
        fresh = editor.get(path, after=position)
        again = editor.get(path, after=position)

        assert fresh.status_code == again.status_code == 200, fresh.text
        assert int(fresh.headers["X-Views-Position"]) >= position, path
        assert again.headers["X-Views-Position"] == fresh.headers["X-Views-Position"]


def test_every_other_view_read_says_the_views_position_too(editor: Api) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "Export")["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    for status in ("accepted", "in_progress", "done"):
        editor.set_status(feature, status, "progress")
    editor.schedule(feature, release, "ready")
    editor.slip(release, "2027-04-01", "late")
    position = editor.ship(release, today().isoformat(), "shipped")["position"]
    since = "2000-01-01T00:00:00Z"

    for path, params in (("/audit", {}), (f"/releases/{release}/slips", {}),
                         (f"/products/{product}/slips", {}),
                         (f"/products/{product}/decisions", {}),
                         (f"/products/{product}/diff", {"from": since}),
                         (f"/products/{product}/diff", {"from": since, "format": "markdown"}),
                         ("/search", {"q": "Export"}), (f"/releases/{release}/notes", {})):
        response = editor.get(path, after=position, **params)

        assert response.status_code == 200, (path, response.text)
        assert int(response.headers["X-Views-Position"]) >= position, path


def test_reads_from_the_log_say_the_log_position(editor: Api, runtime: Runtime) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "Export")["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    decision = editor.write(f"/products/{product}/decisions",
                            decision_body("Ship it", "why"))["id"]
    end = runtime.app.event_count()

    for path in (f"/features/{feature}", f"/releases/{release}", f"/products/{product}",
                 f"/decisions/{decision}"):
        response = editor.get(path)

        assert response.status_code == 200, response.text
        assert int(response.headers["X-Log-Position"]) == end, path


def test_as_of_a_position_is_as_of_the_instant_that_change_happened(editor: Api) -> None:
    product = editor.create_product()["id"]
    feature = editor.propose(product, "Export")["id"]
    release = editor.plan(product, "1.0", "2027-03-01")["id"]
    written = editor.schedule(feature, release, "ready")["position"]
    editor.write(f"/features/{feature}/unschedule", {"rationale": "not yet"})
    change = editor.read("/audit", entity=feature, type="feature.scheduled",
                         after=written)["items"][0]  # (the views may lag without ?after=)
    scheduled = change["position"]  # the write's position is its command's last change
    assert scheduled <= written
    assert editor.read(f"/features/{feature}", as_of_position=written)["release_id"] == release

    at_position = editor.get(f"/features/{feature}", as_of_position=scheduled)
    at_instant = editor.get(f"/features/{feature}", as_of=change["occurred_at"])

    assert at_position.status_code == 200, at_position.text
    assert at_position.json() == at_instant.json()
    assert at_position.json()["release_id"] == release
    assert at_position.headers["ETag"] == at_instant.headers["ETag"]
    for path in (f"/products/{product}/roadmap", f"/features/{feature}/history",
                 f"/products/{product}/history", f"/products/{product}/features", "/products",
                 f"/products/{product}/decisions", f"/products/{product}/slips",
                 f"/releases/{release}/slips", f"/products/{product}/ranking",
                 f"/products/{product}", f"/releases/{release}"):
        by_position = editor.get(path, as_of_position=scheduled)
        by_instant = editor.get(path, as_of=change["occurred_at"])

        assert by_position.status_code == by_instant.status_code == 200, (path, by_position.text)
        assert by_position.json() == by_instant.json(), path


def test_as_of_a_position_the_views_hold_no_change_for_is_not_found(
        editor: Api, runtime: Runtime) -> None:
    """Log positions have no gaps, so this needs a views file that lacks one (e.g. a
    change recorded in the audit without its position)."""
    _, feature = editor.new_feature("Export")
    with runtime.views.transaction() as conn:
        conn.execute("DELETE FROM audit WHERE seq = 1")

    response = editor.get(f"/features/{feature}", as_of_position=1)

    assert response.status_code == 404, response.text
    assert "No change has log position 1" in response.json()["detail"]
