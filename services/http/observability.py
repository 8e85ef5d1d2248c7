"""The outermost middleware: a request id, one access line, and the request metrics.

Each request gets an id: the caller's ``X-Request-ID`` when it is a plain token of up to 128
characters (letters, digits, ``. _ : -``), else a new one; it is returned in the response's
``X-Request-ID`` and carried by every log line written while the request is served
(:data:`services.runtime.logs.request_id`), and by every event its commands record, as their
``correlation_id`` with the request's W3C ``traceparent`` when valid
(:func:`domain.context.correlated`). When the request is done, one access line
(logger ``pdl.access``) says who (the token's name, never the token), what (method and
route template, never the raw path), how it ended (status) and how long it took; the same
facts feed the Prometheus counters below. Probes and scrapes are logged at DEBUG only.
"""

import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from eventsourcing.persistence import PersistenceError
from prometheus_client import Counter, Histogram
from starlette.routing import Match, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.context import correlated
from services.http.middleware import bearer_token, caller_name, header
from services.runtime.logs import request_id

access = logging.getLogger("pdl.access")

REQUESTS = Counter("pdl_http_requests", "HTTP requests answered, by route template.",
                   ["method", "route", "status"])
LATENCY = Histogram("pdl_http_request_duration_seconds",
                    "Time from a request's arrival to its last byte, by route template.",
                    ["method", "route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                             2.5, 5.0, 10.0))
COMMANDS = Counter("pdl_commands", "Commands (every POST route, named after its handler) by "
                   "outcome: ok, replayed, refused, conflict, invalid, denied, not_found, "
                   "unavailable, error.", ["command", "outcome"])
STORE_ERRORS = Counter("pdl_store_errors", "Requests failed by the storage (SQLite or the "
                       "event store), by error.", ["error"])

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-[0-9a-f]{2}")
UNMATCHED = "unmatched"  # the route label of a path no route serves
#: Method labels: any other method a client sends is counted as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUIET = frozenset({"/livez", "/readyz", "/health", "/metrics"})  # logged at DEBUG

#: Status -> command outcome (2xx: ok; 5xx not listed: error).
OUTCOMES = {400: "invalid", 401: "denied", 403: "denied", 404: "not_found", 409: "refused",
            412: "conflict", 413: "invalid", 422: "invalid", 503: "unavailable"}


def new_request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` if it is a plain token (and not its bearer token), else a
    new random one."""
    given = header(scope, b"x-request-id")
    if given and REQUEST_ID.fullmatch(given) and given != bearer_token(scope):
        return given
    return uuid.uuid4().hex


def traceparent(scope: Scope) -> str | None:
    """The request's W3C ``traceparent`` when it is a valid one (version 00 or a later one,
    non-zero trace and parent ids), else None."""
    given = header(scope, b"traceparent")
    if not given:
        return None
    given = given.strip().lower()
    match = TRACEPARENT.fullmatch(given[:55])
    if match is None or match["version"] == "ff" or set(match["trace"]) == {"0"} \
            or set(match["parent"]) == {"0"}:
        return None
    if len(given) > 55 and (match["version"] == "00" or given[55] != "-"):
        return None  # version 00 has exactly four fields; later ones may add more
    return given[:55]


def find_route(app: Any, method: str, path: str) -> Any:
    """The route of ``app`` that serves ``method`` on ``path``; None if none does."""
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    for candidate in leaf_routes(getattr(app, "routes", ())):
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return candidate
    return None


def leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes themselves, in the routers that newer FastAPI versions keep whole
    (``original_router``; ours are included without a prefix, so their paths are whole)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from leaf_routes(inner.routes)
        else:
            yield route


def outcome(status: int, replayed: bool) -> str:
    if 200 <= status < 300 or status == 303:  # 303: a web app form that succeeded
        return "replayed" if replayed else "ok"
    return OUTCOMES.get(status, "error" if status >= 500 else "invalid")


def storage_error(error: BaseException | None, status: int) -> str | None:
    """The name of the storage failure behind a request, if one ended it."""
    if isinstance(error, sqlite3.Error | PersistenceError):
        return type(error).__name__
    return "DiskFull" if status == 507 else None


class Observability:
    """Request id, access line and request metrics around the whole app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Requests answered before routing (a cached read, a replayed Idempotency-Key, a
        # body too large) are matched here; a cached read repeats its path, so the answers
        # for recent paths are kept (matching every route takes tens of microseconds).
        self.find_route = lru_cache(maxsize=4096)(find_route)

    def route_of(self, scope: Scope) -> Any:
        """The route that served (or would serve) the request; None if no route matches."""
        route = scope.get("route")  # recorded by routing
        if route is not None:
            return route
        return self.find_route(scope.get("app"), scope["method"], get_route_path(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        rid = new_request_id(scope)
        reset = request_id.set(rid)
        answered: dict[str, Any] = {"status": 500, "replayed": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                answered["status"] = message["status"]
                answered["replayed"] = (b"idempotent-replayed", b"true") in headers
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            # Every event a command of this request records carries its id as correlation.
            with correlated(rid, traceparent(scope)):
                await self.app(scope, receive, send_with_id)
        except BaseException as error:
            # Answered 500 by the server-error handler outside; its log line still carries
            # the request id (the request's task ends with it: nothing else sees it).
            self.record(scope, 500, False, error, time.perf_counter() - started, rid)
            raise
        self.record(scope, answered["status"], answered["replayed"], None,
                    time.perf_counter() - started, rid)
        request_id.reset(reset)

    def record(self, scope: Scope, status: int, replayed: bool, error: BaseException | None,
               seconds: float, rid: str) -> None:
        route = self.route_of(scope)
        template = getattr(route, "path", UNMATCHED)
        method = scope["method"] if scope["method"] in METHODS else "other"
        requests, latency = self.series(method, template, status)
        requests.inc()
        latency.observe(seconds)
        if method == "POST" and route is not None:
            COMMANDS.labels(getattr(route, "name", template), outcome(status, replayed)).inc()
        failure = storage_error(error, status)
        if failure is not None:
            STORE_ERRORS.labels(failure).inc()
        level = logging.DEBUG if template in QUIET else logging.INFO
        if access.isEnabledFor(level):
            actor = caller_name(scope)
            access.log(level, "%s %s %d %.1f ms by %s", method, template, status,
                       seconds * 1000, actor or "-", extra={
                           "request_id": rid, "actor": actor, "method": method,
                           "route": template, "status": status,
                           "duration_ms": round(seconds * 1000, 3), "replayed": replayed})

    @staticmethod
    @lru_cache(maxsize=1024)
    def series(method: str, template: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of one route and status (looked up once:
        a label lookup takes a lock)."""
        return REQUESTS.labels(method, template, str(status)), LATENCY.labels(method, template)
