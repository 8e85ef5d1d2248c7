"""Building blocks for projection tests: a controllable clock and a roadmap story."""

import random
import sqlite3
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from contract.changes import Change, change_from_event
from domain.reasons import Reason
from services.commands.application import DecisionLog
from tests.support.clock import SimulatedClock

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Clock(SimulatedClock):
    """A clock for :func:`domain.clock.use_clock`: each reading is one second later."""

    now: datetime = START
    step: timedelta = timedelta(seconds=1)

    def jump(self, **delta: float) -> datetime:
        """Move time forward and return the instant just before anything new happens."""
        self.now += timedelta(**delta)
        return self.now


def because(rationale: str = "It came up in review.", actor: str = "alice",
            *evidence: str) -> Reason:
    return Reason(actor=actor, rationale=rationale, evidence=evidence)


def a_product(log: DecisionLog, name: str = "Ledger") -> UUID:
    return log.create_product(
        actor="olivia", name=name, vision="Books that balance themselves",
        value_proposition="Close the month in a day", target_customers="Small firms",
        owner="olivia",
    ).id


def a_feature(log: DecisionLog, product_id: UUID, title: str, priority: float = 0) -> UUID:
    return log.propose_feature(
        product_id, actor="alice", title=title, problem=f"No {title.lower()}",
        business_value="Retention", benefit=f"You get {title.lower()}", priority=priority,
    ).id


def a_release(log: DecisionLog, product_id: UUID, name: str, target_date: date) -> UUID:
    return log.plan_release(product_id, actor="alice", name=name, target_date=target_date,
                            theme=f"Theme of {name}").id


def done(log: DecisionLog, feature_id: UUID) -> None:
    for status in ("accepted", "in_progress", "done"):
        log.change_feature_status(feature_id, status, because("Work progressed", "bob"))


@dataclass
class Story:
    """The ids of a product whose roadmap went through schedule, move, slip, reject,
    ship and cancel (see :func:`roadmap_story`)."""

    product: UUID
    releases: dict[str, UUID] = field(default_factory=dict)
    features: dict[str, UUID] = field(default_factory=dict)


def roadmap_story(log: DecisionLog) -> Story:
    """Plan four releases and six features, then schedule, move, slip, reject, ship, cancel."""
    story = Story(a_product(log))
    for name, target in [("1.0", date(2026, 3, 1)), ("1.1", date(2026, 6, 1)),
                         ("2.0", date(2026, 9, 1)), ("Beta", date(2026, 2, 1))]:
        story.releases[name] = a_release(log, story.product, name, target)
    for title, priority in [("Export", 5), ("Import", 3), ("SSO", 8), ("Dark mode", 1),
                            ("Legacy sync", 2), ("Audit log", 5)]:
        story.features[title] = a_feature(log, story.product, title, priority)
    f, r = story.features, story.releases
    log.schedule_feature(f["Export"], r["1.0"], because("Customers asked"))
    log.schedule_feature(f["SSO"], r["1.0"], because("Enterprise deal"))
    log.schedule_feature(f["Import"], r["1.0"], because("Pairs with export"))
    log.schedule_feature(f["Dark mode"], r["Beta"], because("Try it on beta users"))
    log.schedule_feature(f["Export"], r["1.1"], because("Too big for 1.0", "bob"))
    log.change_target_date(r["1.1"], date(2026, 6, 15),
                           because("Vendor API late", "carol", "https://tickets/42"))
    log.change_feature_status(f["Legacy sync"], "rejected", because("Nobody uses it", "carol"))
    done(log, f["SSO"])
    log.ship_release(r["1.0"], date(2026, 3, 3), because("Release train left", "carol"))
    log.cancel_release(r["Beta"], because("Beta programme stopped", "carol"))
    return story


def changes_of(log: DecisionLog) -> list[Change]:
    """Every stored event as a public change, in log order."""
    notifications = log.recorder.select_notifications(start=0, limit=100_000,
                                                      inclusive_of_start=False)
    return [change_from_event(log.mapper.to_domain_event(n), n.id)  # type: ignore[arg-type]
            for n in notifications]


def interleaved(changes: list[Change], seed: int) -> list[Change]:
    """``changes`` shuffled across entities, each entity's own changes still in order."""
    queues: dict[str, deque[Change]] = defaultdict(deque)
    for change in changes:
        queues[change.entity_id].append(change)
    rng, result = random.Random(seed), []
    while queues:
        entity = rng.choice(sorted(queues))
        result.append(queues[entity].popleft())
        if not queues[entity]:
            del queues[entity]
    return result


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite file, in a stable order."""
    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        conn.close()
