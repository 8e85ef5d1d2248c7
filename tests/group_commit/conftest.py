"""A decision log with group commit on, on a SQLite file in the test's temporary folder."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings

OpenLog = Callable[[], DecisionLog]


@pytest.fixture
def open_log(tmp_path: Path) -> Iterator[OpenLog]:
    """Opens the decision log on the same file each time it is called; closes them all."""
    opened: list[DecisionLog] = []

    def open_() -> DecisionLog:
        settings = Settings(data_dir=tmp_path, store=StoreSettings(group_commit=True))
        opened.append(build_application(settings))
        return opened[-1]

    yield open_
    for app in opened:
        app.close()
