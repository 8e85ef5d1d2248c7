"""The decision log and the views, opened on real stores for one test."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings

#: The event stores a suite runs on (a fixture's ``params``): the embedded default, and
#: PostgreSQL (a fresh database per test, see :mod:`tests.support.postgres`).
STORES = ["sqlite", "postgres"]


def store_settings(kind: str, request: pytest.FixtureRequest) -> StoreSettings:
    """The default settings of the store named ``kind`` (one of :data:`STORES`)."""
    if kind == "postgres":
        return StoreSettings(kind="postgres", dsn=request.getfixturevalue("pg_dsn"))
    return StoreSettings(kind=kind)  # type: ignore[arg-type]


def settings_on(kind: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings with the store named ``kind`` and its data folder at ``data_dir``."""
    return Settings(data_dir=data_dir, store=store_settings(kind, request))


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
