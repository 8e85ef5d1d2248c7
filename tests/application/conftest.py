"""A real decision log on a SQLite file in the test's temporary folder.

Every application test runs on both SQLite recorders: the group-committing one the
service uses by default, and eventsourcing's plain one.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.application import DecisionLog
from services.settings import Settings, StoreSettings
from tests.support.stores import open_log


@pytest.fixture(params=[True, False], ids=["group-commit", "plain-sqlite"])
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return Settings(data_dir=tmp_path, store=StoreSettings(group_commit=request.param))


@pytest.fixture
def log(settings: Settings) -> Iterator[DecisionLog]:
    yield from open_log(settings)
