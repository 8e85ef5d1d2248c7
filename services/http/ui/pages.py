"""What each page shows, read for one signed-in person: plain functions from a
:class:`~services.http.ui.session.Session` and ids to a :class:`~services.http.ui.render.Page`.

Entities (a feature, a release, a decision) are loaded from the log, so a page is current at
once after a write and carries the version its forms send back; their histories, the roadmap,
the slips and the audit come from the views (the routes wait for a write's position first).
"""

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from contract.changes import CHANGE_TYPES
from domain import clock
from domain.decision import ACCEPTED
from domain.feature import STATUSES
from domain.release import PLANNED, SHIPPED
from projections.diff import roadmap_diff
from projections.search import InvalidQuery
from services.http.ui.charts import slip_chart
from services.http.ui.forms import CHANGE_FIELDS, CHANGE_ROWS, OPTION_ROWS, FormError
from services.http.ui.render import Page
from services.http.ui.session import Session
from services.store.errors import NotFound

#: The kinds of change an audit can be filtered by (``feature.scheduled``...).
CHANGE_TYPE_NAMES = sorted({name for _, name in CHANGE_TYPES.values()})
#: What the accept form calls each kind of roadmap change.
CHANGE_KINDS = {"move_feature": "Move a feature to a release",
                "unschedule_feature": "Take a feature back to the backlog",
                "change_target_date": "Change a release's target date",
                "change_status": "Change a feature's status",
                "change_priority": "Change a feature's priority"}
SEARCH_KINDS = ("product", "feature", "release", "decision")


def home(s: Session) -> Page:
    return Page("home.html", {"products": s.runtime.views.list_products()})


def _roadmap(s: Session, product_id: UUID, as_of: datetime | None = None) -> dict[str, Any]:
    found = s.runtime.views.roadmap(product_id, as_of=as_of)
    if found is None:
        raise NotFound(f"No product with id {product_id}"
                       + (f" as of {as_of:%Y-%m-%d %H:%M:%S} UTC." if as_of else "."))
    return found


def product(s: Session, product_id: UUID, as_of: datetime | None = None) -> Page:
    """The product, its roadmap as a timeline (as of ``as_of``, default now), its decisions."""
    roadmap = _roadmap(s, product_id, as_of)
    return Page("product.html", {
        "roadmap": roadmap, "as_of": as_of,
        "decisions": s.runtime.views.decisions(product_id, as_of) or [],
        "features": _features(roadmap),
    })


def changes(s: Session, product_id: UUID, since: datetime, until: datetime | None) -> Page:
    """What changed on the roadmap after ``since`` up to ``until`` (default now), and why."""
    diff = roadmap_diff(s.runtime.views, product_id, since, until)
    if diff is None:
        raise NotFound(f"No product with id {product_id}.")
    return Page("changes.html", {"diff": diff, "since": since, "until": until})


def feature(s: Session, feature_id: UUID) -> Page:
    """A feature, its history (who, when, what, why) and the decisions that shaped it."""
    app, views = s.runtime.app, s.runtime.views
    found = app.get_feature(feature_id)
    roadmap = _roadmap(s, found.product_id)
    history = views.history(feature_id)
    summaries = {item["event_id"]: item["summary"] for item in history}
    lineage = [{**asdict(step), "summaries": [summaries.get(c.event_id, c.type)
                                              for c in step.changes]}
               for step in app.entity_lineage(feature_id)]
    releases = {r["id"]: r for r in roadmap["releases"]}
    return Page("feature.html", {
        "feature": found, "product": roadmap["product"], "history": history,
        "lineage": lineage, "release": releases.get(str(found.release_id)),
        "open_releases": [r for r in roadmap["releases"] if r["state"] == PLANNED],
        "statuses": found.next_statuses,  # only the moves the status form can make
    })


def release(s: Session, release_id: UUID) -> Page:
    """A release: its scope, its target date and slip ledger (a chart), its history, and
    its notes once shipped."""
    app, views = s.runtime.app, s.runtime.views
    found = app.get_release(release_id)
    roadmap = _roadmap(s, found.product_id)
    history = views.history(release_id)
    ledger = views.slip_ledger(release_id)
    chart = None
    if ledger is not None and history and ledger["planned_target_date"]:
        chart = slip_chart(history[0]["occurred_at"], ledger["planned_target_date"],
                           ledger["changes"], clock.now())
    scope: list[dict[str, Any]] = next(
        (r["features"] for r in roadmap["releases"] if r["id"] == str(release_id)), [])
    return Page("release.html", {
        "release": found, "product": roadmap["product"], "history": history,
        "ledger": ledger, "chart": chart, "scope": scope,
        "notes": views.release_notes(release_id) if found.state == SHIPPED else None,
    })


def decision(s: Session, decision_id: UUID) -> Page:
    """A decision: context, options, the choice and why, who decided, what it changed, and
    what superseded or reversed it."""
    app = s.runtime.app
    found = app.get_decision(decision_id)
    roadmap = _roadmap(s, found.product_id)
    lineage = app.decision_lineage(decision_id)
    related = {d: app.get_decision(d).title for d in (
        found.supersedes, found.superseded_by, found.reverses, found.reversed_by) if d}
    return Page("decision.html", {
        "decision": found, "product": roadmap["product"], "related": related,
        "changed_again_by": lineage.changed_again_by,
        "features": _features(roadmap),
        "open_releases": [r for r in roadmap["releases"] if r["state"] == PLANNED],
        "statuses": STATUSES, "kinds": CHANGE_KINDS, "rows": range(1, CHANGE_ROWS + 1),
        "fields": CHANGE_FIELDS,
    })


def new_decision(s: Session, product_id: UUID) -> Page:
    """The form proposing a decision about a product."""
    roadmap = _roadmap(s, product_id)
    in_force = [d for d in s.runtime.views.decisions(product_id) or []
                if d["status"] == ACCEPTED]
    return Page("new_decision.html", {"product": roadmap["product"], "in_force": in_force,
                                      "options": range(1, OPTION_ROWS + 1)})


def audit(s: Session, filters: dict[str, Any], cursor: int | None) -> Page:
    """The audit trail, filtered, a page at a time."""
    views = s.runtime.views
    found = views.audit(product_id=filters["product"], entity_id=filters["entity"],
                        actor=filters["actor"] or None, change_type=filters["type"] or None,
                        since=filters["from"], until=filters["to"], limit=50, cursor=cursor)
    return Page("audit.html", {"page": found, "filters": filters,
                               "products": views.list_products(),
                               "types": CHANGE_TYPE_NAMES})


def search(s: Session, q: str, product_id: UUID | None, kind: str | None,
           offset: int) -> Page:
    """What matches ``q`` (see ``Views.search``), a page at a time."""
    views = s.runtime.views
    found: dict[str, Any] = {"items": [], "next_offset": None}
    if q.strip():
        try:
            found = views.search(q, product_id=product_id, kind=kind, limit=20, offset=offset)
        except InvalidQuery as error:
            raise FormError(str(error)) from None
    return Page("search.html", {"q": q, "found": found, "product_id": product_id,
                                "kind": kind, "kinds": SEARCH_KINDS, "offset": offset,
                                "products": views.list_products()})


def _features(roadmap: dict[str, Any]) -> list[dict[str, Any]]:
    """Every feature on the roadmap (scheduled, backlog, rejected), by title."""
    scheduled = [f for r in roadmap["releases"] for f in r["features"]]
    return sorted(scheduled + roadmap["backlog"] + roadmap["rejected"],
                  key=lambda f: (f["title"], f["id"]))
