"""Fixtures for the HTTP tests: a runtime on real SQLite files in ``tmp_path``."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import ApiSettings, Settings, StoreSettings
from tests.api.driver import Api


@pytest.fixture(params=["sqlite", "postgres"])
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The service on each store: SQLite files in the data folder, or a fresh PostgreSQL
    database (then the data folder holds only the views)."""
    store = StoreSettings()
    if request.param == "postgres":
        store = StoreSettings(kind="postgres", dsn=request.getfixturevalue("pg_dsn"))
    return Settings(data_dir=tmp_path / "data", store=store,
                    api=ApiSettings(read_your_writes_timeout_s=2))


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client


def token_for(runtime: Runtime, name: str, role: Role) -> str:
    token, _ = runtime.tokens.create(name, role)
    return token


@pytest.fixture
def editor(runtime: Runtime, client: TestClient) -> Api:
    return Api(client, token_for(runtime, "alice", Role.editor))


@pytest.fixture
def viewer(runtime: Runtime, client: TestClient) -> Api:
    return Api(client, token_for(runtime, "victor", Role.viewer))


@pytest.fixture
def admin(runtime: Runtime, client: TestClient) -> Api:
    return Api(client, token_for(runtime, "root", Role.admin))

