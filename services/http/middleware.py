"""ASGI middleware: caps on the request's URL, headers and body, and Idempotency-Key
handling for POSTs."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.http.problems import problem_response
from services.identity.idempotency import Claim, StoredResponse, WouldWait, fingerprint
from services.identity.tokens import Identity
from services.runtime.service import Runtime
from services.store import command_keys

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BODY_BYTES = 256 * 1024
MAX_KEY_LENGTH = 200
#: The request target (path and query string) and all the header lines, in bytes.
MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024

URL_TOO_LONG = (414, "uri-too-long", "URI too long",
                f"The request's URL (path and query string) is longer than "
                f"{MAX_URL_BYTES // 1024} KiB; send fewer or shorter query parameters.")
HEADERS_TOO_LARGE = (431, "headers-too-large", "Request header fields too large",
                     f"The request's headers are larger than {MAX_HEADER_BYTES // 1024} KiB "
                     "in all; send fewer or smaller headers.")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if the request has one."""
    scheme, _, token = (header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_IDENTITY = "pdl.identity"  # the scope key where a request's token lookup is kept


def identity_of(runtime: Runtime, scope: Scope, token: str) -> Identity | None:
    """The identity behind ``token``, looked up once per request: the middlewares and the
    route's dependency share the answer through the request's scope."""
    known = scope.get(_IDENTITY)
    if known is not None and known[0] == token:
        identity: Identity | None = known[1]
        return identity
    identity = runtime.tokens.authenticate(token)
    scope[_IDENTITY] = (token, identity)
    return identity


async def identity_for(runtime: Runtime, scope: Scope, token: str) -> Identity | None:
    """:func:`identity_of` from the event loop: a lookup that goes over the network (the
    tokens are in PostgreSQL) runs in a worker thread, so a slow or unreachable database
    never holds up other requests."""
    known = scope.get(_IDENTITY)
    if known is not None and known[0] == token:
        identity: Identity | None = known[1]
        return identity
    if getattr(runtime.tokens, "blocking", False):
        return await run_in_threadpool(identity_of, runtime, scope, token)
    return identity_of(runtime, scope, token)


def caller_name(scope: Scope) -> str | None:
    """The name of the token the request was authenticated with, if it was (for logs)."""
    known = scope.get(_IDENTITY)
    return known[1].name if known is not None and known[1] is not None else None


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` once, then defers to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def read_body(receive: Receive) -> bytes:
    """The whole request body (already capped by :class:`BodyLimit`)."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False) and message["type"] == "http.request"
    return body


async def send_problem(scope: Scope, receive: Receive, send: Send, status: int, slug: str,
                       title: str, detail: str, **headers: str) -> None:
    response = problem_response(status, slug, title, detail,
                                {k.replace("_", "-"): v for k, v in headers.items()})
    await response(scope, receive, send)


class HeadLimits:
    """Refuse a URL over :data:`MAX_URL_BYTES` (414) or headers over
    :data:`MAX_HEADER_BYTES` (431) before anything else reads them. (Heads too large for
    the server to parse at all are answered by :mod:`services.http.protocol`.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode()
            if len(path) + 1 + len(scope["query_string"]) > MAX_URL_BYTES:
                return await send_problem(scope, receive, send, *URL_TOO_LONG)
            if sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > MAX_HEADER_BYTES:
                return await send_problem(scope, receive, send, *HEADERS_TOO_LARGE)
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413; buffer the rest for the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            return await self.too_large(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self.too_large(scope, receive, send)
        await self.app(scope, replaying(body, receive), send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_problem(scope, receive, send, 413, "too-large", "Request body too large",
                           f"The request body is larger than {self.max_bytes // 1024} KiB.")


class Idempotency:
    """Replay the stored response of a POST retried with the same ``Idempotency-Key``.

    Runs after :class:`BodyLimit`, so the whole body is at hand. Requests without a
    valid token pass through untouched (the route answers 401).
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app, self.runtime = app, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            return await send_problem(
                scope, receive, send, 400, "bad-idempotency-key", "Malformed Idempotency-Key",
                f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters, "
                "e.g. a UUID.")
        owner = await self.owner(scope)
        if owner is None:
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        request = replaying(body, receive)
        print_ = fingerprint(scope["method"], scope["path"] + "?" +
                             scope["query_string"].decode("latin-1"), body, owner)
        store = self.runtime.idempotency
        claim, stored = await self.stored(store.claim, owner, key, print_)
        if claim is Claim.claimed:
            return await self.first_time(scope, request, send, owner, key, print_)
        if claim is Claim.replay and stored is not None:
            return await replay(stored, send)
        if claim is Claim.in_flight:
            return await send_problem(
                scope, request, send, 409, "idempotency-in-flight", "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                Retry_After="1")
        await send_problem(
            scope, request, send, 422, "idempotency-key-reused", "Idempotency-Key reused",
            "This Idempotency-Key was already used for a different request (another "
            "method, path or body). Use a new key for a new request.")

    async def stored(self, write: Callable[..., T], *args: Any) -> T:
        """Run a write of the idempotency store: on the event loop when it waits neither for
        the disk nor for another writer (a few tens of microseconds, cheaper than a thread
        hop), else in a worker thread, so that the event loop never waits."""
        if not self.runtime.idempotency.synced:
            try:
                return write(*args, wait=False)
            except WouldWait:
                pass  # another thread or process is writing: wait for it off the loop
        return await run_in_threadpool(write, *args)

    async def settled(self, write: Callable[..., None], *args: Any) -> None:
        """Store a keyed command's answer (or release its key) once the answer has begun to
        go out: a failure here (the database went away meanwhile) cannot change the answer
        any more, so it is logged, not raised. Nothing is lost: the command's outcome was
        recorded with its events, and the key's claim expires, after which a retry is
        answered from that outcome (or, for a released key, runs the command)."""
        try:
            await self.stored(write, *args)
        except Exception as error:
            log.warning("could not settle Idempotency-Key %r of %s (%s: %s); its claim will "
                        "expire and a retry be answered from the recorded outcome",
                        args[1], args[0], type(error).__name__, error)

    async def owner(self, scope: Scope) -> str | None:
        """The name of the token the request carries, if it is a valid one."""
        token = bearer_token(scope)
        identity = await identity_for(self.runtime, scope, token) if token else None
        return identity.name if identity else None

    async def first_time(self, scope: Scope, receive: Receive, send: Send, owner: str,
                         key: str, print_: str) -> None:
        """Run the request; keep its response if it succeeded, free the key if not.

        The response is stored *before* its last part goes out: a client that sends the
        same request again as soon as it has its answer (to another replica, say) must find
        the stored answer, not a claim still "in progress"."""
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
        store = self.runtime.idempotency
        settled = False

        async def settle() -> None:
            nonlocal settled
            settled = True
            if 200 <= captured["status"] < 300:
                # A replay says so itself (see replay); the answer from the recorded outcome
                # already carries the header (services.http.responses.written).
                headers = [(k, v) for k, v in captured["headers"]
                           if k != "idempotent-replayed"]
                response = StoredResponse(captured["status"], headers, captured["body"])
                await self.settled(store.complete, owner, key, response)
            else:
                await self.settled(store.release, owner, key)

        try:
            with command_keys.keyed(owner, key, print_):  # recorded with the command's events
                await self.app(scope, receive, capturing(send, captured, settle))
        except BaseException:
            if not settled:
                await self.stored(store.release, owner, key)
            raise
        if not settled:  # the app ended without a last body part
            await settle()


def capturing(send: Send, captured: dict[str, Any],
              before_last: Callable[[], Awaitable[None]]) -> Callable[[Message], Awaitable[None]]:
    """A ``send`` that also records the status, headers and body it passes on, and awaits
    ``before_last`` before passing on the last part of the body."""

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = [(k.decode("latin-1"), v.decode("latin-1"))
                                   for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            captured["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                await before_last()
        await send(message)

    return capture


async def replay(stored: StoredResponse, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
