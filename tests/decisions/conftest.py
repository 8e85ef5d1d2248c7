"""A real decision log on a SQLite file in the test's temporary folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.support.stores import open_log


@pytest.fixture
def log(tmp_path: Path) -> Iterator[DecisionLog]:
    yield from open_log(Settings(data_dir=tmp_path))
