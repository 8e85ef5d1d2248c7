"""Every error the API returns, as RFC 9457 problem details, mapped in one place."""

import logging
import sqlite3
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import InvalidCommand, RuleViolation
from services.store.command_keys import KeyReused
from services.store.errors import NotFound, VersionConflict, out_of_space

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pdl:problem:"

log = logging.getLogger(__name__)


class Problem(Exception):
    """An error raised by the HTTP layer itself (auth, headers, waiting for views)."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, slug: str, title: str, detail: str,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail,
            **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "release_id")`` -> ``release_id``; ``("query", "after")`` -> ``after``."""
    parts = [str(p) for p in loc[1:]] or [str(p) for p in loc]
    return ".".join(parts) or "body"


#: Error type prefix -> how to write the value (``datetime`` before ``date``: first match wins).
HINTS = {"datetime": " (use ISO 8601 with a timezone)", "date": " (use an ISO date: YYYY-MM-DD)",
         "uuid": " (ids are UUIDs)"}


def field_message(error: dict[str, Any]) -> str:
    """One field's error, phrased for the person fixing the request."""
    kind, name = error["type"], field_name(error["loc"])
    if tuple(error["loc"]) == ("body",):
        return "The request needs a JSON object body."
    if kind == "missing":
        return f"'{name}' is required."
    if kind == "extra_forbidden":
        return f"'{name}' is not a field of this request; remove it."
    if kind == "union_tag_not_found":
        tag = str(error.get("ctx", {}).get("discriminator", "kind")).strip("'")
        return f"'{name}' needs a '{tag}' field saying which kind of item it is."
    hint = next((h for prefix, h in HINTS.items() if kind.startswith(prefix)), "")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"'{name}': {message}{hint}."


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        reason = next(e.get("ctx", {}).get("error", "") for e in errors
                      if e["type"] == "json_invalid")
        return problem_response(400, "invalid-json", "Invalid JSON",
                                f"The request body is not valid JSON ({reason}).")
    path_errors = [e for e in errors if e["loc"][:1] == ("path",)]
    if path_errors:
        return path_problem(path_errors[0])
    items = [{"field": field_name(e["loc"]), "in": str(e["loc"][0]),
              "message": field_message(e)} for e in errors]
    detail = " ".join(item["message"] for item in items)
    return problem_response(422, "validation", "The request is not valid", detail, errors=items)


def path_problem(error: dict[str, Any]) -> JSONResponse:
    """A malformed id in a path names nothing that exists: 404, saying what an id looks like."""
    value, name = error.get("input"), field_name(error["loc"])
    hint = (" (ids are UUIDs, e.g. 3f2b8c1e-0d4a-4e57-9b1a-6c2d8e9f0a1b)"
            if name.endswith("_id") else "")
    return problem_response(404, "not-found", "Not found",
                            f"Nothing here: '{value}' is not a valid {name}{hint}.")


#: The methods a route of this API may take (``Allow`` lists those its path takes).
METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The methods the app's routes take on the request's path (for ``Allow``): every route
    of that path, not only the first one the router tried."""
    return ", ".join(method for method in METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in request.app.routes))


def disk_full_problem(request: Request, full: BaseException) -> JSONResponse:
    """507: the disk holding the data is full. SQLite rolled the write back; the server
    stays up and takes writes again once space is freed."""
    log.error("Disk full on %s %s: %s", request.method, request.url.path, full)
    return problem_response(507, "disk-full", "Insufficient storage",
                            f"The server's disk is full ({full}); this request changed "
                            "nothing. Retry once space has been freed.")


#: Seconds a client is asked to wait before retrying when the database is unreachable.
RETRY_AFTER_S = 2


def database_unreachable(request: Request, exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL could not be reached, or dropped the connection
    (the server itself is fine: a retry later will do)."""
    if not request.app.state.runtime.settings.postgres:
        return False
    return isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError
                      | psycopg.InterfaceError)


def storage_problem(request: Request, exc: BaseException) -> JSONResponse | None:
    """The answer to a storage failure a retry can get past: 503 when the database is
    unreachable, 507 when the disk is full; None for any other error (a crash)."""
    if database_unreachable(request, exc):
        return unavailable_problem(request, exc)
    full = out_of_space(exc, request.app.state.runtime.settings.data_dir)
    return None if full is None else disk_full_problem(request, full)


class StorageProblems:
    """ASGI middleware, just inside the access log: a database gone or a full disk met
    outside the routes (a middleware's token lookup, its Idempotency-Key claim) is answered
    here (:func:`storage_problem`), as inside them, rather than escaping to the server's
    last-resort handler, which answers the same but logs a traceback for each such request
    and leaves the access log and metrics counting a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            response = None if started else storage_problem(Request(scope), exc)
            if response is None:
                raise
            await response(scope, receive, send)


def unavailable_problem(request: Request, exc: BaseException) -> JSONResponse:
    """503 with Retry-After: the database is unreachable. A write may or may not have been
    applied if the connection broke while committing: retrying it with the same
    Idempotency-Key is safe, without one read the entity first."""
    log.warning("PostgreSQL unreachable on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503, "database-unavailable", "Service unavailable",
        "The database is unreachable right now. Retry after the Retry-After delay; a write "
        "sent with an Idempotency-Key is applied at most once however often it is retried "
        "(without one, read the entity first: the write may have been applied).",
        {"Retry-After": str(RETRY_AFTER_S)})


def install(app: FastAPI) -> None:
    """Register the mapping from exceptions to problem responses."""

    @app.exception_handler(RequestValidationError)
    def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, exc)

    @app.exception_handler(Problem)
    def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.headers,
                                **exc.extra)

    @app.exception_handler(NotFound)
    def on_not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem_response(404, "not-found", "Not found", str(exc))

    @app.exception_handler(InvalidCommand)
    def on_invalid(request: Request, exc: InvalidCommand) -> JSONResponse:
        return problem_response(422, "invalid-command", "The command is not valid", str(exc))

    @app.exception_handler(RuleViolation)
    def on_rule(request: Request, exc: RuleViolation) -> JSONResponse:
        return problem_response(409, "rule-violation", "A rule forbids this change", str(exc))

    @app.exception_handler(KeyReused)
    def on_key_reused(request: Request, exc: KeyReused) -> JSONResponse:
        return problem_response(422, "idempotency-key-reused", "Idempotency-Key reused",
                                str(exc))

    @app.exception_handler(VersionConflict)
    def on_conflict(request: Request, exc: VersionConflict) -> JSONResponse:
        return problem_response(412, "version-conflict", "The entity has changed", str(exc),
                                {"ETag": f'"{exc.current_version}"'},
                                current_version=exc.current_version)

    @app.exception_handler(StarletteHTTPException)
    def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = HTTPStatus(exc.status_code).phrase
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404:
            detail = f"There is no route {request.url.path}; see /docs for the API."
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            return problem_response(400, "invalid-json", "Invalid JSON",
                                    "The request body could not be read as JSON: send one "
                                    "UTF-8 encoded JSON object.")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            detail = (f"{request.method} is not allowed on {request.url.path} (allowed: "
                      f"{headers['Allow']}); see /docs.")
        return problem_response(exc.status_code, "http", title, detail, headers)

    def on_storage_error(request: Request, exc: Exception) -> JSONResponse:
        problem = storage_problem(request, exc)
        if problem is None:
            raise exc  # any other storage error is a crash: see on_crash
        return problem

    for storage_error in (sqlite3.Error, PersistenceError, OSError, psycopg.Error):
        app.add_exception_handler(storage_error, on_storage_error)

    @app.exception_handler(Exception)
    def on_crash(request: Request, exc: Exception) -> JSONResponse:
        problem = storage_problem(request, exc)  # (StorageProblems answers those outside)
        if problem is not None:
            return problem
        log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(500, "internal", "Internal error",
                                "The server failed to handle this request. Read the entity "
                                "before retrying; report it if it persists.")
