"""Fixtures for the relay-leadership tests: real ``pdl relay`` processes on one store, the
real broker (tests/kafka/conftest.py), a topic prefix of each test's own."""

import uuid
from collections.abc import Iterator

import pytest

from tests.api.processes import kill_survivors
from tests.kafka.conftest import broker  # noqa: F401  (the session's broker, shared)
from tests.relay_leader.candidates import Candidate


@pytest.fixture
def prefix() -> str:
    """Topics of this test's own: no other test's messages in them."""
    return f"rl{uuid.uuid4().hex[:10]}"


@pytest.fixture
def started() -> Iterator[list[Candidate]]:
    """The candidates a test starts; any still running when it ends (a failed test) are
    killed, paused ones included."""
    candidates: list[Candidate] = []
    yield candidates
    kill_survivors(candidate.process for candidate in candidates)
