"""Idempotency keys in the event log: a keyed command and the record of it commit together.

The HTTP layer keeps each keyed request's response in the service database
(:mod:`services.identity.idempotency`), but that is a second file, written after the command's
events commit. A process that dies between the two would leave the key unanswered, and a retry would
run the command again (a second product, a second requirement). So a command run under a
request's key also writes ``(owner, key, n) → outcome`` in the *same transaction* as its
events (the request's ``n``-th command; one request may run several). Run again under the
same key, it does nothing and returns the recorded outcome, which is all a write's response
is made of; run under the same key for a different request (another fingerprint), it is
refused.

Needs command batches (:mod:`services.store.command_batches`), the default, which give the command
its transaction; without them the key is honoured by the service database alone.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

from services.identity.idempotency import RETENTION
from services.store.errors import KeyReused
from services.store.outcome import Outcome
from services.store.transactions import Transaction as OpenTransaction

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS command_outcomes (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (owner, key, n)
    )""",
    "CREATE INDEX IF NOT EXISTS command_outcomes_by_age ON command_outcomes (created_at)",
)


@dataclass
class RequestKey:
    """The idempotency key of the request being handled, and how many commands it ran."""

    owner: str
    key: str
    fingerprint: str
    commands: int = 0


@dataclass(frozen=True)
class CommandKey:
    """The key of one command: its request's key and its place among the request's commands."""

    owner: str
    key: str
    n: int
    fingerprint: str


_request: ContextVar[RequestKey | None] = ContextVar("request_key", default=None)


@contextmanager
def keyed(owner: str, key: str, fingerprint: str) -> Iterator[None]:
    """Run the commands of a request (in this context) under its idempotency key."""
    token = _request.set(RequestKey(owner, key, fingerprint))
    try:
        yield
    finally:
        _request.reset(token)


def take() -> CommandKey | None:
    """The key for the next command of the request being handled, if it has one."""
    request = _request.get()
    if request is None:
        return None
    request.commands += 1
    return CommandKey(request.owner, request.key, request.commands - 1, request.fingerprint)


def create_tables(transaction: OpenTransaction) -> None:
    for statement in SCHEMA:
        transaction.execute(statement)


def run_once(transaction: OpenTransaction, key: CommandKey,
             command: Callable[[], Outcome]) -> Outcome:
    """The recorded outcome of ``key``; or run ``command`` and record its outcome with it."""
    recorded = transaction.execute(
        "SELECT fingerprint, id, version, position FROM command_outcomes "
        "WHERE owner = ? AND key = ? AND n = ?", (key.owner, key.key, key.n))
    if recorded:
        ((fingerprint, id_, version, position),) = recorded
        if fingerprint != key.fingerprint:
            raise KeyReused(
                "This Idempotency-Key was already used for a different request (another "
                "method, path or body). Use a new key for a new request.")
        return Outcome(UUID(hex=id_), version, position, replayed=True)
    outcome = command()
    now = time.time()
    transaction.execute("DELETE FROM command_outcomes WHERE created_at < ?", (now - RETENTION,))
    transaction.execute(
        "INSERT INTO command_outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key.owner, key.key, key.n, key.fingerprint, now, outcome.id.hex, outcome.version,
         outcome.position))
    return outcome
