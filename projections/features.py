"""Features: which features of a product match these filters, as of an instant?

Read from the features' validity intervals (:mod:`projections.roadmap`), so ``as_of``
answers as things stood then. The filters combine (all must hold):

- ``statuses``: any of these statuses;
- ``release``: scheduled in this release, or ``backlog`` for those in no release;
- ``q``: text found in the title, case-insensitively.

Features come in the roadmap's backlog order (priority, high first; then title,
case-insensitively; then id), a page at a time: ``cursor`` is the ``next_cursor`` of the
page before (how many features the pages before held).
"""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from projections.dialect import Connection
from projections.intervals import instant, states
from projections.roadmap import FEATURE_COLUMNS, FEATURES, PRODUCTS, by_priority, feature_row

#: ``release`` naming the features in no release.
BACKLOG = "backlog"


def read_features(conn: Connection, product_id: str, as_of: datetime | None = None, *,
                  statuses: Collection[str] = (), release: str | None = None,
                  q: str | None = None, limit: int = 100,
                  cursor: int = 0) -> dict[str, Any] | None:
    """A page of the product's features matching the filters; None if the product did not
    exist at ``as_of``."""
    if not states(conn, PRODUCTS, "entity_id = ?", (product_id,), as_of, ("entity_id",)):
        return None
    rows = states(conn, FEATURES, "product_id = ?", (product_id,), as_of, FEATURE_COLUMNS)
    found = sorted((f for f in map(feature_row, rows) if _matches(f, statuses, release, q)),
                   key=by_priority)
    page = found[cursor:cursor + limit]
    more = cursor + limit < len(found)
    return {"product_id": product_id, "as_of": instant(as_of) if as_of else None,
            "items": page, "next_cursor": cursor + limit if more else None}


def _matches(feature: dict[str, Any], statuses: Collection[str], release: str | None,
             q: str | None) -> bool:
    if statuses and feature["status"] not in statuses:
        return False
    if release is not None and feature["release_id"] != (None if release == BACKLOG else release):
        return False
    return q is None or q.casefold() in feature["title"].casefold()
