"""The first admin of a deployment on PostgreSQL: from one secret file every replica is given,
or from ``pdl token create`` run once; never one token per replica."""

import secrets
import threading
from pathlib import Path

import httpx
import psycopg
import pytest

from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings
from tests.production.replicas import clients, replica


def admin_tokens(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [name for (name,) in conn.execute(
            "SELECT name FROM tokens WHERE role = 'admin' ORDER BY name").fetchall()]


def test_replicas_given_one_secret_file_create_one_admin_that_works_on_every_replica(
        pg_dsn: str, tmp_path: Path) -> None:
    token = "pdl_" + secrets.token_hex(32)
    secret = tmp_path / "admin-token"
    secret.write_text(token + "\n")
    env = {"PDL_BOOTSTRAP__ADMIN_TOKEN_FILE": str(secret)}

    with replica(tmp_path, "a", pg_dsn, **env) as a, replica(tmp_path, "b", pg_dsn, **env) as b, \
            clients(token, a, b) as (on_a, on_b):
        made = on_a.post("/tokens", {"name": "olivia", "role": "editor"})
        listed = on_b.get("/tokens")

    assert made.status_code == 201
    assert listed.status_code == 200
    assert sorted(t["name"] for t in listed.json()) == ["admin", "olivia"]
    assert admin_tokens(pg_dsn) == ["admin"]
    for folder in ("a", "b"):  # no replica minted a token of its own
        assert not (tmp_path / folder / "admin-token").exists()


def test_without_a_secret_no_replica_makes_an_admin_and_the_log_says_how_to(
        pg_dsn: str, tmp_path: Path) -> None:
    with replica(tmp_path, "a", pg_dsn) as a:
        refused = httpx.get(a.url + "/tokens",
                            headers={"Authorization": "Bearer pdl_" + "x" * 40})

    assert refused.status_code == 401
    assert admin_tokens(pg_dsn) == []
    assert not (tmp_path / "a" / "admin-token").exists()
    logged = "".join(p.read_text() for p in (tmp_path / "logs").glob("stderr-*.txt"))
    assert "pdl token create --role admin" in logged


@pytest.mark.parametrize("replicas", [4])
def test_replicas_starting_together_create_the_tables_once(
        pg_dsn: str, tmp_path: Path, replicas: int) -> None:
    """Several processes opening a fresh database at the same instant: none fails, and each
    table and schema version exists once."""
    settings = Settings(data_dir=tmp_path, store=StoreSettings(kind="postgres", dsn=pg_dsn))
    start = threading.Barrier(replicas)
    failures: list[BaseException] = []

    def open_log() -> None:
        start.wait()
        try:
            build_application(settings).close()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=open_log) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with psycopg.connect(pg_dsn) as conn:
        versions = dict(conn.execute("SELECT component, version FROM pdl_schema").fetchall())
    assert versions == {"event_log": 1, "command_outcomes": 1}
