"""Dependencies shared by the routers: the runtime, the caller, If-Match, read-your-writes."""

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.problems import Problem
from services.auth import Identity, Role
from services.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="A token from `pdl token create`.")
MAX_POSITION = 2**63 - 1  # SQLite's largest integer
ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Authentication required", detail,
                   {"WWW-Authenticate": 'Bearer realm="pdl"'})


def caller(runtime: RuntimeDep,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> Identity:
    """The identity behind the request's bearer token."""
    if credentials is None:
        raise unauthorized("Send 'Authorization: Bearer <token>'; create a token with "
                           "'pdl token create --name NAME --role ROLE'.")
    identity = runtime.tokens.authenticate(credentials.credentials)
    if identity is None:
        raise unauthorized("That bearer token is not valid (unknown or revoked).")
    return identity


def require(role: Role) -> Callable[..., Identity]:
    """A dependency admitting callers whose role includes ``role``."""

    def check(identity: Annotated[Identity, Depends(caller)]) -> Identity:
        if not identity.role.allows(role):
            raise Problem(403, "forbidden", "Not allowed",
                          f"Token '{identity.name}' has role {identity.role.value}; "
                          f"this needs role {role.value} or higher.")
        return identity

    return check


Viewer = Annotated[Identity, Depends(require(Role.viewer))]
Editor = Annotated[Identity, Depends(require(Role.editor))]
Admin = Annotated[Identity, Depends(require(Role.admin))]


def expected_version(if_match: Annotated[str | None, Header(
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


def caught_up(runtime: RuntimeDep, who: Viewer, after: After = None) -> None:
    """Wait (briefly) until the views have applied position ``after``; callers are
    authenticated first, so nobody without a token can tie up a worker waiting."""
    if after is None:
        return
    timeout = runtime.settings.api.read_your_writes_timeout_s
    if not runtime.views.wait_for(after, timeout):
        raise Problem(503, "views-behind", "The views are catching up",
                      f"The views have not reached position {after} within {timeout:g} s "
                      f"(they are at {runtime.views.position}); retry shortly.",
                      {"Retry-After": "1"}, position=runtime.views.position)


CaughtUp = Depends(caught_up)
