"""Search: ``/search?q=``, the products, features, releases and decisions whose text, or
the rationale and evidence of whose changes, mention every word of ``q``.

Served from the views (see :mod:`projections.search`), best match first, one item per
entity with a link to it (``path``) and a snippet in plain text, where ``[`` and ``]``
enclose the words matched (a bracket or backslash of the text itself comes as ``\\[``,
``\\]``, ``\\\\``). Narrow with ``product`` and ``kind``; page with ``limit`` and
``offset`` (``next_offset`` of the previous page); ``?after=POSITION`` waits until the
views include a write.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from projections.search import MAX_LIMIT, MAX_QUERY, InvalidQuery
from services.http.deps import Reads
from services.http.problems import Problem
from services.http.query_params import KnownQuery

router = APIRouter(tags=["search"])

Kind = Literal["product", "feature", "release", "decision"]


@router.get("/search", dependencies=[KnownQuery], response_model=dict[str, Any])
async def search(
    reads: Reads,
    q: Annotated[str, Query(max_length=MAX_QUERY,
                            description='Words to find (all of them), "a phrase" in quotes')],
    product: UUID | None = None,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000,
                                 description="next_offset of the previous page")] = 0,
) -> Response:
    """Entities matching every word of ``q``, best first: ``{items: [{kind, id,
    product_id, title, snippet, path, rank}], next_offset}``."""

    def read() -> dict[str, Any]:
        try:
            return reads.views.search(q, product_id=product, kind=kind, limit=limit,
                                      offset=offset)
        except InvalidQuery as error:
            raise Problem(422, "invalid-search", "The search is not valid", str(error)) from error

    return await reads.answer(read)
