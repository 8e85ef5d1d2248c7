"""The decision log and the views, opened on real SQLite files for one test."""

from collections.abc import Iterator
from pathlib import Path

from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings


def open_log(settings: Settings) -> Iterator[DecisionLog]:
    """For a fixture to ``yield from``: the decision log, closed when the test ends."""
    app = build_application(settings)
    yield app
    app.close()


def open_views(path: Path) -> Iterator[Views]:
    """For a fixture to ``yield from``: the views in the file at ``path``, closed when the
    test ends."""
    views = Views(path)
    yield views
    views.close()
