"""How routes answer: a successful write with its outcome, its ETag and a nudge to the
views; a read with its ETag; Markdown."""

from fastapi import Response
from fastapi.responses import JSONResponse, PlainTextResponse

from domain.reasons import Reason
from services.http.schemas import Change
from services.identity.tokens import Identity
from services.runtime.service import Runtime
from services.store.outcome import Outcome

MARKDOWN = "text/markdown; charset=utf-8"
#: The header of a response that repeats the first answer to an Idempotency-Key.
REPLAYED = "Idempotent-Replayed"


class MarkdownResponse(PlainTextResponse):
    media_type = MARKDOWN


def etag(version: int) -> str:
    return f'"{version}"'


def written(runtime: Runtime, outcome: Outcome, location: str | None = None) -> JSONResponse:
    """``201`` with ``Location`` for a create, ``200`` for a command; both carry the ETag,
    and a replay of a keyed command (its recorded outcome) ``Idempotent-Replayed: true``."""
    runtime.notify()
    headers = {"ETag": etag(outcome.version)}
    if outcome.replayed:
        headers[REPLAYED] = "true"
    if location:
        headers["Location"] = location
    body = {"id": str(outcome.id), "version": outcome.version, "position": outcome.position}
    return JSONResponse(body, status_code=201 if location else 200, headers=headers)


def tagged(response: Response, version: int) -> None:
    """Set the ETag of a read."""
    response.headers["ETag"] = etag(version)


#: The header of a read loaded from the log: the log's end when it was read (before the
#: entity was loaded, so the answer reflects at least that position).
LOG_POSITION = "X-Log-Position"


def log_position(response: Response, runtime: Runtime) -> None:
    """Set ``X-Log-Position`` to the log's end, read now (one indexed read)."""
    response.headers[LOG_POSITION] = str(runtime.app.log_position())


def reason(who: Identity, change: Change) -> Reason:
    """The decision context of a change: the caller, the rationale, the evidence."""
    return Reason(actor=who.name, rationale=change.rationale, evidence=tuple(change.evidence))
