"""A product with features and releases, built through the real commands."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.reasons import Reason
from services.commands.application import DecisionLog
from tests.decisions.builders import DECISION, decision_details

PAT = "pat@example.com"
KIM = "kim@example.com"
MARCH_1 = date(2027, 3, 1)
JUNE_1 = date(2027, 6, 1)
SEPTEMBER_1 = date(2027, 9, 1)


def by(actor: str, rationale: str = "It came up in review.") -> Reason:
    return Reason(actor=actor, rationale=rationale)


@dataclass
class Roadmap:
    """One product: releases 1.0, 2.0, 3.0; CSV export in 1.0, PDF export in the backlog."""

    log: DecisionLog
    product: UUID
    r1: UUID
    r2: UUID
    r3: UUID
    csv: UUID
    pdf: UUID

    def propose(self, **overrides: Any) -> UUID:
        """Propose a decision choosing its title over keeping the plan."""
        title = overrides.get("title", DECISION["title"])
        overrides = {"options": [{"name": "Keep the plan"}, {"name": title}],
                     "chosen_option": title, **overrides}
        details = {k: v for k, v in decision_details(**overrides).items()
                   if k not in ("product_id", "actor")}
        return self.log.propose_decision(self.product, actor=PAT, **details).id

    def release_of(self, feature_id: UUID) -> UUID | None:
        return self.log.get_feature(feature_id).release_id

    def target_of(self, release_id: UUID) -> date:
        return self.log.get_release(release_id).target_date


def feature(log: DecisionLog, product: UUID, title: str, priority: float = 0) -> UUID:
    return log.propose_feature(product, actor=PAT, title=title, problem="Retyping.",
                               business_value="Seats kept.", benefit=f"{title} in one click.",
                               priority=priority).id


def a_roadmap(log: DecisionLog, name: str = "Ledger") -> Roadmap:
    product = log.create_product(name=name, vision="Know why.", value_proposition="Findable.",
                                 target_customers="Product teams", owner="Alex", actor=PAT).id
    r1, r2, r3 = (log.plan_release(product, actor=PAT, name=n, target_date=d).id
                  for n, d in (("1.0", MARCH_1), ("2.0", JUNE_1), ("3.0", SEPTEMBER_1)))
    csv = feature(log, product, "CSV export", priority=5)
    pdf = feature(log, product, "PDF export", priority=3)
    log.schedule_feature(csv, r1, by(PAT))
    return Roadmap(log, product, r1, r2, r3, csv, pdf)


def events_after(log: DecisionLog, position: int) -> list[Any]:
    """The stored events after ``position``, in log order."""
    notifications = log.recorder.select_notifications(position, 1000, inclusive_of_start=False)
    return [log.mapper.to_domain_event(n) for n in notifications]
