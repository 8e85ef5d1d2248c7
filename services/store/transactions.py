"""What a recorder that runs whole commands in one open transaction offers (on SQLite:
:mod:`services.store.group_commit`; on PostgreSQL: :mod:`services.store.pg_group_commit`).

Command batches (:mod:`services.store.command_batches`) and the command-outcome records
(:mod:`services.store.command_keys`) are written against these protocols only, so they run
unchanged on either store.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from services.store.combining import Combiner


class Transaction(Protocol):
    """A transaction a thread holds open. Statements are written with ``?`` placeholders
    and portable SQL (the PostgreSQL transaction turns ``?`` into its own ``%s``)."""

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement in the transaction; the rows it returns (as tuples)."""
        ...

    def check(self) -> None:
        """Raise if the transaction is over: nothing may be written outside it."""
        ...


class TransactionalRecorder(Protocol):
    """A recorder whose saves from many threads share commits (``saves``), and which can
    hold one transaction open for a thread (``transaction``)."""

    saves: Combiner[Any, Sequence[int]]

    def transaction(self) -> AbstractContextManager[Transaction]:
        ...
