"""Aggregates kept between commands, handed to one command at a time (no copy, no read).

eventsourcing's aggregate cache gives every load a deep copy of the cached aggregate (so that a
command that fails half way cannot corrupt it), after a query for events stored since, applied
to the cached one in place. For a one-event command those two cost more than the rest of the
command's Python. :class:`CommandCache` replaces them with ownership and the store's own
concurrency check (the fast path, :class:`services.store.command_path.FastPath`, relies on
both):

- **Checkout takes the aggregate out of the cache.** While a command holds it no other thread
  can get it: a concurrent command on the same aggregate misses and loads its own (a fresh
  copy), so two threads never mutate the same object, and nothing needs copying.
- **Only a command that committed gives it back**, at the version it saved (it then holds
  exactly what the store holds up to that version). A command that fails for any reason (a
  rule, a lost race, a database error) drops it; the next command loads it afresh. Giving
  back never replaces a newer version of the same aggregate.
- **A command may decide on a cached aggregate without reading the store first.** The
  cached aggregate at version ``v`` is behind the store exactly when an event ``v + 1`` of it
  is stored (by another process, or by a command of this one that missed the cache). A
  command's first new event is ``v + 1``, so saving it then fails the store's uniqueness
  check (``IntegrityError``, nothing written) and the command runs again on state read from
  the store: a decision is never committed on state that was behind. What remains is a
  command *refused* on state that was behind (its expected version, or a rule, failing
  against the cached state): so any failure on an aggregate that was not read from the store
  just now is retried on state that was, and only that answer counts; and an aggregate a
  command read but did not change (nothing would check its version) is checked against the
  store before the save.

Least recently used aggregates are dropped beyond ``maxsize`` (0 keeps nothing).
"""

import threading
from collections import OrderedDict

from domain.base import DecisionLogAggregate


class CommandCache:
    """Least-recently-used aggregates, checked out by one command at a time."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[int, DecisionLogAggregate] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def checkout(self, aggregate_id: int) -> DecisionLogAggregate | None:
        """The cached aggregate with this id (``UUID.int``), now owned by the caller until
        given back; None when none is cached."""
        with self._lock:
            return self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        """Drop every cached aggregate."""
        with self._lock:
            self._items.clear()

    def give_back(self, aggregate: DecisionLogAggregate) -> None:
        """Return an aggregate that holds exactly what the store holds at its version.

        Call only with an aggregate no one else holds (checked out, or freshly loaded, by the
        caller) and that the caller will not touch again.
        """
        if aggregate.pending_events or self.maxsize <= 0:
            return  # not what the store holds, or nothing is kept
        key = aggregate.id.int  # int keys: UUID hashes and compares in Python
        with self._lock:
            current = self._items.get(key)
            if current is not None and current.version >= aggregate.version:
                self._items.move_to_end(key)
                return
            self._items[key] = aggregate
            self._items.move_to_end(key)
            if len(self._items) > self.maxsize:
                self._items.popitem(last=False)
