"""``?limit=&cursor=&order=``: histories answered a page at a time, like ``/audit``.

Without ``limit`` a history answers whole, as it always has; with it, a page of at most
``limit`` changes and a ``next_cursor`` to pass back as ``cursor`` for the next page (``null``
on the last). ``order=newest`` reads from the latest change backwards. A page costs what its
changes do, however long the history is.
"""

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Paging:
    limit: int | None
    cursor: int | None
    newest_first: bool


def paging(
    limit: Annotated[int | None, Query(
        ge=1, le=MAX_LIMIT, description="Changes per page (1-1000); omit for every change.")]
    = None,
    cursor: Annotated[int | None, Query(
        ge=0, description="The next_cursor of the page before.")] = None,
    order: Annotated[Literal["oldest", "newest"], Query(
        description="oldest (default) or newest first.")] = "oldest",
) -> Paging:
    return Paging(limit, cursor, order == "newest")


Page = Annotated[Paging, Depends(paging)]
