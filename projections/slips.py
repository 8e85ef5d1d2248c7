"""Slips: which dates slipped and why, and which features kept moving?

Read-only questions answered from the audit (every change as published) and the
roadmap's per-entity rows; no table of its own, so nothing to rebuild. Each function
takes a connection to the views file (one read transaction gives a consistent answer)
and ids as text, like the readers in :mod:`projections.audit`. What shipped is in
:mod:`projections.release_notes`.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from projections import audit
from projections.dialect import Connection
from projections.intervals import instant, states
from projections.roadmap import FEATURES, RELEASES
from projections.summaries import EVER, Names

TARGET_DATE_CHANGED = "release.target_date_changed"
SCHEDULING = ("feature.scheduled", "feature.unscheduled")


# The slip ledger


def slip_ledger(conn: Connection, release_id: str,
                as_of: datetime | None = None) -> dict[str, Any] | None:
    """Every target-date change of a release (old → new, days, who, why) and the totals;
    once shipped, the ship date and ``slip_to_ship_days``, from the first planned target
    date to shipping. None when the release did not exist at ``as_of``."""
    releases = states(conn, RELEASES, "entity_id = ?", (release_id,), as_of)
    if not releases:
        return None
    names = Names(conn)
    rows = audit.rows(conn, "entity_id = ? AND type = ?", (release_id, TARGET_DATE_CHANGED),
                      order="entity_version", as_of=as_of)
    entries = [_slip(row, names) for row in rows]
    planned = audit.rows(conn, "entity_id = ? AND type = 'release.planned'", (release_id,))
    first_target = planned[0]["data"]["target_date"] if planned else None
    shipped_on = releases[0]["shipped_on"]
    return {
        "release_id": release_id,
        "name": releases[0]["name"],
        "state": releases[0]["state"],
        "planned_target_date": first_target,
        "target_date": releases[0]["target_date"],
        "shipped_on": shipped_on,
        "slip_to_ship_days": _days_between(first_target, shipped_on),
        "changes": entries,
        "totals": _totals(e["delta_days"] for e in entries),
    }


def _days_between(first_target: str | None, shipped_on: str | None) -> int | None:
    """Days from the first planned target date to the ship date (negative: early); None
    until the release ships."""
    if first_target is None or shipped_on is None:
        return None
    return (date.fromisoformat(shipped_on) - date.fromisoformat(first_target)).days


def slipped_most(conn: Connection, product_id: str, as_of: datetime | None = None,
                 limit: int = 10) -> list[dict[str, Any]]:
    """The product's releases that slipped most (days slipped, then number of slips)."""
    rows = audit.rows(conn, "product_id = ? AND type = ?", (product_id, TARGET_DATE_CHANGED),
                      as_of=as_of)
    deltas: dict[str, list[int]] = {}
    for row in rows:
        deltas.setdefault(row["entity_id"], []).append(row["data"]["delta_days"])
    releases = {r["entity_id"]: r for r in states(conn, RELEASES, "product_id = ?",
                                                   (product_id,), as_of)}
    ranked = [(_totals(days), rid) for rid, days in deltas.items()]
    ranked.sort(key=lambda t: (-t[0]["days_slipped"], -t[0]["slips"],
                               releases.get(t[1], {}).get("name") or "", t[1]))
    return [{"release_id": rid, "name": releases.get(rid, {}).get("name"),
             "target_date": releases.get(rid, {}).get("target_date"), **totals}
            for totals, rid in ranked if totals["slips"]][:max(1, limit)]


def _slip(row: dict[str, Any], names: Names) -> dict[str, Any]:
    data, at = row["data"], row["occurred_at"]
    return {
        "occurred_at": at, "actor": row["actor"],
        "old_target_date": data["old_target_date"], "target_date": data["target_date"],
        "delta_days": data["delta_days"],
        "kind": "slip" if data["delta_days"] > 0 else "pull-in",
        "rationale": row["rationale"], "evidence": row["evidence"],
        "decision_id": row["decision_id"],
        "decision": names.decision(row["decision_id"], at) if row["decision_id"] else None,
    }


def _totals(deltas: Iterable[int]) -> dict[str, int]:
    days = list(deltas)
    return {
        "slips": sum(1 for d in days if d > 0),
        "pull_ins": sum(1 for d in days if d < 0),
        "days_slipped": sum(d for d in days if d > 0),
        "days_pulled_in": -sum(d for d in days if d < 0),
        "net_days": sum(days),
    }


# Reschedules


def reschedules(conn: Connection, product_id: str,
                as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every feature of the product ever scheduled, most rescheduled first, with its moves."""
    rows = audit.rows(conn, f"product_id = ? AND type IN {SCHEDULING}", (product_id,),
                      as_of=as_of)
    return _by_feature(conn, rows, as_of)



def _by_feature(conn: Connection, rows: list[dict[str, Any]],
                as_of: datetime | None) -> list[dict[str, Any]]:
    """Group scheduling changes per feature. A reschedule is leaving a release the feature
    was in: moved to another release or sent back to the backlog."""
    # Every scheduling change of the product up to as_of: each release named has its rows
    # up to then read once (see ``Names``), rather than one lookup per move.
    names = Names(conn, (EVER, instant(as_of) if as_of else None))
    moves: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        moves.setdefault(row["entity_id"], []).append(_move(row, names))
    marks = ", ".join("?" * len(moves))
    titles = {f["entity_id"]: f["title"]
              for f in states(conn, FEATURES, f"entity_id IN ({marks})", tuple(moves), as_of)}
    found = [_rescheduled(fid, titles.get(fid), ms) for fid, ms in moves.items()]
    found.sort(key=lambda f: (-f["times_rescheduled"], f["title"] or "", f["feature_id"]))
    return found


def _rescheduled(feature_id: str, title: str | None,
                 moves: list[dict[str, Any]]) -> dict[str, Any]:
    left = sum(1 for m in moves if m["from_release_id"] is not None)
    return {"feature_id": feature_id, "title": title, "times_rescheduled": left, "moves": moves}


def _move(row: dict[str, Any], names: Names) -> dict[str, Any]:
    data, at = row["data"], row["occurred_at"]
    old, new = data.get("old_release_id"), data.get("release_id")
    return {
        "occurred_at": at, "actor": row["actor"],
        "from_release_id": old, "from": names.release_name(old, at) if old else None,
        "to_release_id": new, "to": names.release_name(new, at) if new else None,
        "rationale": row["rationale"], "decision_id": row["decision_id"],
    }
