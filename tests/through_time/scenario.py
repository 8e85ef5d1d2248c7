"""Six simulated months of one product's roadmap, driven through the real commands.

Each month happens on its own days; at each month's end the test takes the current
roadmap from the views, to compare later with the roadmap read *as of* that instant.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.reasons import Reason
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from tests.support.clock import SimulatedClock

MONTHS = ("January", "February", "March", "April", "May", "June")
YEAR = 2026


@dataclass
class Calendar(SimulatedClock):
    """A clock for :func:`domain.clock.use_clock`: each reading is one minute later."""

    now: datetime = datetime(YEAR, 1, 5, 9, 0, tzinfo=UTC)
    step: timedelta = timedelta(minutes=1)

    def start(self, month: str) -> None:
        """Turn the calendar to the first working morning of ``month``."""
        self.now = datetime(YEAR, MONTHS.index(month) + 1, 2, 9, 0, tzinfo=UTC)

    @staticmethod
    def end(month: str) -> datetime:
        """The last instant of ``month``."""
        first_of_next = datetime(YEAR, MONTHS.index(month) + 2, 1, tzinfo=UTC)
        return first_of_next - timedelta(microseconds=1)


def because(actor: str, rationale: str, *evidence: str) -> Reason:
    return Reason(actor=actor, rationale=rationale, evidence=evidence)


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
        self.releases[name] = self.log.plan_release(
            self.product, actor="alice", name=name, target_date=target, theme=f"{name} goals").id

    def feature(self, title: str, priority: float, *requirements: str) -> None:
        self.features[title] = self.log.propose_feature(
            self.product, actor="alice", title=title, problem=f"No {title.lower()}",
            business_value="Retention", benefit=f"You get {title.lower()}", priority=priority,
            requirements=[{"text": r, "acceptance_criteria": ["Demoed"]} for r in requirements],
        ).id

    def schedule(self, title: str, release: str, reason: Reason) -> None:
        self.log.schedule_feature(self.features[title], self.releases[release], reason)

    def status(self, title: str, *statuses: str, actor: str = "bob") -> None:
        for status in statuses:
            self.log.change_feature_status(self.features[title], status,
                                           because(actor, "Work progressed"))


def six_months(log: DecisionLog, views: Views, catchup: StoreCatchUp,
               calendar: Calendar) -> History:
    """Run every month of the story, snapshotting the roadmap at each month's end."""
    product = log.create_product(
        actor="olivia", name="Ledger", vision="Books that balance themselves",
        value_proposition="Close the month in a day", target_customers="Small firms",
        owner="olivia").id
    history = History(log, views, product)
    months: list[Callable[[History], None]] = [january, february, march, april, may, june]
    for month, play in zip(MONTHS, months, strict=True):
        calendar.start(month)
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
    h.schedule("Export", "1.0", because("alice", "Customers asked"))
    h.schedule("SSO", "1.0", because("alice", "Enterprise deal"))
    h.schedule("Import", "1.1", because("alice", "Pairs with export"))
    h.schedule("Dark mode", "Beta", because("alice", "Try it on beta users"))
    h.status("SSO", "accepted", "in_progress")


def february(h: History) -> None:
    h.schedule("Export", "1.1", because("bob", "Too big for 1.0"))
    h.log.change_target_date(h.releases["1.0"], date(2026, 4, 14),
                             because("carol", "Vendor API late", "https://tickets/42"))
    h.log.change_feature_status(h.features["Legacy sync"], "rejected",
                                because("carol", "Nobody uses it"))
    h.log.change_priority(h.features["Audit log"], 9, because("olivia", "Compliance deals"))
    h.schedule("Audit log", "2.0", because("alice", "Compliance quarter"))
    h.log.cancel_release(h.releases["Beta"], because("carol", "Beta programme stopped"))


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
                             ["Demoed", "Opens in Excel"], because("alice", "Customers use XLSX"))
    h.log.add_requirement(h.features["Export"], "Export on a schedule", ["Runs nightly"],
                          because("alice", "Asked by accountants"))
    h.status("SSO", "done")
    h.release("3.0", date(2026, 12, 15))
    h.feature("Reports", 4)
    h.schedule("Reports", "3.0", because("alice", "Needs the new engine too"))


def april(h: History) -> None:
    h.log.ship_release(h.releases["1.0"], date(2026, 4, 14),
                       because("carol", "Release train left"))
    h.status("Import", "accepted", actor="olivia")
    h.log.change_target_date(h.releases["2.0"], date(2026, 9, 20),
                             because("pat", "Less scope than planned"))
    h.status("Dark mode", "deferred", actor="olivia")


def may(h: History) -> None:
    h.schedule("Export", "1.1", because("bob", "The engine came early"))
    h.schedule("Export", "2.0", because("bob", "The engine is late after all"))
    h.log.change_target_date(h.releases["1.1"], date(2026, 7, 15),
                             because("carol", "Import needs more testing"))


def june(h: History) -> None:
    h.status("Import", "in_progress")
    h.log.change_priority(h.features["Reports"], 6, because("olivia", "Board wants numbers"))
