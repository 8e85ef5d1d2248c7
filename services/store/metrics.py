"""What the store counts for ``/metrics``: the size of each group commit, and the commands
run again after losing a race.

Batch sizes are observed by wrapping a :class:`~services.store.combining.Combiner`'s ``work``
(:func:`observe_batches`, once per batch, in the composition root), so the combining code
itself stays as it is.
"""

from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

BATCH_SIZES = Histogram(
    "pdl_group_commit_batch_size",
    "Jobs done in one batch: commands run in one transaction (queue=commands) or saves "
    "committed together (queue=saves).",
    ["queue"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))

RETRIES = Counter(
    "pdl_command_retries",
    "Commands run again on state read from the store: after losing a race to another "
    "writer (race), or after a decision on kept state was refused or found behind, to "
    "confirm it (kept_state).",
    ["reason"])

Work = Callable[[list[Any]], None]


def observe_batches(work: Work, queue: str) -> Work:
    """``work``, recording the size of every batch it is given under ``queue``."""
    observe = BATCH_SIZES.labels(queue).observe

    def observed(batch: list[Any]) -> None:
        observe(len(batch))
        work(batch)

    return observed


def retried(reason: str) -> None:
    """A command is being run again (``race`` or ``kept_state``)."""
    RETRIES.labels(reason).inc()
