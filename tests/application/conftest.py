"""A real decision log on a SQLite file in the test's temporary folder, or in a fresh
PostgreSQL database.

Every application test runs on five stores: on SQLite, the service's default (group commit,
commands run in batches by one thread), group commit with each command on its caller's
thread, and eventsourcing's plain SQLite recorder; on PostgreSQL, the same first two.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.commands.application import DecisionLog
from services.runtime.settings import Settings, StoreSettings
from tests.support.stores import open_log

MODES = {
    "batched": StoreSettings(),
    "group-commit": StoreSettings(command_batches=False),
    "plain-sqlite": StoreSettings(group_commit=False),
    "pg-batched": StoreSettings(kind="postgres", dsn="postgresql://placeholder"),
    "pg-group-commit": StoreSettings(kind="postgres", dsn="postgresql://placeholder",
                                     command_batches=False),
}


@pytest.fixture(params=list(MODES))
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_for(MODES[request.param], tmp_path, request)


def settings_for(store: StoreSettings, data_dir: Path,
                 request: pytest.FixtureRequest) -> Settings:
    """Settings on ``store``; a PostgreSQL store gets a fresh database of its own."""
    if store.kind == "postgres":
        store = store.model_copy(update={"dsn": SecretStr(request.getfixturevalue("pg_dsn"))})
    return Settings(data_dir=data_dir, store=store)


@pytest.fixture
def log(settings: Settings) -> Iterator[DecisionLog]:
    yield from open_log(settings)
