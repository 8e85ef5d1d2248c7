"""Every view read answered from the views says the log position it reflects
(``X-Views-Position``), whether read afresh or sent again from the read cache."""

from tests.api.driver import Api


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
