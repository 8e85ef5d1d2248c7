"""What changed on a product's roadmap between two instants, and why?

Two answers, read in one snapshot of the views:

- ``changes``: every roadmap step in the interval (since, until], oldest first, each with
  who, when, why (rationale, evidence, decision). Read from the audit rows of the product.
- ``net``: the effect of those steps, found by comparing the entity states valid at
  ``since`` with those valid at ``until`` (the same rows the as-of roadmap reads). A feature
  moved 1.0 → 1.1 → 2.0 is *moved from 1.0 to 2.0* in ``net``; both moves are in ``changes``;
  one moved away and back is in ``changes`` only. Each net item lists the steps that
  produced it (``because``), so every net fact has its reasons.

``since`` is exclusive and ``until`` inclusive, matching as-of reads (a change stamped
exactly at ``as_of`` is part of the roadmap as of then): the changes turn the roadmap as
of ``since`` into the roadmap as of ``until``.

What a diff reads follows the changes in the interval, not the history before it nor the
size of the product: the steps are one range of the audit's product-and-time index, the
names they mention are read from the rows of the interval (see
:class:`projections.summaries.Names`), and the states compared are those of the entities
changed in the interval (and the releases their features were in), each found by one
indexed lookup at each instant.
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain import clock
from domain.errors import InvalidCommand
from projections import audit
from projections.dialect import Connection
from projections.intervals import EntityTable, State, instant, states
from projections.roadmap import CANCELLED, DECISIONS, FEATURES, PRODUCTS, RELEASES, SHIPPED
from projections.summaries import Names, describe, escape_markdown, requirement_body
from projections.views import Views

Item = dict[str, Any]
#: Steps by the id of the entity they changed.
StepsOf = dict[str, list[Item]]

#: Change type -> kind of roadmap step. Every change type in
#: :data:`contract.changes.CHANGE_TYPES` is here or in :data:`IGNORED`
#: (``tests/projections/test_change_type_registries.py``).
STEP_KINDS = {
    "feature.proposed": "feature_proposed",
    "feature.status_changed": "feature_status_changed",
    "feature.scheduled": "feature_scheduled",
    "feature.unscheduled": "feature_unscheduled",
    "feature.priority_changed": "feature_priority_changed",
    "feature.priority_scored": "feature_priority_changed",
    "feature.details_revised": "feature_details_revised",
    "feature.requirement_added": "requirement_added",
    "feature.requirement_revised": "requirement_revised",
    "feature.requirement_removed": "requirement_removed",
    "release.planned": "release_planned",
    "release.target_date_changed": "release_date_changed",
    "release.shipped": "release_shipped",
    "release.cancelled": "release_cancelled",
    "product.vision_revised": "product_revised",
    "product.strategy_revised": "product_revised",
    "product.retired": "product_retired",
}
#: Change types that are not roadmap steps.
IGNORED: frozenset[str] = frozenset({
    # A product's creation: its roadmap starts there; it is not a change to it.
    "product.created",
    # Release scope bookkeeping: repeats the feature's own scheduling change.
    "release.feature_added", "release.feature_removed",
    # Decisions themselves: the steps they cause carry their decision_id (and title).
    "decision.proposed", "decision.accepted", "decision.rejected", "decision.superseded",
    "decision.reversed",
})
REQUIREMENT_KINDS = ("requirement_added", "requirement_revised", "requirement_removed")


class InvalidInterval(InvalidCommand, ValueError):
    """The two instants do not make an interval of the past (the HTTP layer answers 422)."""


def roadmap_diff(views: Views, product_id: UUID, since: datetime,
                 until: datetime | None = None) -> dict[str, Any] | None:
    """What changed on the roadmap of ``product_id`` after ``since`` up to ``until``
    (None: now); None when the product did not exist at ``until``."""
    since, until = checked_interval(since, until)
    with views.reading() as conn:  # one snapshot: the net and the steps agree
        return diff_between(conn, str(product_id), since, until)


def checked_interval(since: datetime, until: datetime | None) -> tuple[datetime, datetime]:
    """``(since, until)`` when they make an interval of the past, else :class:`InvalidInterval`."""
    now = clock.now()
    until = now if until is None else until
    for name, moment in (("from", since), ("to", until)):
        if moment.tzinfo is None:
            raise InvalidInterval(f"'{name}' needs a timezone, e.g. 2026-03-01T00:00:00Z.")
    if since >= until:
        raise InvalidInterval(
            f"'from' ({instant(since)}) must be before 'to' ({instant(until)}): "
            "a diff runs forward in time.")
    if until > now:
        raise InvalidInterval(
            f"'to' ({instant(until)}) is in the future; the log can only answer for the past. "
            "Leave 'to' out to diff up to now.")
    return since, until


def diff_between(conn: Connection, product_id: str, since: datetime,
                 until: datetime) -> dict[str, Any] | None:
    """:func:`roadmap_diff` on a connection inside a read transaction."""
    products = states(conn, PRODUCTS, "entity_id = ?", (product_id,), until)
    if not products:
        return None
    # Names of the entities the steps mention, at each step's instant: read once per
    # entity, the rows of the interval only (see ``Names``).
    names = Names(conn, (instant(since), instant(until)))
    steps = [_step(row, names) for row in _audit_rows(conn, product_id, since, until)]
    _name_decisions(conn, steps)
    before, after = _snapshots(conn, product_id, since, until)
    steps_of: StepsOf = defaultdict(list)
    for step in steps:
        steps_of[step["entity_id"]].append(step)
    return {
        "product": {"id": product_id, "name": products[0]["name"]},
        "since": instant(since),
        "until": instant(until),
        "net": {"features": _net_features(before, after, steps_of),
                "releases": _net_releases(before, after, steps_of)},
        "changes": steps,
    }


# The steps: audit rows of the product in (since, until]


def _audit_rows(conn: Connection, product_id: str, since: datetime,
                until: datetime) -> list[dict[str, Any]]:
    kinds = ", ".join("?" * len(STEP_KINDS))
    return audit.rows(
        conn, f"product_id = ? AND occurred_at > ? AND occurred_at <= ? AND type IN ({kinds})",
        (product_id, instant(since), instant(until), *STEP_KINDS), order="occurred_at, seq")


def _step(row: dict[str, Any], names: Names) -> Item:
    data, at, kind = row["data"], row["occurred_at"], STEP_KINDS[row["type"]]
    summary, _ = describe(row, names)
    step: Item = {
        "kind": kind, "type": row["type"], "entity_type": row["entity_type"],
        "entity_id": row["entity_id"], "name": _name(row, names), "summary": summary,
        "old": None, "new": None,
        "occurred_at": at, "actor": row["actor"], "rationale": row["rationale"],
        "evidence": row["evidence"], "decision_id": row["decision_id"], "decision": None,
        "event_id": row["event_id"], "position": row["position"],
    }
    step.update(_values(kind, data, names, at))
    if kind == "release_date_changed":
        step["kind"] = "release_slipped" if data["delta_days"] > 0 else "release_pulled_in"
    return step


def _name(row: dict[str, Any], names: Names) -> str | None:
    if row["type"] == "feature.proposed":
        return str(row["data"]["title"])
    if row["type"] == "release.planned":
        return str(row["data"]["name"])
    lookup = {"feature": names.feature, "release": names.release, "product": names.product}
    # ``Names`` answers "feature 'Export'" (or "feature <id>" when unknown): keep the name.
    named = lookup[row["entity_type"]](row["entity_id"], row["occurred_at"]).split(" ", 1)[1]
    return named[1:-1] if named.startswith("'") and named.endswith("'") else named


def _values(kind: str, data: dict[str, Any], names: Names, at: str) -> Item:
    """The step's ``old`` and ``new`` values (and extra fields some kinds have)."""
    if kind in ("feature_scheduled", "feature_unscheduled"):
        old, new = data.get("old_release_id"), data.get("release_id")
        moved = "feature_moved" if old and new else kind
        return {"kind": moved, "old": _release_ref(old, names, at),
                "new": _release_ref(new, names, at)}
    if kind == "feature_proposed":
        return {"new": {"status": "proposed", "priority": data["priority"]}}
    if kind == "release_planned":
        return {"new": data["target_date"]}
    if kind == "release_date_changed":
        return {"old": data["old_target_date"], "new": data["target_date"],
                "delta_days": data["delta_days"]}
    if kind == "release_shipped":
        return {"old": "planned", "new": SHIPPED, "shipped_on": data["shipped_on"]}
    if kind == "release_cancelled":
        return {"old": "planned", "new": CANCELLED}
    if kind in REQUIREMENT_KINDS:
        return {"requirement_id": data["requirement_id"],
                "old": requirement_body(data, "old_") if "old_text" in data else None,
                "new": requirement_body(data, "") if "text" in data else None}
    if kind == "feature_details_revised":
        return {"old": {k: c["old"] for k, c in data["changes"].items()},
                "new": {k: c["new"] for k, c in data["changes"].items()}}
    for field in ("status", "priority", "vision", "strategy"):
        if f"old_{field}" in data:
            return {"field": field, "old": data[f"old_{field}"], "new": data[field]}
    return {}


def _release_ref(release_id: str | None, names: Names, at: str) -> Item | None:
    """A release as ``{id, name}``; None stands for the backlog."""
    if release_id is None:
        return None
    return {"id": release_id, "name": names.release_name(release_id, at)}




def _name_decisions(conn: Connection, steps: list[Item]) -> None:
    """Give each step the title of the decision that caused it."""
    ids = sorted({s["decision_id"] for s in steps if s["decision_id"]})
    if not ids:
        return
    rows = conn.execute(
        f"SELECT entity_id, title FROM {DECISIONS.name} WHERE entity_id IN "
        f"({', '.join('?' * len(ids))}) AND valid_to IS NULL", ids).fetchall()
    titles = {row["entity_id"]: row["title"] for row in rows}
    for step in steps:
        step["decision"] = titles.get(step["decision_id"]) if step["decision_id"] else None


# The net effect: entity states at since versus at until


class _Snapshot:
    """The product's features and releases valid at one instant, by id."""

    def __init__(self, features: list[State], releases: list[State]) -> None:
        self.features = {row["entity_id"]: row for row in features}
        self.releases = {row["entity_id"]: row for row in releases}

    def release(self, release_id: str | None) -> Item | None:
        """A release as ``{id, name}``; None stands for the backlog."""
        if release_id is None:
            return None
        row = self.releases.get(release_id)
        return {"id": release_id, "name": row["name"] if row else None}


def _snapshots(conn: Connection, product_id: str, since: datetime,
               until: datetime) -> tuple[_Snapshot, _Snapshot]:
    """The product's features and releases at ``since`` and at ``until`` that the net
    effect needs: those changed in between, and the releases their features were in.

    Every other entity of the product has the same row at both instants, and the net holds
    nothing for such an entity: so only the changed ones are read, by indexed lookups,
    and the cost follows the changes of the interval rather than the size of the product.
    """
    features, releases = _changed_entities(conn, product_id, since, until)
    before_features = _states(conn, FEATURES, product_id, features, since)
    after_features = _states(conn, FEATURES, product_id, features, until)
    shown = {row["release_id"] for row in (*before_features, *after_features)
             if row["release_id"] is not None}
    releases = sorted(set(releases) | shown)
    return (_Snapshot(before_features, _states(conn, RELEASES, product_id, releases, since)),
            _Snapshot(after_features, _states(conn, RELEASES, product_id, releases, until)))


def _changed_entities(conn: Connection, product_id: str, since: datetime,
                      until: datetime) -> tuple[list[str], list[str]]:
    """The product's features and releases that may differ between ``since`` and ``until``.

    An entity's row valid at ``until`` differs from the one valid at ``since`` only if a
    row of it starts in (since, until]. Each row starts at the instant of a change of the
    entity, or, when writers' clocks disagree, where its previous row starts (see
    :func:`projections.intervals.advance`), itself the instant of an earlier change; and
    the audit holds every change at its instant. So the entities with an audit row of any
    type in the interval include every one that changed. One range of the
    ``audit_product_time`` index: as many rows as changes in the interval.
    """
    rows = conn.execute(
        "SELECT DISTINCT entity_type, entity_id FROM audit WHERE product_id = ? "
        "AND occurred_at > ? AND occurred_at <= ? AND entity_type IN ('feature', 'release')",
        (product_id, instant(since), instant(until))).fetchall()
    return (sorted(row[1] for row in rows if row[0] == "feature"),
            sorted(row[1] for row in rows if row[0] == "release"))


def _states(conn: Connection, table: EntityTable, product_id: str,
            entity_ids: list[str], at: datetime) -> list[State]:
    """The rows of ``entity_ids`` of the product valid at ``at``, a few hundred per query."""
    found: list[State] = []
    for start in range(0, len(entity_ids), _CHUNK):
        chunk = entity_ids[start:start + _CHUNK]
        found += states(conn, table, f"product_id = ? AND entity_id IN "
                                     f"({', '.join('?' * len(chunk))})",
                        (product_id, *chunk), at)
    return found


_CHUNK = 500


def _because(steps: StepsOf, entity_id: str, *kinds: str) -> list[Item]:
    """The reasons of the steps on ``entity_id`` of ``kinds``, oldest first."""
    return [{key: s[key] for key in ("occurred_at", "actor", "summary", "rationale", "evidence",
                                     "decision_id", "decision", "event_id")}
            for s in steps.get(entity_id, ()) if s["kind"] in kinds]


def _net_features(before: _Snapshot, after: _Snapshot, steps: StepsOf) -> dict[str, Any]:
    net: dict[str, list[Item]] = defaultdict(list)
    moves = ("feature_scheduled", "feature_moved", "feature_unscheduled")
    for fid, new in sorted(after.features.items(), key=lambda kv: (kv[1]["title"], kv[0])):
        item = {"feature_id": fid, "title": new["title"]}
        old = before.features.get(fid)
        if old is None:
            net["added"].append({**item, "status": new["status"], "priority": new["priority"],
                                 "release": after.release(new["release_id"]),
                                 "because": _because(steps, fid, "feature_proposed", *moves)})
            continue
        if old["status"] != new["status"]:
            rejected = new["status"] == "rejected"
            net["removed" if rejected else "status_changed"].append(
                {**item, "old": old["status"], "new": new["status"],
                 "because": _because(steps, fid, "feature_status_changed")})
        if old["release_id"] != new["release_id"]:
            net["moved"].append({**item, "from": before.release(old["release_id"]),
                                 "to": after.release(new["release_id"]),
                                 "because": _because(steps, fid, *moves)})
        if old["priority"] != new["priority"]:
            net["priority_changed"].append({**item, "old": old["priority"],
                                            "new": new["priority"],
                                            "because": _because(steps, fid,
                                                                "feature_priority_changed")})
        requirements = _requirement_changes(old["requirements"], new["requirements"])
        if requirements:
            net["requirements_changed"].append(
                {**item, **requirements, "because": _because(steps, fid, *REQUIREMENT_KINDS)})
    return {key: net[key] for key in ("added", "removed", "moved", "status_changed",
                                      "priority_changed", "requirements_changed")}


def _requirement_changes(old: dict[str, Item], new: dict[str, Item]) -> Item:
    added = {rid: body for rid, body in new.items() if rid not in old}
    removed = {rid: body for rid, body in old.items() if rid not in new}
    revised = {rid: {"old": old[rid], "new": body} for rid, body in new.items()
               if rid in old and old[rid] != body}
    if not (added or removed or revised):
        return {}
    return {"added": added, "revised": revised, "removed": removed}


def _net_releases(before: _Snapshot, after: _Snapshot, steps: StepsOf) -> dict[str, Any]:
    net: dict[str, list[Item]] = defaultdict(list)
    for rid, new in sorted(after.releases.items(), key=lambda kv: (kv[1]["name"], kv[0])):
        item = {"release_id": rid, "name": new["name"]}
        old = before.releases.get(rid)
        planned = [s for s in steps.get(rid, ()) if s["kind"] == "release_planned"]
        if old is None:
            net["added"].append({**item, "target_date": new["target_date"],
                                 "state": new["state"],
                                 "because": _because(steps, rid, "release_planned")})
        first_date = old["target_date"] if old else planned[0]["new"] if planned else None
        if first_date and first_date != new["target_date"]:
            delta = (date.fromisoformat(new["target_date"]) - date.fromisoformat(first_date)).days
            net["slipped" if delta > 0 else "pulled_in"].append(
                {**item, "old": first_date, "new": new["target_date"], "delta_days": delta,
                 "because": _because(steps, rid, "release_slipped", "release_pulled_in")})
        if new["state"] in (SHIPPED, CANCELLED) and (old is None or old["state"] != new["state"]):
            extra = {"shipped_on": new["shipped_on"]} if new["state"] == SHIPPED else {}
            net[new["state"]].append({**item, **extra, "because": _because(
                steps, rid, "release_shipped", "release_cancelled")})
    return {key: net[key] for key in ("added", "shipped", "cancelled", "slipped", "pulled_in")}


# Markdown


def render_markdown(diff: dict[str, Any]) -> str:
    """A readable Markdown account of a diff: the net effect per category, then every step."""
    lines = [f"# {escape_markdown(diff['product']['name'])}: roadmap changes",
             "", f"From {_when(diff['since'])} to {_when(diff['until'])}."]
    features, releases = diff["net"]["features"], diff["net"]["releases"]
    sections = [
        ("Features added", features["added"], _feature_added),
        ("Features removed (rejected)", features["removed"], _feature_removed),
        ("Features moved", features["moved"], _feature_moved),
        ("Feature status changes", features["status_changed"], _changed("status")),
        ("Priority changes", features["priority_changed"], _changed("priority")),
        ("Requirement changes", features["requirements_changed"], _requirements),
        ("Releases added", releases["added"], _release_added),
        ("Releases shipped", releases["shipped"], _release_shipped),
        ("Releases cancelled", releases["cancelled"], _release_cancelled),
        ("Target dates slipped", releases["slipped"], _release_date),
        ("Target dates pulled in", releases["pulled_in"], _release_date),
    ]
    shown = [(title, items, line) for title, items, line in sections if items]
    if not shown:
        lines += ["", "Nothing changed on the roadmap in this period."]
    for title, items, line in shown:
        lines += ["", f"## {title}", ""]
        for item in items:
            lines += [f"- {line(item)}", *_why(item["because"])]
    if diff["changes"]:
        lines += ["", "## Every change, in order", ""]
        lines += [f"{n}. {_when(s['occurred_at'])}: {escape_markdown(s['summary'])}.{_reason(s)}"
                  for n, s in enumerate(diff["changes"], start=1)]
    return "\n".join(lines) + "\n"


def _feature_added(item: Item) -> str:
    where = _where(item["release"])
    title = escape_markdown(item["title"])
    return f"**{title}** ({item['status']}, priority {item['priority']:g}), {where}"


def _feature_removed(item: Item) -> str:
    return f"**{escape_markdown(item['title'])}**: {item['old']} → rejected"


def _feature_moved(item: Item) -> str:
    return f"**{escape_markdown(item['title'])}**: {_where(item['from'])} → {_where(item['to'])}"


def _changed(what: str) -> Any:
    def line(item: Item) -> str:
        old, new = (f"{v:g}" if isinstance(v, float) else v for v in (item["old"], item["new"]))
        return f"**{escape_markdown(item['title'])}**: {what} {old} → {new}"
    return line


def _requirements(item: Item) -> str:
    parts = [f"{verb} {', '.join(sorted(item[key]))}" for key, verb in
             (("added", "added"), ("revised", "revised"), ("removed", "removed")) if item[key]]
    return f"**{escape_markdown(item['title'])}**: requirements {'; '.join(parts)}"


def _release_added(item: Item) -> str:
    return f"**{escape_markdown(item['name'])}**, targeting {item['target_date']} ({item['state']})"


def _release_shipped(item: Item) -> str:
    return f"**{escape_markdown(item['name'])}** shipped on {item['shipped_on']}"


def _release_cancelled(item: Item) -> str:
    return f"**{escape_markdown(item['name'])}** cancelled"


def _release_date(item: Item) -> str:
    days = abs(item["delta_days"])
    verb = "slipped" if item["delta_days"] > 0 else "pulled in"
    return (f"**{escape_markdown(item['name'])}**: {item['old']} → {item['new']} ({verb} {days} "
            f"day{'' if days == 1 else 's'})")


def _where(release: Item | None) -> str:
    return "backlog" if release is None else f"release {escape_markdown(str(release['name']))}"


def _why(because: list[Item]) -> list[str]:
    return [f"  - {_when(b['occurred_at'])}, {escape_markdown(b['actor'])}"
            + (f":{why}" if (why := _reason(b)) else "") for b in because]


def _reason(step: Item) -> str:
    """The why, decision and evidence of a step, each a sentence of its own."""
    text = f" _Why:_ {_sentence(step['rationale'])}" if step["rationale"] else ""
    if step["decision_id"]:
        text += f" _Decision:_ {_sentence(step['decision'] or step['decision_id'])}"
    if step["evidence"]:
        text += f" _Evidence:_ {', '.join(escape_markdown(e) for e in step['evidence'])}."
    return text


def _sentence(text: str) -> str:
    """``text`` escaped, ending as a sentence does (a full stop added when it has none)."""
    text = escape_markdown(text.rstrip())
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def _when(at: str) -> str:
    """``2026-03-01T09:30:00.000000+01:00`` → ``2026-03-01 08:30:00 UTC``: the whole instant
    to the second, with its timezone."""
    return datetime.fromisoformat(at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
