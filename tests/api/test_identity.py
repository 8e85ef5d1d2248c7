"""Identity: bearer tokens with roles; the actor recorded is the token's name."""

import hashlib
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from services.identity.tokens import LastAdminToken, Role, TokenStore
from services.runtime.service import Runtime
from tests.api.conftest import token_for
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


def test_the_last_admin_token_cannot_be_revoked_but_one_of_two_can(
        admin: Api, runtime: Runtime) -> None:
    last = admin.http.delete("/tokens/root", headers=admin.headers())

    assert last.status_code == 409
    assert last.headers["content-type"] == "application/problem+json"
    assert "'root' is the last admin token" in last.json()["detail"]
    token_for(runtime, "second", Role.admin)
    assert admin.http.delete("/tokens/second", headers=admin.headers()).status_code == 204
    assert admin.http.delete("/tokens/root", headers=admin.headers()).status_code == 409
    assert [t.name for t in runtime.tokens.list()] == ["root"]


def test_two_admins_revoking_each_other_at_once_leave_one_admin(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    setup = TokenStore(path)
    for name in ("ann", "bob"):
        setup.create(name, Role.admin)
    stores = [TokenStore(path), TokenStore(path)]  # as two server processes would
    start = threading.Barrier(2)
    outcomes: list[bool | str] = []

    def revoke(store: TokenStore, name: str) -> None:
        start.wait()
        try:
            outcomes.append(store.revoke(name))
        except LastAdminToken:
            outcomes.append("refused")

    threads = [threading.Thread(target=revoke, args=(store, name))
               for store, name in zip(stores, ("ann", "bob"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=str) == [True, "refused"]
    assert [t.role for t in setup.list()] == [Role.admin]
    for store in [setup, *stores]:
        store.close()


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
    if runtime.settings.postgres:
        assert runtime.settings.store.dsn is not None
        with psycopg.connect(runtime.settings.store.dsn.get_secret_value()) as pg:
            rows = pg.execute("SELECT * FROM tokens").fetchall()
            (stored,) = next(iter(pg.execute(
                "SELECT token_sha256 FROM tokens WHERE name = 'bob'").fetchall()))
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        assert len(rows) == 2 and not [cell for row in rows for cell in row
                                       if token in str(cell)]
        return
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
