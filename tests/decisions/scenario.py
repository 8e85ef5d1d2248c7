"""A product with features and releases, built through the real commands (as
:data:`tests.support.builders.KNOW_WHY`)."""

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from services.commands.application import DecisionLog
from tests.support.builders import ACTOR, JUNE_1, KNOW_WHY, MARCH_1, SEPTEMBER_1, by

PAT = ACTOR
KIM = "kim@example.com"


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
        return KNOW_WHY.a_decision(self.log, self.product, **overrides)

    def release_of(self, feature_id: UUID) -> UUID | None:
        return self.log.get_feature(feature_id).release_id

    def target_of(self, release_id: UUID) -> date:
        return self.log.get_release(release_id).target_date


def a_roadmap(log: DecisionLog, name: str = "Ledger") -> Roadmap:
    product = KNOW_WHY.a_product(log, name)
    r1, r2, r3 = (KNOW_WHY.a_release(log, product, n, d)
                  for n, d in (("1.0", MARCH_1), ("2.0", JUNE_1), ("3.0", SEPTEMBER_1)))
    csv = KNOW_WHY.a_feature(log, product, "CSV export", priority=5)
    pdf = KNOW_WHY.a_feature(log, product, "PDF export", priority=3)
    log.schedule_feature(csv, r1, by(PAT))
    return Roadmap(log, product, r1, r2, r3, csv, pdf)


def events_after(log: DecisionLog, position: int) -> list[Any]:
    """The stored events after ``position``, in log order."""
    notifications = log.recorder.select_notifications(position, 1000, inclusive_of_start=False)
    return [log.mapper.to_domain_event(n) for n in notifications]
