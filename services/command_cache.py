"""Aggregates kept between commands, handed to one command at a time (no copying).

eventsourcing's aggregate cache hands every load a deep copy of the cached aggregate (so that a
command that fails half way cannot corrupt it), after bringing the cached one up to date from
the store in place. For a command that copy costs more than the rest of the command's Python.

:class:`CommandCache` avoids the copy by ownership instead:

- **Checkout takes the aggregate out of the cache.** While a command holds it, no other thread
  can get it: a concurrent command on the same aggregate misses and loads its own (a fresh copy
  from the store), so two threads never mutate the same object.
- **It is brought up to date from the store on every checkout** (events after its version, one
  indexed query that normally finds none), so writes by other processes, or by commands that
  missed the cache, are never missed. A command's concurrency check still happens where it
  always did: the store refuses a second event at the same version.
- **Only a command that committed gives it back**, at the version it saved (the aggregate then
  holds exactly what the store holds). A command that fails for any reason (invalid, a rule,
  a lost race, a database error) drops it; the next command loads it afresh. A stale expected
  version fails before anything changes, so that aggregate is given back.
- Giving back never replaces a newer version of the same aggregate.

The cache is per application (created on first use, sized like eventsourcing's cache by
``AGGREGATE_CACHE_MAXSIZE``; without that setting there is none) and least recently used
aggregates are dropped beyond its size.
"""

import threading
from collections import OrderedDict
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.base import DecisionLogAggregate

A = TypeVar("A", bound=DecisionLogAggregate)

_ATTRIBUTE = "_command_cache"
_creating = threading.Lock()


class _Host(Protocol):
    """What the cache needs from the application (see :class:`services.application.DecisionLog`)."""

    @property
    def env(self) -> Any: ...

    @property
    def events(self) -> Any: ...

    def _get(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False,
             version: int | None = None) -> A: ...


class CommandCache:
    """Least-recently-used aggregates, checked out by one command at a time."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, DecisionLogAggregate] = OrderedDict()
        self._lock = threading.Lock()
        #: Counters for benchmarks and diagnostics.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def checkout(self, app: _Host, cls: type[A], aggregate_id: UUID) -> A:
        """The aggregate, up to date with the store, owned by the caller until given back.

        Raises what ``app._get`` raises for a missing aggregate or one of another type.
        """
        with self._lock:
            aggregate = self._items.pop(aggregate_id, None)
        if aggregate is None:
            self.misses += 1
            return app._get(cls, aggregate_id)  # a fresh object (eventsourcing copies its own)
        if not isinstance(aggregate, cls):
            self.give_back(aggregate)
            return app._get(cls, aggregate_id)  # raises the right error
        self.hits += 1
        # Events stored since (by another process, or a command that missed the cache). If
        # anything here raises, the aggregate is simply not given back.
        for event in app.events.get(aggregate_id, gt=aggregate.version):
            aggregate = event.mutate(aggregate)
        return aggregate

    def give_back(self, aggregate: DecisionLogAggregate) -> None:
        """Return an aggregate that holds exactly what the store holds at its version.

        Call only with an aggregate no one else holds (checked out, or freshly loaded, by the
        caller) and that the caller will not touch again.
        """
        if aggregate.pending_events:
            return  # not what the store holds
        key = aggregate.id
        with self._lock:
            current = self._items.get(key)
            if current is not None and current.version >= aggregate.version:
                self._items.move_to_end(key)
                return
            self._items[key] = aggregate
            self._items.move_to_end(key)
            if len(self._items) > self.maxsize:
                self._items.popitem(last=False)


def of(app: _Host) -> CommandCache | None:
    """The command cache of ``app``, created on first use; None when caching is off."""
    cache: CommandCache | None = app.__dict__.get(_ATTRIBUTE, False)
    if cache is not False:
        return cache
    with _creating:
        if _ATTRIBUTE not in app.__dict__:
            size = int(app.env.get("AGGREGATE_CACHE_MAXSIZE") or 0)
            app.__dict__[_ATTRIBUTE] = CommandCache(size) if size > 0 else None
        result: CommandCache | None = app.__dict__[_ATTRIBUTE]
        return result
