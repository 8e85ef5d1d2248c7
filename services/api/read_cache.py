"""Serialized view responses, kept until the views move on.

A view read is a pure function of its arguments and of the views' contents, and the
contents change only when the views apply more of the log, which moves
:attr:`projections.views.Views.position`. So a response's JSON bytes are cached under
its route and arguments together with the position they were read at, and served only
while the views are still at that position: a cached answer is never older than what a
fresh read would have shown at that position. ``?after=N`` is checked before the cache
is asked, so read-your-writes holds as before.

The position is the one this process's catch-up has applied. Another process that writes
the same views file (``pdl project --follow``) is noticed when this process's own
catch-up next moves the position (at once after a local write, otherwise within its poll
interval, 0.2 s), the same bound within which those writes reach ``?after=`` here.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from fastapi import Response
from starlette.concurrency import run_in_threadpool

from projections.views import Views

MAX_ENTRIES = 1024
MAX_BYTES = 32 * 1024 * 1024


class JSONBytes(Response):
    """A JSON body that is already serialized."""

    media_type = "application/json"


def serialize(content: Any) -> bytes:
    """The JSON bytes FastAPI would send for ``content`` (compact, UTF-8)."""
    return orjson.dumps(content)


class ReadCache:
    """A bounded LRU of response bodies, each valid at one views position."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, position: int) -> bytes | None:
        """The body cached under ``key`` if it was read at ``position``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != position:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, position: int, body: bytes) -> None:
        """Keep ``body``, read at ``position``; the least recently used go first."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[1])
            self._entries[key] = (position, body)
            self._size += len(body)
            while len(self._entries) > self.max_entries or self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    async def answer(self, views: Views, key: Hashable, read: Callable[[], Any]) -> Response:
        """The response for ``key``: cached at the views' current position, or ``read()``
        (in a worker thread: it queries SQLite), serialized and kept."""
        position = views.position
        body = self.get(key, position)
        if body is None:
            body = serialize(await run_in_threadpool(read))
            self.put(key, position, body)
        return JSONBytes(body)
