"""Combining: work that many threads submit together is done in batches by one of them.

The first waiting submitter becomes the *leader*: it takes up to ``max_batch`` queued jobs (its
own among them), has the whole batch done by one call, hands each submitter its outcome, and
passes leadership on to the oldest waiter. There is no worker thread, and a lone job is never
delayed: while a leader works, the next batch queues up by itself, so batches grow with the
load. With ``max_wait``, a leader also waits (up to it) for the submitters of the last round to
come back, so that many threads in a loop make one batch per round rather than two halves.

Used twice: by the group-commit recorder (rows from many saves, one transaction; see
:mod:`services.store.group_commit`) and by the application (whole commands run by one thread, one
transaction; see :mod:`services.store.command_batches`).
"""

import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import pairwise
from typing import Generic, TypeVar

P = TypeVar("P")  # what a job carries to the leader
R = TypeVar("R")  # what the leader gives back


class Job(Generic[P, R]):
    """One submitter's work waiting in the queue, and then its outcome.

    ``wake`` is held from creation; it is released once: by the leader that did this job or
    the submitter woken before it in the same batch (the outcome is then set), or by a leader
    that hands this submitter the leadership (``lead``). ``successor`` is the submitter this
    one wakes in turn once woken.
    """

    __slots__ = ("done", "error", "lead", "payload", "result", "successor", "wake")

    def __init__(self, payload: P) -> None:
        self.payload = payload
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False
        self.successor: Job[P, R] | None = None
        self.wake = threading.Lock()
        self.wake.acquire()

    def succeed(self, result: R) -> None:
        self.result, self.done = result, True

    def fail(self, error: BaseException) -> None:
        self.error, self.done = error, True

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # done, so set (R may allow None)


class Combiner(Generic[P, R]):
    """Jobs submitted from many threads, done a batch at a time by ``work``.

    ``work(batch)`` must settle every job of the batch (``succeed`` or ``fail``); a job it
    leaves unsettled, or every job if it raises, fails with ``abandoned(error)``.
    """

    def __init__(self, work: Callable[[list[Job[P, R]]], None],
                 abandoned: Callable[[BaseException | None], BaseException], *,
                 max_batch: int = 100, max_wait: float = 0.0) -> None:
        self.work = work
        self.abandoned = abandoned
        #: Most jobs in one batch.
        self.max_batch = max_batch
        #: How long a leader may wait for the last round's submitters to come back (seconds;
        #: see :meth:`_next_batch`); 0 takes whatever has queued.
        self.max_wait = max_wait
        #: Counters for benchmarks and diagnostics (written by the leader only).
        self.batches = 0
        self.jobs = 0
        self._lock = threading.Lock()
        self._filled = threading.Condition(self._lock)  # the queue reached ``_awaited``
        #: Jobs a waiting leader waits for (0: no leader waits). Submitters wake it only once
        #: the queue holds that many: a wake-up per arrival costs each a thread switch.
        self._awaited = 0
        self._queue: deque[Job[P, R]] = deque()
        self.leading = False
        #: Submitters seen in the last round: the last batch and those queued as it ended.
        self._round = 1

    @property
    def queued(self) -> int:
        """Jobs waiting for the next batch."""
        with self._lock:
            return len(self._queue)

    def submit(self, payload: P) -> R:
        """Have ``payload`` done in the next batch; its result, or raise its error."""
        job: Job[P, R] = Job(payload)
        with self._lock:
            self._queue.append(job)
            if self._awaited and len(self._queue) >= self._awaited:
                self._awaited = 0
                self._filled.notify()  # the waiting leader's batch is full
            lead = not self.leading
            self.leading = True
        if not lead:
            self._wait(job)  # done by a leader, or handed the leadership
            if not job.lead:
                return job.outcome()
        try:
            while not job.done:
                self._do(self._next_batch(), job)
        finally:
            self._hand_over()
        return job.outcome()

    @staticmethod
    def _wait(job: Job[P, R]) -> None:
        """Wait until ``job`` is woken, then wake its successor: the submitters of a batch
        wake one another in turn. Woken all at once, they would contend for the interpreter
        lock, which costs each several thread switches; in turn, one each (measured on
        benchmark row 2: see "Figures behind design choices" in benchmarks/README.md)."""
        try:
            job.wake.acquire()
        except BaseException:  # interrupted (KeyboardInterrupt): still take the turn, so that
            job.wake.acquire()  # the rest of the batch is woken, then give up
            raise
        finally:
            if job.successor is not None:
                job.successor.wake.release()

    def _hand_over(self) -> None:
        """Make the oldest waiting submitter the leader, or leave no leader if none waits."""
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake.release()
            else:
                self.leading = False

    def _next_batch(self) -> list[Job[P, R]]:
        """The next batch. With ``max_wait``, a leader first waits (up to it) until as many
        jobs have queued as there were submitters in the last round: those of the last
        batch come back with their next job just after it, and a batch that waits for
        them makes one commit where there would be two. A lone submitter's round is
        itself: it never waits."""
        with self._lock:
            wanted = min(self._round, self.max_batch)
            if self.max_wait > 0 and len(self._queue) < wanted:
                deadline = time.monotonic() + self.max_wait
                while len(self._queue) < wanted:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._awaited = wanted
                    self._filled.wait(remaining)
                self._awaited = 0
            take = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(take)]

    def _do(self, batch: list[Job[P, R]], own: Job[P, R]) -> None:
        """Have ``batch`` done and wake its submitters (each wakes the next; the leader's
        ``own`` job, if in it, has no one waiting); never raises."""
        failure: BaseException | None = None
        try:
            self.work(batch)
        except BaseException as error:
            failure = error
        finally:
            for job in batch:  # whatever happened, no submitter is left waiting
                if failure is not None or not job.done:
                    job.fail(self.abandoned(failure))
            self.batches += 1
            self.jobs += len(batch)
            with self._lock:
                self._round = len(batch) + len(self._queue)
            waiting = [job for job in batch if job is not own]
            for job, successor in pairwise(waiting):
                job.successor = successor
            if waiting:
                waiting[0].wake.release()
