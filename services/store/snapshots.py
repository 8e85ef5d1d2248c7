"""Snapshots: a long stream is loaded from its latest snapshot and the events after it.

A release gains an event every time a feature joins or leaves it, so some streams grow for
as long as the product lives. Commands mostly find their aggregates kept current in memory
(:mod:`services.store.command_cache`), but a cold load — after a restart, after a batch was
rolled back, or on the library's plain path — would otherwise replay the whole stream.

Every ``interval`` versions an aggregate's state is stored in the library's snapshot store
(a table beside the events). A snapshot is written only after the events it summarises have
committed, so it never describes state the log does not hold; two writers taking the same
snapshot is harmless (the second is refused by the store and ignored). The library's
repository reads snapshots by itself; :meth:`Snapshots.load` does the same for the fast path.
"""

from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, IntegrityError

from domain.base import DecisionLogAggregate


class Snapshots:
    """Takes a snapshot of an aggregate each time its version crosses a multiple of
    ``interval``, and loads an aggregate from its latest snapshot."""

    def __init__(self, store: EventStore[UUID], interval: int) -> None:
        if interval < 1:
            raise ValueError("the snapshot interval must be at least 1")
        self.store = store
        self.interval = interval

    def due(self, aggregates: Iterable[DecisionLogAggregate]) -> list[Snapshot]:
        """Snapshots of those of ``aggregates`` whose pending events cross a multiple of the
        interval, taken now (call before the events are collected, put after they commit)."""
        taken = []
        for aggregate in aggregates:
            new = len(aggregate.pending_events)
            if new and aggregate.version // self.interval > (
                    aggregate.version - new) // self.interval:
                taken.append(Snapshot.take(aggregate))
        return taken

    def put(self, snapshots: Sequence[Snapshot]) -> None:
        """Store ``snapshots`` (of committed state); one already stored is skipped."""
        for snapshot in snapshots:
            with suppress(IntegrityError):  # the same version, snapshotted by another writer
                self.store.put([snapshot])

    def load(self, aggregate_id: UUID, events: EventStore[UUID]) -> Any:
        """The aggregate from its latest snapshot and the events stored after it (from all its
        events when it has no snapshot yet); ``None`` if it has no events."""
        aggregate: Any = None
        for snapshot in self.store.get(aggregate_id, desc=True, limit=1):
            aggregate = snapshot.mutate(None)  # type: ignore[attr-defined]
        after = aggregate.version if aggregate is not None else None
        for event in events.get(aggregate_id, gt=after):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
        return aggregate
