"""Roadmap: what is planned for a product, release by release, and what waits in the backlog?

Rows are kept **per entity** (product, release, feature; see :mod:`projections.intervals`)
and the roadmap is assembled at read time by joining them, so the result does not depend
on the order in which *different* entities' changes arrive. A feature's release is taken
from the feature's own changes only; ``release.feature_added`` / ``feature_removed`` repeat
the same fact from the release's side and only advance the release's version.

Reading rules:

- ``releases``: every release in target-date order, each with its features (never a
  rejected one).
- ``backlog``: unscheduled features that are not rejected, by priority (high first), then
  title (case-insensitively), then id.
- ``rejected``: rejected features, in the same order. Rejecting a feature takes it out of its
  release; a history recorded before that rule may hold a rejected feature still scheduled,
  and it is listed here too, not in its release.
- ``now``: the open (planned) release with the earliest target date; ``next``: the open
  release after it; ``later``: the remaining open releases plus the backlog features that
  are still wanted (any status but deferred).
- ``shipped``: shipped releases by ship date; ``cancelled``: cancelled releases.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contract.changes import Change
from projections.dialect import Connection
from projections.intervals import (
    Batch,
    EntityTable,
    State,
    Transition,
    advance,
    instant,
    states,
)

PRODUCTS = EntityTable(
    "products",
    ("name", "vision", "value_proposition", "target_customers", "strategy", "owner", "retired"),
)
RELEASES = EntityTable("releases", ("name", "theme", "target_date", "state", "shipped_on"))
FEATURES = EntityTable(
    "features",
    ("title", "problem", "business_value", "benefit", "priority", "status", "release_id",
     "requirements"),
    json_columns=frozenset({"requirements"}),
)
#: Decisions are kept only so that the audit can name them.
DECISIONS = EntityTable("decisions", ("title", "status", "chosen_option"))
SCHEMA = "".join([
    PRODUCTS.schema({"retired": "INTEGER"}),
    RELEASES.schema({}),
    FEATURES.schema({"priority": "REAL"}),
    DECISIONS.schema({}),
])

PLANNED, SHIPPED, CANCELLED = "planned", "shipped", "cancelled"
REJECTED, DEFERRED = "rejected", "deferred"


# Transitions: one small function per change type, previous state -> new state.

def _copied(*names: str) -> Transition:
    """A transition that takes the new values of ``names`` from the change's data."""
    def transition(state: State, change: Change) -> State:
        return {**state, **{name: change.data[name] for name in names}}
    return transition


def _set(**values: Any) -> Transition:
    """A transition that sets fixed values."""
    def transition(state: State, change: Change) -> State:
        return {**state, **values}
    return transition


def _unchanged(state: State, change: Change) -> State:
    return state


def product_created(state: State, change: Change) -> State:
    return {name: change.data[name] for name in PRODUCTS.columns if name != "retired"} | {
        "retired": 0}


def release_planned(state: State, change: Change) -> State:
    data = change.data
    return {"name": data["name"], "theme": data["theme"], "target_date": data["target_date"],
            "state": PLANNED, "shipped_on": None}


def release_shipped(state: State, change: Change) -> State:
    return {**state, "state": SHIPPED, "shipped_on": change.data["shipped_on"]}


def feature_proposed(state: State, change: Change) -> State:
    data = change.data
    requirements = {f"R{n}": body for n, body in enumerate(data["requirements"], start=1)}
    return {"title": data["title"], "problem": data["problem"],
            "business_value": data["business_value"], "benefit": data["benefit"],
            "priority": data["priority"], "status": "proposed", "release_id": None,
            "requirements": requirements}


def decision_proposed(state: State, change: Change) -> State:
    data = change.data
    return {"title": data["title"], "status": "proposed", "chosen_option": data["chosen_option"]}


def details_revised(state: State, change: Change) -> State:
    return {**state, **{name: c["new"] for name, c in change.data["changes"].items()}}


def requirement_set(state: State, change: Change) -> State:
    body = {"text": change.data["text"],
            "acceptance_criteria": list(change.data["acceptance_criteria"])}
    return {**state, "requirements": {**state["requirements"], change.data["requirement_id"]: body}}


def requirement_removed(state: State, change: Change) -> State:
    requirements = dict(state["requirements"])
    requirements.pop(change.data["requirement_id"], None)
    return {**state, "requirements": requirements}


#: Change type -> (table, transition). Every change type in
#: :data:`contract.changes.CHANGE_TYPES` is here or in :data:`IGNORED`
#: (``tests/projections/test_change_type_registries.py``).
TRANSITIONS: dict[str, tuple[EntityTable, Transition]] = {
    "product.created": (PRODUCTS, product_created),
    "product.vision_revised": (PRODUCTS, _copied("vision")),
    "product.strategy_revised": (PRODUCTS, _copied("strategy")),
    "product.retired": (PRODUCTS, _set(retired=1)),
    "release.planned": (RELEASES, release_planned),
    "release.target_date_changed": (RELEASES, _copied("target_date")),
    "release.shipped": (RELEASES, release_shipped),
    "release.cancelled": (RELEASES, _set(state=CANCELLED)),
    "release.feature_added": (RELEASES, _unchanged),
    "release.feature_removed": (RELEASES, _unchanged),
    "feature.proposed": (FEATURES, feature_proposed),
    "feature.status_changed": (FEATURES, _copied("status")),
    "feature.scheduled": (FEATURES, _copied("release_id")),
    "feature.unscheduled": (FEATURES, _set(release_id=None)),
    "feature.priority_changed": (FEATURES, _copied("priority")),
    "feature.priority_scored": (FEATURES, _copied("priority")),
    "feature.details_revised": (FEATURES, details_revised),
    "feature.requirement_added": (FEATURES, requirement_set),
    "feature.requirement_revised": (FEATURES, requirement_set),
    "feature.requirement_removed": (FEATURES, requirement_removed),
    "decision.proposed": (DECISIONS, decision_proposed),
    "decision.accepted": (DECISIONS, _set(status="accepted")),
    "decision.rejected": (DECISIONS, _set(status="rejected")),
    "decision.superseded": (DECISIONS, _set(status="superseded")),
    "decision.reversed": (DECISIONS, _set(status="reversed")),
}
#: Change types :func:`apply` deliberately skips: none. The rows carry each entity's version
#: (shown in the roadmap, read by ``version_as_of``), so even a change that alters no column
#: (``release.feature_added`` / ``_removed``) has a transition that records its version.
IGNORED: frozenset[str] = frozenset()
CREATIONS = frozenset({"product.created", "release.planned", "feature.proposed",
                       "decision.proposed"})


def apply(conn: Connection, change: Change) -> bool:
    """Apply one change to the roadmap rows; False when ignored (duplicate or not relevant)."""
    handler = TRANSITIONS.get(change.type)
    if handler is None:
        return False
    table, transition = handler
    return advance(conn, table, change, transition, creates=change.type in CREATIONS)


def load(batch: Batch, changes: Sequence[Change]) -> None:
    """Read, in a few queries, the current rows of every entity ``changes`` touch."""
    wanted: dict[str, tuple[EntityTable, list[str]]] = {}
    for change in changes:
        handler = TRANSITIONS.get(change.type)
        if handler is not None:
            table = handler[0]
            wanted.setdefault(table.name, (table, []))[1].append(change.entity_id)
    for table, entity_ids in wanted.values():
        batch.load(table, entity_ids)


def apply_in(batch: Batch, change: Change, at: str | None = None) -> bool:
    """:func:`apply` as part of ``batch`` (written when it is flushed); ``at`` is
    ``instant(change.occurred_at)`` when already known."""
    handler = TRANSITIONS.get(change.type)
    if handler is None:
        return False
    table, transition = handler
    return batch.advance(table, change, transition, creates=change.type in CREATIONS, at=at)


# Reading: join the per-entity rows valid at the instant asked about.

def read_products(conn: Connection, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every product (retired ones included, flagged) as of ``as_of``, by name."""
    rows = states(conn, PRODUCTS, "1 = 1", (), as_of, PRODUCT_COLUMNS)
    return sorted((_product(row) for row in rows), key=lambda p: (p["name"], p["id"]))


def read_roadmap(conn: Connection, product_id: str,
                 as_of: datetime | None = None) -> dict[str, Any] | None:
    """The roadmap of ``product_id`` as of ``as_of`` (None: now); None if it did not exist."""
    products = states(conn, PRODUCTS, "entity_id = ?", (product_id,), as_of, PRODUCT_COLUMNS)
    if not products:
        return None
    features = [feature_row(row) for row in states(conn, FEATURES, "product_id = ?",
                                                 (product_id,), as_of, FEATURE_COLUMNS)]
    releases = _releases(states(conn, RELEASES, "product_id = ?", (product_id,), as_of,
                                RELEASE_COLUMNS), features)
    return _assembled(_product(products[0]), releases, features, as_of)


def _assembled(product: dict[str, Any], releases: list[dict[str, Any]],
               features: list[dict[str, Any]], as_of: datetime | None) -> dict[str, Any]:
    unscheduled = sorted((f for f in features if f["release_id"] is None), key=by_priority)
    backlog = [f for f in unscheduled if f["status"] != REJECTED]
    rejected = sorted((f for f in features if f["status"] == REJECTED), key=by_priority)
    open_releases = [r for r in releases if r["state"] == PLANNED]
    return {
        "product": product,
        "as_of": instant(as_of) if as_of else None,
        "releases": releases,
        "backlog": backlog,
        "rejected": rejected,
        "now": open_releases[0] if open_releases else None,
        "next": open_releases[1] if len(open_releases) > 1 else None,
        "later": {"releases": open_releases[2:],
                  "features": [f for f in backlog if f["status"] != DEFERRED]},
        "shipped": sorted((r for r in releases if r["state"] == SHIPPED),
                          key=lambda r: (r["shipped_on"], r["name"], r["id"])),
        "cancelled": [r for r in releases if r["state"] == CANCELLED],
    }


def _releases(rows: list[State], features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Releases in target-date order, each holding the features scheduled in it."""
    releases = {row["entity_id"]: _release(row) for row in rows}
    for feature in sorted(features, key=by_priority):
        release_id = feature["release_id"]
        if release_id is not None and feature["status"] != REJECTED:
            # A release not seen yet (changes of different entities may arrive in any
            # order) still shows, as a stub, so that no scheduled feature disappears.
            releases.setdefault(release_id, _unknown_release(release_id))
            releases[release_id]["features"].append(feature)
    return sorted(releases.values(),
                  key=lambda r: (r["target_date"] is None, r["target_date"] or "", r["name"] or "",
                                 r["id"]))


def by_priority(feature: dict[str, Any]) -> tuple[float, str, str, str]:
    """Priority (high first), then title case-insensitively, then title as written and
    id, so the order is the same on every read."""
    title = feature["title"]
    return (-feature["priority"], title.casefold(), title, feature["id"])


#: The columns each part of a roadmap shows (descriptions and requirements are not read).
PRODUCT_COLUMNS = ("entity_id", "entity_version", "name", "vision", "value_proposition",
                   "target_customers", "strategy", "owner", "retired")
RELEASE_COLUMNS = ("entity_id", "entity_version", "name", "theme", "target_date", "state",
                   "shipped_on")
FEATURE_COLUMNS = ("entity_id", "entity_version", "title", "status", "priority", "release_id")


def _product(row: State) -> dict[str, Any]:
    return {"id": row["entity_id"], "name": row["name"], "vision": row["vision"],
            "value_proposition": row["value_proposition"],
            "target_customers": row["target_customers"], "strategy": row["strategy"],
            "owner": row["owner"], "retired": bool(row["retired"]),
            "version": row["entity_version"]}


def _release(row: State) -> dict[str, Any]:
    return {"id": row["entity_id"], "name": row["name"], "theme": row["theme"],
            "target_date": row["target_date"], "state": row["state"],
            "shipped_on": row["shipped_on"], "version": row["entity_version"], "features": []}


def _unknown_release(release_id: str) -> dict[str, Any]:
    return {"id": release_id, "name": None, "theme": None, "target_date": None,
            "state": "unknown", "shipped_on": None, "version": None, "features": []}


def feature_row(row: State) -> dict[str, Any]:
    """A feature as the roadmap shows it, from a row of :data:`FEATURE_COLUMNS`."""
    return {"id": row["entity_id"], "title": row["title"], "status": row["status"],
            "priority": row["priority"], "release_id": row["release_id"],
            "version": row["entity_version"]}
