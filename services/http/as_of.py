"""``?as_of=``: reading an entity or a view as it stood at a past instant."""

from datetime import datetime
from uuid import UUID

from services.http.routes.views import AsOf, PastInstant, in_the_past, not_found
from services.runtime.service import Runtime
from services.store.errors import NotFound

__all__ = ["AsOf", "PastInstant", "in_the_past", "not_found_then", "version_at"]


def not_found_then(kind: str, entity_id: UUID, as_of: datetime | None) -> Exception:
    """404 for a view read: the entity is unknown, or did not exist yet at ``as_of``."""
    if as_of is None:
        return not_found(kind, entity_id)
    return NotFound(f"No {kind} with id {entity_id} as of {as_of.isoformat()}: "
                    "it did not exist yet then.")


def version_at(runtime: Runtime, kind: str, entity_id: UUID, as_of: datetime | None) -> int | None:
    """The version to load: None (the latest) without ``as_of``; else the version the
    entity had then, found in the views' validity intervals (one indexed lookup)."""
    if as_of is None:
        return None
    version = runtime.views.version_as_of(kind, entity_id, as_of)
    if version is None:
        raise not_found_then(kind, entity_id, as_of)
    return version
