"""A real decision log on each store: a SQLite file in the test's folder, or PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.support.stores import STORES, open_log, settings_on


@pytest.fixture(params=STORES)
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    return settings_on(request.param, tmp_path, request)


@pytest.fixture
def log(settings: Settings) -> Iterator[DecisionLog]:
    yield from open_log(settings)
