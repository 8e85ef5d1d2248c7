"""The views for one test, where the event store's kind puts them: in the SQLite file of
the test's folder beside a SQLite store, in the test's PostgreSQL database beside a
PostgreSQL one."""

from collections.abc import Iterator

from projections.pg_views import PgViews
from projections.views import Views
from services.runtime.settings import Settings


def views_of(settings: Settings) -> Views:
    """The views beside the event store of ``settings`` (open: the caller closes them)."""
    if settings.store.kind == "postgres":
        assert settings.store.dsn is not None
        return PgViews(settings.store.dsn.get_secret_value())
    return Views(settings.views_path)


def open_views_of(settings: Settings) -> Iterator[Views]:
    """For a fixture to ``yield from``: :func:`views_of`, closed when the test ends."""
    views = views_of(settings)
    yield views
    views.close()
