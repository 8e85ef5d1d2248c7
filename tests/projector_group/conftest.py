"""Fixtures for the projector-group tests: real ``pdl project --source kafka`` processes in one
consumer group on one PostgreSQL store (``pg_dsn``), the real broker (tests/kafka/conftest.py),
topics and a group of each test's own."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.processes import kill_survivors
from tests.kafka.conftest import Broker, broker  # noqa: F401  (the session's broker, shared)
from tests.projector_group.members import Member
from tests.projector_group.stream import Stream


@pytest.fixture
def group() -> str:
    return f"pg-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def stream(tmp_path: Path, pg_dsn: str, broker: Broker) -> Iterator[Stream]:  # noqa: F811
    """The writer and relay of this test's store, on topics of its own."""
    written = Stream(tmp_path, pg_dsn, broker.bootstrap, f"pg{uuid.uuid4().hex[:10]}")
    yield written
    written.close()


@pytest.fixture
def members() -> Iterator[list[Member]]:
    """The members a test starts; any still running when it ends (a failed test) are
    killed."""
    started: list[Member] = []
    yield started
    kill_survivors(member.process for member in started)
