"""Who is signed in to the web app, and proof that a form was sent by one of its pages.

A person pastes their token once; it is kept in an ``HttpOnly``, ``SameSite=Strict``
cookie scoped to ``/ui`` (``Secure`` over HTTPS) and checked against the token store on
every request (:meth:`services.identity.tokens.TokenStore.authenticate`), so a revoked
token signs its holder out at once.

Every form that changes something carries a CSRF token in a hidden field, checked on the
server before anything else: for a signed-in person, a keyed digest of their session token
(which another site can neither read, the cookie being ``HttpOnly``, nor compute); for the
sign-in form, a random value also set in its own cookie (double submit).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from services.identity.tokens import Identity, Role
from services.runtime.service import Runtime

SESSION_COOKIE = "pdl_session"
SIGN_IN_COOKIE = "pdl_sign_in"
CSRF_FIELD = "csrf"
#: How long a browser keeps the session (the token itself lasts until it is revoked).
SESSION_SECONDS = 7 * 24 * 3600
_CSRF_KEY = b"pdl-ui-csrf-v1"


@dataclass(frozen=True)
class Session:
    """A signed-in person: who, with what role, and the CSRF token of their forms."""

    runtime: Runtime
    identity: Identity
    csrf: str

    @property
    def can_edit(self) -> bool:
        return self.identity.role.allows(Role.editor)

    @property
    def actor(self) -> str:
        return self.identity.name


def csrf_of(token: str) -> str:
    """The CSRF token of the forms shown to the holder of ``token``."""
    return hmac.new(_CSRF_KEY, token.encode(), hashlib.sha256).hexdigest()


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def session_of(request: Request) -> Session | None:
    """The signed-in person, if the request carries the cookie of a valid token."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    runtime = runtime_of(request)
    if getattr(runtime.tokens, "blocking", False):  # over the network: off the event loop
        identity = await run_in_threadpool(runtime.tokens.authenticate, token)
    else:
        identity = runtime.tokens.authenticate(token)
    return None if identity is None else Session(runtime, identity, csrf_of(token))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def keep_session(response: Response, request: Request, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_SECONDS, path="/ui",
                        httponly=True, samesite="strict", secure=_secure(request))


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/ui", httponly=True, samesite="strict")


def sign_in_nonce(request: Request) -> str:
    """The sign-in form's CSRF value: the one in its cookie, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)


def keep_sign_in_nonce(response: Response, request: Request, nonce: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, nonce, path="/ui/sign-in", httponly=True,
                        samesite="strict", secure=_secure(request))


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of the web app, never another site."""
    if target and (target == "/ui" or target.startswith(("/ui/", "/ui?"))) \
            and "\\" not in target and target.isprintable():
        return target
    return "/ui"
