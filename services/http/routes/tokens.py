"""Tokens (admins only): create, list, revoke."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.http.deps import Admin, RuntimeDep
from services.http.problems import Problem
from services.http.schemas import NewTokenOut, TokenIn, TokenOut
from services.identity.tokens import NAME_PATTERN, LastAdminToken, TokenNameTaken

router = APIRouter(prefix="/tokens", tags=["tokens"])

TokenName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.post("", status_code=201, response_model=NewTokenOut)
def create_token(body: TokenIn, who: Admin, runtime: RuntimeDep,
                 response: Response) -> NewTokenOut:
    """Create a token; the token itself is in this response only."""
    try:
        token, identity = runtime.tokens.create(body.name, body.role)
    except TokenNameTaken as taken:
        raise Problem(409, "token-exists", "Token exists", f"{taken} Choose another name, "
                      "or revoke it first.") from None
    response.headers["Location"] = f"/tokens/{body.name}"
    return NewTokenOut(name=identity.name, role=identity.role,
                       created_at=identity.created_at, token=token)


@router.get("", response_model=list[TokenOut])
def list_tokens(who: Admin, runtime: RuntimeDep) -> list[TokenOut]:
    return [TokenOut(name=t.name, role=t.role, created_at=t.created_at)
            for t in runtime.tokens.list()]


@router.delete("/{name}", status_code=204)
def revoke_token(name: TokenName, who: Admin, runtime: RuntimeDep) -> Response:
    """Revoke a token at once, everywhere; the last admin token cannot be revoked (409)."""
    try:
        revoked = runtime.tokens.revoke(name)
    except LastAdminToken as last:
        raise Problem(409, "last-admin-token", "The last admin token", str(last)) from None
    if not revoked:
        raise Problem(404, "not-found", "Not found", f"No token named '{name}'.")
    return Response(status_code=204)
