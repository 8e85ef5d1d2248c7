"""The combiner: a lone job never waits; a round of submitters comes back as one batch."""

import threading
import time
from collections.abc import Callable

from services.store.combining import Combiner, Job


def test_a_lone_submitter_is_never_held_back_by_the_wait() -> None:
    combiner: Combiner[int, int] = Combiner(_doubled(), RuntimeError, max_wait=2.0)
    started = time.monotonic()

    results = [combiner.submit(n) for n in range(3)]

    assert results == [0, 2, 4]
    assert time.monotonic() - started < 2.0  # not one batch waited out its 2 s


def test_threads_submitting_in_a_loop_are_batched_a_whole_round_at_a_time() -> None:
    sizes: list[int] = []
    combiner: Combiner[int, int] = Combiner(_doubled(sizes, seconds=0.005), RuntimeError,
                                            max_wait=1.0)
    threads, rounds = 8, 25
    results: list[list[int]] = [[] for _ in range(threads)]

    def loop(k: int) -> None:
        for n in range(rounds):
            results[k].append(combiner.submit(k * 1000 + n))

    workers = [threading.Thread(target=loop, args=(k,), daemon=True) for k in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    deadline = started + 30
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))

    # Each submitter of a batch is woken by the one before it: one that is never woken
    # leaves its thread (and every later one of its batch) waiting.
    assert not [worker for worker in workers if worker.is_alive()], "submitters never woken"
    assert results == [[2 * (k * 1000 + n) for n in range(rounds)] for k in range(threads)]
    # Without the wait, a round splits in two: some run while the others queue.
    assert sum(sizes) / len(sizes) >= threads - 2, sizes
    # A leader stops waiting once its round is back, not when the wait runs out: a leader
    # never woken would wait out nearly every round (about 24 s here, against about 1 s).
    assert time.monotonic() - started < rounds * 1.0 / 5


def _doubled(sizes: list[int] | None = None,
             seconds: float = 0.0) -> Callable[[list[Job[int, int]]], None]:
    """Work that doubles every job's payload, taking ``seconds`` per batch (a commit)."""

    def work(batch: list[Job[int, int]]) -> None:
        if sizes is not None:
            sizes.append(len(batch))
        time.sleep(seconds)
        for job in batch:
            job.succeed(2 * job.payload)

    return work
