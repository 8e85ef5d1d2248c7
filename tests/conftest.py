"""Fixtures for every test folder: ``pg_dsn``, an empty PostgreSQL database of its own per test
(tests/support/postgres.py)."""

pytest_plugins = ["tests.support.postgres"]
