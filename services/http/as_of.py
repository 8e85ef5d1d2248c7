"""Instants in queries, and the 404s of reads.

``?as_of=`` reads an entity or a view as it stood at a past instant; ``from`` / ``to``
bound the diff and the audit. Each is an ISO 8601 instant with a timezone (a number is
refused, not read as a Unix time). A read that
finds nothing says why: the entity is unknown (or the views have not caught up with a
write yet: pass ``?after=``), or it did not exist yet at ``as_of``.

``?as_of_position=N`` names the instant by a log position instead: the ``occurred_at`` of
the change at position ``N`` (a write's ``position``, an audit item's ``position``), so "as it
stood when that change happened" is one call. Changes of the same instant (e.g. the rest
of one command) are included, exactly as ``?as_of=`` at that instant would include them.
Both at once is ``422``; a position past the end of the log ``409`` (as ``?after=``).
"""

import re
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from starlette.concurrency import run_in_threadpool

from domain import clock
from services.http.deps import MAX_POSITION, Viewer, runtime_of, views_reached
from services.http.problems import Problem
from services.runtime.service import Runtime
from services.store.errors import NotFound

#: How an ISO 8601 instant starts: its date, YYYY-MM-DD.
ISO_DATE_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_text(value: object) -> object:
    """Refuse what is not ISO 8601 text (pydantic reads ``0.5`` or ``1700000000`` as a Unix
    time); the text is parsed next, and needs a timezone."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE_START.match(value):
        raise ValueError(f"{value!r} is not an ISO 8601 instant: write the date, the time and "
                         "a timezone, e.g. 2027-02-01T00:00:00Z (numbers such as Unix times "
                         "are not accepted)")
    return value


def in_utc_range(value: datetime) -> datetime:
    """Refuse instants that exist in their own timezone but not in UTC (year 0 or 10000)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant is out of range once converted to UTC") from None


def in_the_past(value: datetime) -> datetime:
    """Refuse an instant after now: the log can only say how things stood in the past."""
    now = clock.now()
    if value > now:
        raise ValueError(
            f"as_of is in the future ({value.isoformat()} is after now, "
            f"{now.astimezone(UTC).isoformat(timespec='seconds')}); the log can only answer "
            "for the past: leave as_of out to read the present")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(iso_text), AfterValidator(in_utc_range)]
PastInstant = Annotated[Instant, AfterValidator(in_the_past)]
AsOfQuery = Annotated[PastInstant | None, Query(
    alias="as_of",
    description="Answer as things stood at this past instant (ISO 8601 with a timezone).")]
AsOfPosition = Annotated[int | None, Query(
    alias="as_of_position", ge=1, le=MAX_POSITION,
    description="Answer as things stood when the change at this log position happened "
                "(a write's position, an audit item's position); not with as_of.")]


async def as_of_instant(request: Request, who: Viewer, as_of: AsOfQuery = None,
                        as_of_position: AsOfPosition = None) -> datetime | None:
    """The instant a read answers for: ``as_of``, or the ``occurred_at`` of the change at
    log position ``as_of_position``; None (now) when neither is given."""
    if as_of_position is None:
        return as_of
    if as_of is not None:
        raise Problem(422, "as-of-twice", "Two instants to answer for",
                      "Pass either as_of (an instant) or as_of_position (a log position), "
                      "not both.")
    runtime = runtime_of(request)
    if runtime.views.position < as_of_position:
        end = await run_in_threadpool(runtime.app.log_position)  # one indexed read
        if as_of_position > end:
            raise Problem(409, "position-past-end", "No such position in the log",
                          f"as_of_position {as_of_position} is past the end of the event "
                          f"log, which ends at position {end}: pass the position of a "
                          "change that happened (a write's position, an audit item's position).",
                          position=as_of_position, log_end=end)
        await views_reached(runtime, as_of_position)  # written, not applied yet: wait
    found = await run_in_threadpool(runtime.views.occurred_at, as_of_position)
    if found is None:
        raise Problem(404, "no-such-change", "No change at that position",
                      f"No change has log position {as_of_position} in the views' audit "
                      "(positions are those of writes and audit items' position).",
                      position=as_of_position)
    return found


AsOf = Annotated[datetime | None, Depends(as_of_instant)]
"""The instant of ``?as_of=`` or ``?as_of_position=`` (None: now), for every as-of read."""


def not_found(kind: str, entity_id: UUID) -> Problem:
    return Problem(404, "not-found", "Not found",
                   f"No {kind} with id {entity_id} in the views. If you just created it, "
                   "pass ?after=POSITION with the position the write returned.")


def not_found_then(kind: str, entity_id: UUID, as_of: datetime | None) -> Exception:
    """404 for a view read: the entity is unknown, or did not exist yet at ``as_of``."""
    if as_of is None:
        return not_found(kind, entity_id)
    return NotFound(f"No {kind} with id {entity_id} as of {as_of.isoformat()}: it did not "
                    "exist yet then (it was created later, or never).")


def version_at(runtime: Runtime, kind: str, entity_id: UUID, as_of: datetime | None) -> int | None:
    """The version to load: None (the latest) without ``as_of``; else the version the
    entity had then, found in the views' validity intervals (one indexed lookup)."""
    if as_of is None:
        return None
    version = runtime.views.version_as_of(kind, entity_id, as_of)
    if version is None:
        raise not_found_then(kind, entity_id, as_of)
    return version
