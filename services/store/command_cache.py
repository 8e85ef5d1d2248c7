"""Aggregates kept between commands, handed to one command at a time (no copy, no read).

eventsourcing's aggregate cache gives every load a deep copy of the cached aggregate (so that a
command that fails half way cannot corrupt it), after a query for events stored since, applied
to the cached one in place. For a one-event command those two cost more than the rest of the
command's Python. :class:`CommandCache` replaces them with ownership and the store's own
concurrency check:

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
  just now is retried once on state that was, and only that answer counts; and a command
  that recorded no event on the aggregate (nothing would check its version) is also re-run
  on fresh state. See ``DecisionLog._change``.

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


class Unverified(Exception):
    """A command on a cached aggregate must be re-run on state read from the store."""


class _Host(Protocol):
    """What the cache needs from the application (see
    :class:`services.commands.application.DecisionLog`)."""

    @property
    def env(self) -> Any: ...

    @property
    def events(self) -> Any: ...

    @property
    def snapshots(self) -> Any: ...

    def _get(self, cls: type[A], aggregate_id: UUID, *, referenced: bool = False,
             version: int | None = None) -> A: ...

    def _replayed(self, aggregate_id: UUID) -> Any: ...


class CommandCache:
    """Least-recently-used aggregates, checked out by one command at a time."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[int, DecisionLogAggregate] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def checkout(self, app: _Host, cls: type[A], aggregate_id: UUID, *,
                 catch_up: bool) -> tuple[A, bool]:
        """The aggregate, owned by the caller until given back, and whether it is known to be
        current (loaded or brought up to date from the store just now).

        With ``catch_up`` false a cached aggregate is returned as cached, without reading the
        store: see the module notes for why a command may still decide on it. Raises what
        ``app._get`` raises for a missing aggregate or one of another type.
        """
        with self._lock:
            aggregate = self._items.pop(aggregate_id.int, None)
        if aggregate is None:
            return self._load(app, cls, aggregate_id), True
        if not isinstance(aggregate, cls):
            self.give_back(aggregate)
            return app._get(cls, aggregate_id), True  # raises the right error
        if not catch_up:
            return aggregate, False
        # Events stored since (by another process, or a command that missed the cache). If
        # anything here raises, the aggregate is simply not given back.
        for event in app.events.get(aggregate_id, gt=aggregate.version):
            aggregate = event.mutate(aggregate)
        return aggregate, True

    @staticmethod
    def _load(app: _Host, cls: type[A], aggregate_id: UUID) -> A:
        """A new aggregate object from all its stored events (``app._replayed``: no deep
        copy); anything else (snapshots, a missing aggregate, one of another type) goes
        through ``app._get``, which raises the right error."""
        if app.snapshots is None:
            aggregate = app._replayed(aggregate_id)
            if isinstance(aggregate, cls):
                return aggregate
        return app._get(cls, aggregate_id)

    def clear(self) -> None:
        """Drop every cached aggregate."""
        with self._lock:
            self._items.clear()

    def give_back(self, aggregate: DecisionLogAggregate) -> None:
        """Return an aggregate that holds exactly what the store holds at its version.

        Call only with an aggregate no one else holds (checked out, or freshly loaded, by the
        caller) and that the caller will not touch again.
        """
        if aggregate.pending_events:
            return  # not what the store holds
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
