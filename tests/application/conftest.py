"""A real decision log on a SQLite file in the test's temporary folder.

Every application test runs on three stores: the service's default (group commit, commands
run in batches by one thread), group commit with each command on its caller's thread, and
eventsourcing's plain SQLite recorder.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.commands.application import DecisionLog
from services.runtime.settings import Settings, StoreSettings
from tests.support.stores import open_log

MODES = {
    "batched": StoreSettings(),
    "group-commit": StoreSettings(command_batches=False),
    "plain-sqlite": StoreSettings(group_commit=False),
}


@pytest.fixture(params=list(MODES))
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return Settings(data_dir=tmp_path, store=MODES[request.param])


@pytest.fixture
def log(settings: Settings) -> Iterator[DecisionLog]:
    yield from open_log(settings)
