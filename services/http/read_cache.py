"""Serialized view responses, kept until the views move on, and served before routing.

A view read is a pure function of its request and of the views' contents, and the contents
change only when the views apply more of the log, which moves
:attr:`projections.views.Views.position`. So the view routes keep each answer's JSON bytes
under the request (path and query string) together with the position they were read at,
and :class:`CachedReads` sends them again for the same GET while the views are still at
that position, once the bearer token is checked; anything else goes through the app.

Why this is the same answer the routes would give:

- the request was valid when it was first answered, and stays so: its ids and ``after``
  parse the same way, and an ``as_of`` instant that was in the past stays in the past;
- ``?after=N`` was reached before the answer was read, so the position it is kept at is at
  least ``N``;
- every token may read the views (all roles include ``viewer``), so a token that
  authenticates now may be sent any cached view; tokens are looked up on every request,
  so a revoked one is refused at once;
- the body is read no earlier than the position it is kept at, and only served at that
  position: never older than what a fresh read at that position would show.

The position is the one this process's catch-up has applied, or, in a process that follows
another's catch-up (``pdl serve --workers``), the one it last read from the views file (every
few milliseconds). Another process that writes the same views file (``pdl project --follow``)
is noticed when this process's catch-up next moves the position: at once after a local
write, otherwise within its poll interval, the same bound within which those writes reach
``?after=`` here.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from projections.views import Views
from services.http.middleware import bearer_token, identity_for
from services.runtime.service import Runtime

MAX_ENTRIES = 1024
MAX_BYTES = 32 * 1024 * 1024

Key = tuple[str, bytes]


#: The header of every view answer naming the views position it reflects: the body was
#: read with the views at this position or later, never earlier.
VIEWS_POSITION = "X-Views-Position"


class JSONBytes(Response):
    """A JSON body that is already serialized."""

    media_type = "application/json"


def view_answer(body: bytes, position: int) -> JSONBytes:
    """A view's JSON ``body``, saying the views ``position`` it reflects."""
    return JSONBytes(body, headers={VIEWS_POSITION: str(position)})


def serialize(content: Any) -> bytes:
    """The JSON bytes FastAPI would send for ``content`` (compact, UTF-8)."""
    return orjson.dumps(content)


def request_key(scope: Scope) -> Key:
    """What identifies a read: its path and query string."""
    return scope["path"], scope["query_string"]


class ReadCache:
    """A bounded LRU of response bodies, each valid at one views position.

    Positions only move forward, so a body kept at an older position than the newest one
    put can never be served again: it is dropped as soon as a newer position arrives. Under
    steady writes the cache therefore holds the reads of the current position only, not
    ``max_bytes`` of answers nobody can be sent.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[Key, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._newest = 0
        self._lock = threading.Lock()

    @property
    def bytes_held(self) -> int:
        """The size of the bodies kept."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, position: int) -> bytes | None:
        """The body kept for ``key`` if it was read at ``position``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != position:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Key, position: int, body: bytes) -> None:
        """Keep ``body``, read at ``position``; the least recently used go first."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if position < self._newest:
                return  # the views moved on while it was read: it can never be served
            if position > self._newest:
                self._entries.clear()  # every body kept was read at an older position
                self._size = 0
                self._newest = position
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[1])
            self._entries[key] = (position, body)
            self._size += len(body)
            while len(self._entries) > self.max_entries or self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    async def answer(self, views: Views, key: Key, read: Callable[[], Any]) -> Response:
        """The response for ``key``: kept at the views' current position, or ``read()``
        (in a worker thread: it queries SQLite), serialized and kept."""
        position = views.position
        body = self.get(key, position)
        if body is None:
            body = serialize(await run_in_threadpool(read))
            self.put(key, position, body)
        return view_answer(body, position)


class CachedReads:
    """ASGI middleware: answer a GET from the :class:`ReadCache` when a view route has
    answered the same request at the views' current position, for a valid token."""

    def __init__(self, app: ASGIApp, runtime: Runtime, cache: ReadCache) -> None:
        self.app, self.runtime, self.cache = app, runtime, cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            position = self.runtime.views.position
            body = self.cache.get(request_key(scope), position)
            if body is not None and await self.authenticated(scope):
                return await view_answer(body, position)(scope, receive, send)
        await self.app(scope, receive, send)

    async def authenticated(self, scope: Scope) -> bool:
        """Whether the request carries a valid bearer token (as :mod:`services.http.deps`
        reads it); when not, the app answers, with the right problem."""
        token = bearer_token(scope)
        return token is not None and await identity_for(self.runtime, scope, token) is not None
