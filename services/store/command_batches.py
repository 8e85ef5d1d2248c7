"""Commands from many threads, run one after another by one of them, committed together.

Group commit (:mod:`services.store.group_commit`) lets concurrent saves share one fsync, but every
command still runs on its own thread, and under load those threads spend more time handing the
interpreter lock to each other than running Python. Here the *leader* (see
:mod:`services.store.combining`) runs the queued commands itself, one after another, inside one open
transaction (:meth:`GroupCommitRecorder.transaction`), and commits once:

- **Same answers as alone.** Each command loads, decides and saves as it would on its own
  thread; what the commands before it in the batch wrote is visible to it (reads go through
  the open transaction), and a conflicting save still fails, and is retried, alone.
- **Durability.** No caller gets its answer before the commit; if the commit fails, every
  command of the batch fails with the database error, and the cached aggregates are dropped
  (they may hold versions that were never stored).
- **Nested commands** (a command run by a command) run at once, in the same batch.
- **Idempotency keys**: a command run for a request with an ``Idempotency-Key`` records its
  outcome in the same transaction, and is not run twice (see :mod:`services.store.command_keys`).
"""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from services.store import command_keys
from services.store.combining import Combiner, Job
from services.store.command_keys import CommandKey
from services.store.group_commit import translate
from services.store.transactions import TransactionalRecorder

T = TypeVar("T")

_Command = tuple[Callable[[], Any], CommandKey | None]


class CommandBatches:
    """Runs commands in batches on one thread each, one transaction per batch."""

    def __init__(self, recorder: TransactionalRecorder, forget: Callable[[], None], *,
                 max_batch: int = 100, max_wait: float = 0.0,
                 create_tables: bool = True) -> None:
        """``create_tables=False`` where the outcome table is made by a migration (on
        PostgreSQL: :func:`services.runtime.bootstrap.migrate_postgres`)."""
        self._recorder = recorder
        self._forget = forget  # drops every cached aggregate
        self._running = threading.local()
        self.combiner: Combiner[_Command, Any] = Combiner(
            self._run_batch, _abandoned, max_batch=max_batch, max_wait=max_wait)
        if create_tables:
            with recorder.transaction() as transaction:
                command_keys.create_tables(transaction)

    @property
    def running(self) -> bool:
        """Whether this thread is running a batch (its reads see what the batch wrote)."""
        return bool(getattr(self._running, "batch", False))

    def run(self, command: Callable[[], T]) -> T:
        """Run ``command`` in the next batch; its result once committed, or raise its error."""
        if self.running:
            return command()  # run by a command of the batch this thread is running
        result: T = self.combiner.submit((command, command_keys.take()))
        return result

    def _run_batch(self, batch: list[Job[_Command, Any]]) -> None:
        self._running.batch = True
        try:
            with self._recorder.transaction() as transaction:
                for job in batch:
                    command, key = job.payload
                    try:
                        if key is None:
                            job.succeed(command())
                        else:
                            job.succeed(command_keys.run_once(transaction, key, command))
                    except Exception as error:  # the command's own answer
                        job.fail(error)
        except BaseException:
            self._forget()  # the batch was rolled back: caches may hold what was never stored
            raise
        finally:
            self._running.batch = False


def _abandoned(error: BaseException | None) -> BaseException:
    if error is None:
        return RuntimeError("the command batch ended without running this command")
    return translate(error)
