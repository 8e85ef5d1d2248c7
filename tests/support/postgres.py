"""A real PostgreSQL for tests: one fresh database per test on the server the test command
started (``PDL_TEST_POSTGRES_DSN``, set by ``deploy/test.sh``)."""

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ENV = "PDL_TEST_POSTGRES_DSN"


def server_dsn() -> str:
    """The DSN of the test server; fails the test (never skips it) when there is none."""
    dsn = os.environ.get(ENV)
    if not dsn:
        pytest.fail(f"{ENV} is not set: run the tests with ./deploy/test.sh, which starts "
                    "PostgreSQL (deploy/postgres.sh), or point it at a server.")
    return dsn


def fresh_database(dsn: str) -> tuple[str, str]:
    """Create an empty database on the server at ``dsn``; its name and its DSN."""
    name = f"pdl_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo_to_dict(dsn)
    params["dbname"] = name
    return name, make_conninfo(**params)  # type: ignore[arg-type]


def drop_database(dsn: str, name: str) -> None:
    """Drop the database ``name`` on the server at ``dsn``, closing its open connections."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """The DSN of an empty database of its own for one test, dropped afterwards."""
    server = server_dsn()
    name, dsn = fresh_database(server)
    yield dsn
    drop_database(server, name)
