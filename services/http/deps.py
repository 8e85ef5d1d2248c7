"""Dependencies shared by the routers: the runtime, the caller, If-Match, read-your-writes.

They are ``async`` and shallow on purpose: FastAPI runs a plain ``def`` dependency in a
worker thread, and re-solves every node of the graph on each request; both cost far more
than the work itself (a header parse, an indexed lookup of the token). Waiting for the
views (``?after=`` beyond their position) holds no thread either: the waiter is a future on
the event loop, settled when the views apply the position (:func:`arrival`).
"""

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from projections.views import Views
from services.http.middleware import identity_for
from services.http.problems import Problem
from services.http.read_cache import VIEWS_POSITION, Key, ReadCache, request_key
from services.identity.tokens import Identity, Role
from services.runtime.service import Runtime

bearer = HTTPBearer(auto_error=False, description="A token from `pdl token create`.")
MAX_POSITION = 2**63 - 1  # SQLite's largest integer
ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Authentication required", detail,
                   {"WWW-Authenticate": 'Bearer realm="pdl"'})


async def caller(request: Request,
                 credentials: HTTPAuthorizationCredentials | None) -> Identity:
    """The identity behind the request's bearer token (a lookup that never waits for a
    writer, see :class:`services.identity.tokens.TokenStore`; done once per request)."""
    if credentials is None:
        raise unauthorized("Send 'Authorization: Bearer <token>'; create a token with "
                           "'pdl token create --name NAME --role ROLE'.")
    identity = await identity_for(runtime_of(request), request.scope, credentials.credentials)
    if identity is None:
        raise unauthorized("That bearer token is not valid (unknown or revoked).")
    return identity


def require(role: Role) -> Callable[..., Awaitable[Identity]]:
    """A dependency admitting callers whose role includes ``role``."""

    async def check(request: Request, credentials: Credentials) -> Identity:
        identity = await caller(request, credentials)
        if not identity.role.allows(role):
            raise Problem(403, "forbidden", "Not allowed",
                          f"Token '{identity.name}' has role {identity.role.value}; "
                          f"this needs role {role.value} or higher.")
        return identity

    return check


Viewer = Annotated[Identity, Depends(require(Role.viewer))]
Editor = Annotated[Identity, Depends(require(Role.editor))]
Admin = Annotated[Identity, Depends(require(Role.admin))]


async def expected_version(if_match: Annotated[str | None, Header(
        description='The ETag you last read, e.g. "3": the write fails with 412 if stale.')]
        = None) -> int | None:
    """The version named by ``If-Match``; ``None`` when absent or ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = ETAG.match(if_match.strip())
    if match is None:
        raise Problem(400, "bad-if-match", "Malformed If-Match",
                      f"If-Match must be one entity tag as returned in ETag, e.g. \"3\"; "
                      f"got {if_match!r}.")
    return int(match.group(1))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


After = Annotated[int | None, Query(
    ge=0, le=MAX_POSITION, description="A position returned by a write: wait for the views.")]


async def views_reached(runtime: Runtime, after: int | None) -> None:
    """Wait (briefly) until the views have applied position ``after``; refuse at once a
    position past the end of the event log, which no write has returned."""
    if after is None or runtime.views.position >= after:
        return
    end = await run_in_threadpool(runtime.app.log_position)  # one indexed read, not a wait
    if after > end:
        raise Problem(409, "position-past-end", "No such position in the log",
                      f"Position {after} is past the end of the event log, which ends at "
                      f"position {end}: pass ?after= a position that a write returned.",
                      position=after, log_end=end)
    timeout = runtime.settings.api.read_your_writes_timeout_s
    if not await arrival(runtime.views, after, timeout):
        raise Problem(503, "views-behind", "The views are catching up",
                      f"The views have not reached position {after} within {timeout:g} s "
                      f"(they are at {runtime.views.position}); retry shortly.",
                      {"Retry-After": "1"}, position=runtime.views.position)


async def arrival(views: Views, position: int, timeout: float) -> bool:
    """Wait until ``views`` apply ``position``, on the event loop (no worker thread is held
    while waiting, so waiting readers never slow writes down); False after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[None] = loop.create_future()

    def wake() -> None:  # called by the thread that applied the position
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, arrived)

    cancel = views.call_when_reached(position, wake)
    try:
        await asyncio.wait_for(arrived, timeout)
    except TimeoutError:
        return False
    finally:
        cancel()
    return True


def settle(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


async def caught_up(request: Request, who: Viewer, after: After = None) -> None:
    """Wait (briefly) until the views have applied position ``after``; callers are
    authenticated first, so nobody without a token can keep the server waiting."""
    await views_reached(runtime_of(request), after)


CaughtUp = Depends(caught_up)


async def views_position(request: Request, response: Response, who: Viewer,
                         after: After = None) -> int:
    """What :data:`CaughtUp` does, then the views position read before the query, also set
    as ``X-Views-Position``: the answer, read next in its own snapshot, reflects at least
    that position (positions only move forward)."""
    runtime = runtime_of(request)
    await views_reached(runtime, after)
    position = runtime.views.position
    response.headers[VIEWS_POSITION] = str(position)
    return position


ViewsPosition = Annotated[int, Depends(views_position)]
ViewsAt = Depends(views_position)
"""For view reads not answered through :class:`ViewReads`: a JSON answer gets the header
from FastAPI; a response built by the route (Markdown) must set it from the value."""


@dataclass(frozen=True)
class ViewReads:
    """One viewer's read of the views, caught up with ``?after=``, answered through the
    cache of serialized responses (:mod:`services.http.read_cache`)."""

    views: Views
    cache: ReadCache
    key: Key

    async def answer(self, read: Callable[[], Any]) -> Response:
        """The JSON response to this request: kept at the views' position, or ``read()``."""
        return await self.cache.answer(self.views, self.key, read)


async def view_reads(request: Request, who: Viewer, after: After = None) -> ViewReads:
    """What :data:`CaughtUp` does, in the same order, handing over the views to read."""
    runtime = runtime_of(request)
    await views_reached(runtime, after)
    return ViewReads(runtime.views, request.app.state.read_cache, request_key(request.scope))


Reads = Annotated[ViewReads, Depends(view_reads)]
