"""Decisions: which decisions does a product have, and where did each stand at an instant?

Read from the roadmap's per-entity ``decisions`` rows (kept so that the audit can name
decisions); no table of its own. Like the other readers, it takes a connection to the
views file and ids as text.
"""

from datetime import datetime
from typing import Any

from projections.dialect import Connection
from projections.intervals import states
from projections.roadmap import DECISIONS


def read_decisions(conn: Connection, product_id: str,
                   as_of: datetime | None = None) -> list[dict[str, Any]]:
    """The product's decisions as they stood at ``as_of`` (None: now), oldest proposal
    first, each with when it was proposed."""
    # Each decision's first row (its proposal) leads its run in ``decisions_history``.
    proposed = dict(conn.execute(
        "SELECT c.entity_id, (SELECT min(h.valid_from) FROM decisions AS h "
        "WHERE h.entity_id = c.entity_id) FROM decisions AS c "
        "WHERE c.product_id = ? AND c.valid_to IS NULL", (product_id,)).fetchall())
    rows = states(conn, DECISIONS, "product_id = ?", (product_id,), as_of)
    found = [{"id": r["entity_id"], "title": r["title"], "status": r["status"],
              "chosen_option": r["chosen_option"], "proposed_at": proposed[r["entity_id"]],
              "version": r["entity_version"]} for r in rows]
    return sorted(found, key=lambda d: (d["proposed_at"], d["id"]))
