"""Six simulated months of one product's roadmap, driven through the real commands.

Each month happens on its own days; at each month's end the test takes the current
roadmap from the views, to compare later with the roadmap read *as of* that instant.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from domain.reasons import Reason
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from tests.support.builders import BOOKS, by
from tests.support.clock import MONTH_NAMES, SimulatedClock

MONTHS = MONTH_NAMES[:6]
YEAR = 2026


@dataclass
class History:
    """The ids of the story and what the roadmap was at each month's end."""

    log: DecisionLog
    views: Views
    product: UUID
    releases: dict[str, UUID] = field(default_factory=dict)
    features: dict[str, UUID] = field(default_factory=dict)
    decision: UUID | None = None
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)

    def release(self, name: str, target: date) -> None:
        self.releases[name] = BOOKS.a_release(self.log, self.product, name, target,
                                              theme=f"{name} goals")

    def feature(self, title: str, priority: float, *requirements: str) -> None:
        self.features[title] = BOOKS.a_feature(
            self.log, self.product, title, priority,
            requirements=[{"text": r, "acceptance_criteria": ["Demoed"]} for r in requirements])

    def schedule(self, title: str, release: str, reason: Reason) -> None:
        self.log.schedule_feature(self.features[title], self.releases[release], reason)

    def status(self, title: str, *statuses: str, actor: str = "bob") -> None:
        for status in statuses:
            self.log.change_feature_status(self.features[title], status,
                                           by(actor, "Work progressed"))


def six_months(log: DecisionLog, views: Views, catchup: StoreCatchUp,
               calendar: SimulatedClock) -> History:
    """Run every month of the story, snapshotting the roadmap at each month's end."""
    product = BOOKS.a_product(log)
    history = History(log, views, product)
    months: list[Callable[[History], None]] = [january, february, march, april, may, june]
    for month, play in zip(MONTHS, months, strict=True):
        calendar.on(month, 2, YEAR)  # the first working morning of the month
        play(history)
        catchup.run_until_caught_up()
        roadmap = views.roadmap(product)
        assert roadmap is not None
        history.snapshots[month] = roadmap
    return history


def january(h: History) -> None:
    for name, target in [("Beta", date(2026, 2, 27)), ("1.0", date(2026, 3, 31)),
                         ("1.1", date(2026, 6, 30)), ("2.0", date(2026, 9, 30))]:
        h.release(name, target)
    h.feature("Export", 5, "Export to CSV")
    for title, priority in [("Import", 3), ("SSO", 8), ("Dark mode", 1), ("Legacy sync", 2),
                            ("Audit log", 5)]:
        h.feature(title, priority)
    h.schedule("Export", "1.0", by("alice", "Customers asked"))
    h.schedule("SSO", "1.0", by("alice", "Enterprise deal"))
    h.schedule("Import", "1.1", by("alice", "Pairs with export"))
    h.schedule("Dark mode", "Beta", by("alice", "Try it on beta users"))
    h.status("SSO", "accepted", "in_progress")


def february(h: History) -> None:
    h.schedule("Export", "1.1", by("bob", "Too big for 1.0"))
    h.log.change_target_date(h.releases["1.0"], date(2026, 4, 14),
                             by("carol", "Vendor API late", "https://tickets/42"))
    h.log.change_feature_status(h.features["Legacy sync"], "rejected",
                                by("carol", "Nobody uses it"))
    h.log.change_priority(h.features["Audit log"], 9, by("olivia", "Compliance deals"))
    h.schedule("Audit log", "2.0", by("alice", "Compliance quarter"))
    h.log.cancel_release(h.releases["Beta"], by("carol", "Beta programme stopped"))


def march(h: History) -> None:
    h.decision = h.log.propose_decision(
        h.product, actor="kim", title="Export waits for the new engine",
        context="Export on the old engine would be rewritten within a quarter.",
        options=[{"name": "Ship on the old engine"}, {"name": "Wait for the new engine"}],
        chosen_option="Wait for the new engine", rationale="Build it once, on the new engine.",
        evidence=["https://wiki/engine"], deciders=["kim"]).id
    h.log.accept_decision(h.decision, [MoveFeature(h.features["Export"], h.releases["2.0"]),
                                       ChangeTargetDate(h.releases["1.1"], date(2026, 6, 20))],
                          actor="kim")
    h.log.revise_requirement(h.features["Export"], "R1", "Export to CSV and XLSX",
                             ["Demoed", "Opens in Excel"], by("alice", "Customers use XLSX"))
    h.log.add_requirement(h.features["Export"], "Export on a schedule", ["Runs nightly"],
                          by("alice", "Asked by accountants"))
    h.status("SSO", "done")
    h.release("3.0", date(2026, 12, 15))
    h.feature("Reports", 4)
    h.schedule("Reports", "3.0", by("alice", "Needs the new engine too"))


def april(h: History) -> None:
    h.log.ship_release(h.releases["1.0"], date(2026, 4, 2),  # this morning: early
                       by("carol", "Release train left"))
    h.status("Import", "accepted", actor="olivia")
    h.log.change_target_date(h.releases["2.0"], date(2026, 9, 20),
                             by("pat", "Less scope than planned"))
    h.status("Dark mode", "deferred", actor="olivia")


def may(h: History) -> None:
    h.schedule("Export", "1.1", by("bob", "The engine came early"))
    h.schedule("Export", "2.0", by("bob", "The engine is late after all"))
    h.log.change_target_date(h.releases["1.1"], date(2026, 7, 15),
                             by("carol", "Import needs more testing"))


def june(h: History) -> None:
    h.status("Import", "in_progress")
    h.log.change_priority(h.features["Reports"], 6, by("olivia", "Board wants numbers"))
