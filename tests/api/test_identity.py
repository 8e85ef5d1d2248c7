"""Identity: bearer tokens with roles; the actor recorded is the token's name."""

from fastapi.testclient import TestClient

from services.runtime.service import Runtime
from tests.api.driver import PRODUCT, Api


def test_an_admin_creates_a_token_that_works_at_once(admin: Api, client: TestClient) -> None:
    created = admin.post("/tokens", {"name": "bob", "role": "viewer"})

    assert created.status_code == 201
    assert created.headers["Location"] == "/tokens/bob"
    bob = Api(client, created.json()["token"])
    assert bob.get("/products").status_code == 200
    assert bob.post("/products", PRODUCT).status_code == 403


def test_tokens_are_listed_without_their_secret(admin: Api, editor: Api) -> None:
    listed = admin.read("/tokens")

    assert {(t["name"], t["role"]) for t in listed} == {("root", "admin"), ("alice", "editor")}
    assert all("token" not in t for t in listed)


def test_a_revoked_token_is_refused(admin: Api, editor: Api) -> None:
    revoked = admin.http.delete("/tokens/alice", headers=admin.headers())

    assert revoked.status_code == 204
    refused = editor.get("/products")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_tokens_are_stored_only_as_digests(admin: Api, runtime: Runtime) -> None:
    token = admin.post("/tokens", {"name": "bob", "role": "viewer"}).json()["token"]

    stored = runtime.settings.service_db_path.read_bytes()

    assert token.encode() not in stored


def test_the_actor_is_the_token_name_never_the_body(editor: Api) -> None:
    refused = editor.post("/products", {**PRODUCT, "actor": "mallory"})
    created = editor.create_product()

    history = editor.read(f"/products/{created['id']}/history", after=created["position"])

    assert refused.status_code == 422
    assert [item["actor"] for item in history["items"]] == ["alice"]


def test_health_and_the_api_docs_need_no_token(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/products/{product_id}/roadmap" in client.get("/openapi.json").json()["paths"]
