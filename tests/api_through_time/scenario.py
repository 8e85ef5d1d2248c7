"""Six simulated months of the 'Atlas' roadmap, played over HTTP, with snapshots of what
the API answered at two month ends (to compare with as-of reads made later).

    Jan  4  Atlas; Share roadmaps (1.0), Export to CSV (1.0), SSO (1.1), Dark mode (backlog)
    Jan 15  Export and Share scored with RICE (400 and 250)
    Jan 31  snapshot
    Feb 10  D1 accepted: Export moves 1.0 -> 1.1, 1.0 slips 2027-03-01 -> 03-15
    Feb 20  D2 refused (its second change is illegal); rejected on Feb 21
    Feb 25  Audit log proposed; Share accepted, in progress, done
    Mar 15  1.0 ships with Share
    Mar 31  snapshot
    Apr  5  D3 accepted: 1.1 slips to 07-01, SSO moves to 2.0
    Apr 20  D4 supersedes D3: 1.1 pulled in to 06-15
    May  3  D5 accepted: Export moves 1.1 -> 2.0
    May 12  D5 reversed: Export back in 1.1
    May 20  Export re-scored with RICE (800)
    Jun  1  1.1 slips to 06-29 by hand (no decision)
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.clock import now
from tests.api.driver import Api
from tests.support.builders import decision_body, move_body, retarget_body
from tests.support.clock import SimulatedClock

JAN_4 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
JAN_15 = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
JAN_31 = datetime(2027, 1, 31, 18, 0, tzinfo=UTC)
FEB_10 = datetime(2027, 2, 10, 14, 30, tzinfo=UTC)
FEB_20 = datetime(2027, 2, 20, 11, 0, tzinfo=UTC)
FEB_21 = datetime(2027, 2, 21, 9, 0, tzinfo=UTC)
FEB_25 = datetime(2027, 2, 25, 9, 0, tzinfo=UTC)
MAR_15 = datetime(2027, 3, 15, 16, 0, tzinfo=UTC)
MAR_31 = datetime(2027, 3, 31, 18, 0, tzinfo=UTC)
APR_5 = datetime(2027, 4, 5, 10, 0, tzinfo=UTC)
APR_10 = datetime(2027, 4, 10, 10, 0, tzinfo=UTC)
APR_20 = datetime(2027, 4, 20, 10, 0, tzinfo=UTC)
MAY_3 = datetime(2027, 5, 3, 10, 0, tzinfo=UTC)
MAY_12 = datetime(2027, 5, 12, 10, 0, tzinfo=UTC)
MAY_20 = datetime(2027, 5, 20, 10, 0, tzinfo=UTC)
JUN_1 = datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
JUN_30 = datetime(2027, 6, 30, 12, 0, tzinfo=UTC)

EXPORT_RICE = {"reach": 1000, "impact": 2, "confidence": 0.8, "effort": 4}  # = 400
EXPORT_RICE_LATER = {"reach": 2000, "impact": 2, "confidence": 0.8, "effort": 4}  # = 800
SHARE_RICE = {"reach": 500, "impact": 1, "confidence": 1, "effort": 2}  # = 250

D1_WHY = "1.0 must ship on its date for the launch partners; CSV needs the new API in 1.1"
D1_EVIDENCE = ["https://wiki.example.com/capacity-review-2027-02"]
HAND_SLIP_WHY = "QA found a data-loss bug in the sync engine"


@dataclass
class History:
    """The ids of the scenario's entities, and what the API answered at month ends."""

    ids: dict[str, str] = field(default_factory=dict)
    #: instant -> {"roadmap": ..., "export": feature GET, "r1": release GET (body, ETag)}
    snapshots: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    last_position: int = 0


def decide(api: Api, product: str, body: dict[str, Any],
           changes: list[dict[str, Any]]) -> str:
    """Propose a decision and accept it with ``changes``; returns its id."""
    decision = api.write(f"/products/{product}/decisions", body)["id"]
    api.write(f"/decisions/{decision}/accept", {"changes": changes})
    return decision


def snapshot(api: Api, history: History, position: int) -> None:
    ids = history.ids
    roadmap = api.read(f"/products/{ids['product']}/roadmap", after=position)
    export, r1 = api.get(f"/features/{ids['export']}"), api.get(f"/releases/{ids['r1']}")
    history.snapshots[now()] = {
        "roadmap": roadmap, "export": (export.json(), export.headers["ETag"]),
        "r1": (r1.json(), r1.headers["ETag"]),
        "ranking": api.read(f"/products/{ids['product']}/ranking")}


def six_months(api: Api, calendar: SimulatedClock) -> History:
    history = History()
    ids = history.ids

    calendar.now = JAN_4
    product = ids["product"] = api.create_product()["id"]
    ids["share"] = api.propose(product, "Share roadmaps", priority=3)["id"]
    ids["export"] = api.propose(product, "Export to CSV", priority=2)["id"]
    ids["sso"] = api.propose(product, "Single sign-on", priority=1)["id"]
    ids["dark"] = api.propose(product, "Dark mode", priority=0.5)["id"]
    ids["r1"] = api.plan(product, "1.0", "2027-03-01")["id"]
    ids["r2"] = api.plan(product, "1.1", "2027-06-01")["id"]
    ids["r3"] = api.plan(product, "2.0", "2027-09-01")["id"]
    api.schedule(ids["share"], ids["r1"], "Core of the first release")
    api.schedule(ids["export"], ids["r1"], "Customers asked for it in the beta")
    position = api.schedule(ids["sso"], ids["r2"], "Enterprise pilots need it")["position"]

    calendar.now = JAN_15
    api.write(f"/features/{ids['export']}/score",
              {"method": "rice", "inputs": EXPORT_RICE, "rationale": "Beta survey numbers"})
    position = api.write(f"/features/{ids['share']}/score",
                         {"method": "rice.v1", "inputs": SHARE_RICE,
                          "rationale": "Beta survey numbers"})["position"]

    calendar.now = JAN_31
    snapshot(api, history, position)

    calendar.now = FEB_10
    ids["d1"] = decide(api, product, decision_body("Move CSV export to 1.1", D1_WHY, D1_EVIDENCE),
                       [move_body(ids["export"], ids["r2"]),
                        retarget_body(ids["r1"], "2027-03-15")])

    calendar.now = FEB_20
    ids["d2"] = api.write(f"/products/{product}/decisions",
                          decision_body("Fast-track sharing", "Sales wants it for a demo"))["id"]
    refused = api.post(f"/decisions/{ids['d2']}/accept", {"changes": [
        {"kind": "change_priority", "feature_id": ids["share"], "priority": 9},
        {"kind": "change_status", "feature_id": ids["share"], "status": "done"}]})
    assert refused.status_code == 409, refused.text
    calendar.now = FEB_21
    api.write(f"/decisions/{ids['d2']}/reject", {"rationale": "Not worth skipping the review"})

    calendar.now = FEB_25
    ids["audit"] = api.propose(product, "Audit log", priority=2.5)["id"]
    for status in ("accepted", "in_progress", "done"):
        api.set_status(ids["share"], status, "Sprint progress")

    calendar.now = MAR_15
    position = api.ship(ids["r1"], "2027-03-15", "Shipped on the new date")["position"]

    calendar.now = MAR_31
    snapshot(api, history, position)

    calendar.now = APR_5
    ids["d3"] = decide(api, product, decision_body("Slip 1.1 to July", "SSO vendor is late"),
                       [retarget_body(ids["r2"], "2027-07-01"), move_body(ids["sso"], ids["r3"])])

    calendar.now = APR_20
    ids["d4"] = decide(api, product, decision_body(
        "Slip 1.1 to mid-June only", "Export alone can ship by mid-June",
        supersedes=ids["d3"]), [retarget_body(ids["r2"], "2027-06-15")])

    calendar.now = MAY_3
    ids["d5"] = decide(api, product, decision_body("Move CSV export to 2.0", "API rework"),
                       [move_body(ids["export"], ids["r3"])])

    calendar.now = MAY_12
    ids["d5_reversal"] = api.write(f"/decisions/{ids['d5']}/reverse", {
        "rationale": "The API rework was descoped", "evidence": ["https://wiki.example.com/a"]
    })["id"]

    calendar.now = MAY_20
    api.write(f"/features/{ids['export']}/score",
              {"method": "rice", "inputs": EXPORT_RICE_LATER, "rationale": "GA usage numbers"})

    calendar.now = JUN_1
    history.last_position = api.slip(ids["r2"], "2027-06-29", HAND_SLIP_WHY)["position"]

    calendar.now = JUN_30
    api.read(f"/products/{product}/roadmap", after=history.last_position)
    return history
