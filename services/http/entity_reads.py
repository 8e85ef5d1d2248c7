"""Reads that features and releases answer alike: an entity's history and its lineage."""

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Response

from services.http.as_of import not_found_then
from services.http.deps import ViewReads
from services.http.paging import Paging
from services.runtime.service import Runtime


async def entity_history(kind: str, entity_id: UUID, reads: ViewReads,
                         as_of: datetime | None, page: Paging) -> Response:
    """The changes to the ``kind`` with ``entity_id`` (every one, or a page), from the views
    (cached)."""

    def read() -> dict[str, Any]:
        found = reads.views.history_page(entity_id, as_of=as_of, limit=page.limit,
                                         cursor=page.cursor, newest_first=page.newest_first)
        if found["entity_type"] != kind:
            raise not_found_then(kind, entity_id, as_of)
        return {"entity_id": str(entity_id), "items": found["items"],
                "next_cursor": found["next_cursor"]}

    return await reads.answer(read)


def entity_lineage(runtime: Runtime, entity_id: UUID) -> dict[str, Any]:
    """The decisions that changed the entity, each with the changes it caused."""
    steps = runtime.app.entity_lineage(entity_id)
    return {"entity_id": entity_id, "decisions": [asdict(step) for step in steps]}
