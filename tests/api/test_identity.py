"""Identity: bearer tokens with roles; the actor recorded is the token's name."""

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services.runtime.service import Runtime
from tests.api.driver import Api
from tests.support.builders import PRODUCT_BODY


def test_an_admin_creates_a_token_that_works_at_once(admin: Api, client: TestClient) -> None:
    created = admin.post("/tokens", {"name": "bob", "role": "viewer"})

    assert created.status_code == 201
    assert created.headers["Location"] == "/tokens/bob"
    bob = Api(client, created.json()["token"])
    assert bob.get("/products").status_code == 200
    assert bob.post("/products", PRODUCT_BODY).status_code == 403


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


def every_cell(path: Path) -> dict[str, list[Any]]:
    """Every value in every table of the SQLite file at ``path``, read through SQLite (so the
    rows still in its write-ahead log are read too)."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: [cell for row in conn.execute(f"SELECT * FROM {table}") for cell in row]
                for table in tables}


def test_tokens_are_stored_only_as_digests(admin: Api, runtime: Runtime) -> None:
    token = admin.post("/tokens", {"name": "bob", "role": "viewer"}).json()["token"]
    path = runtime.settings.service_db_path

    cells = every_cell(path)
    with closing(sqlite3.connect(path)) as conn:
        (stored,) = conn.execute("SELECT token_sha256 FROM tokens WHERE name = 'bob'").fetchone()
        conn.execute("PRAGMA wal_checkpoint(FULL)")  # the WAL's pages into the file, too
    files = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert not [(table, cell) for table, values in cells.items() for cell in values
                if isinstance(cell, str | bytes) and token in str(cell)]
    assert token.encode() not in files


def test_the_actor_is_the_token_name_never_the_body(editor: Api) -> None:
    refused = editor.post("/products", {**PRODUCT_BODY, "actor": "mallory"})
    created = editor.create_product()

    history = editor.read(f"/products/{created['id']}/history", after=created["position"])

    assert refused.status_code == 422
    assert [item["actor"] for item in history["items"]] == ["alice"]


def test_health_and_the_api_docs_need_no_token(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/products/{product_id}/roadmap" in client.get("/openapi.json").json()["paths"]
