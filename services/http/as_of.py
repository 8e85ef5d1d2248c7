"""Instants in queries, and the 404s of reads.

``?as_of=`` reads an entity or a view as it stood at a past instant; ``from`` / ``to``
bound the diff and the audit. Each is an ISO 8601 instant with a timezone (a number is
refused, not read as a Unix time). A read that
finds nothing says why: the entity is unknown (or the views have not caught up with a
write yet: pass ``?after=``), or it did not exist yet at ``as_of``.
"""

import re
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from domain import clock
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
AsOf = Annotated[PastInstant | None, Query(
    description="Answer as things stood at this past instant (ISO 8601 with a timezone).")]


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
