"""Fixtures for every test folder: ``pg_dsn``, an empty PostgreSQL database of its own per test
(tests/support/postgres.py)."""

import pytest

pytest_plugins = ["tests.support.postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``sqlite_only`` (about SQLite files themselves) are not collected in
    their PostgreSQL variant (a store fixture parametrised with ``"postgres"``)."""
    dropped = [item for item in items if item.get_closest_marker("sqlite_only")
               and "postgres" in getattr(getattr(item, "callspec", None), "params",
                                         {}).values()]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
