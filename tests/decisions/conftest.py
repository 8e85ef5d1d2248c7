"""A real decision log on a SQLite file in the test's temporary folder."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.application import DecisionLog
from services.bootstrap import build_application
from services.settings import Settings


@pytest.fixture
def log(tmp_path: Path) -> Iterator[DecisionLog]:
    app = build_application(Settings(data_dir=tmp_path))
    yield app
    app.close()
