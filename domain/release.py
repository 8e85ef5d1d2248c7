"""Release: the *when*. A target date that slips or is pulled in, each time with a reason."""

from datetime import date
from uuid import UUID

from domain.base import DecisionLogAggregate
from domain.errors import RuleViolation
from domain.reasons import Reason
from domain.text import optional_text, required_text

NAME_MAX = 200
THEME_MAX = 2000

PLANNED = "planned"
SHIPPED = "shipped"
CANCELLED = "cancelled"


class Release(DecisionLogAggregate):
    """A planned release of a product; shipped on an actual date, or cancelled."""

    class Created(DecisionLogAggregate.Created):
        product_id: UUID
        name: str
        theme: str
        target_date: date

    class TargetDateChanged(DecisionLogAggregate.Changed):
        """A slip (later date, positive ``delta_days``) or a pull-in (earlier date)."""

        old_target_date: date
        target_date: date
        delta_days: int

        def apply(self, release: "Release") -> None:
            release.target_date = self.target_date

    class Shipped(DecisionLogAggregate.Changed):
        shipped_on: date

        def apply(self, release: "Release") -> None:
            release.state = SHIPPED
            release.shipped_on = self.shipped_on

    class Cancelled(DecisionLogAggregate.Changed):
        def apply(self, release: "Release") -> None:
            release.state = CANCELLED

    class FeatureAdded(DecisionLogAggregate.Changed):
        """A feature was scheduled into (or moved into) this release."""

        feature_id: UUID

        def apply(self, release: "Release") -> None:
            release.feature_ids.append(self.feature_id)

    class FeatureRemoved(DecisionLogAggregate.Changed):
        """A feature was moved out of this release or unscheduled to the backlog."""

        feature_id: UUID

        def apply(self, release: "Release") -> None:
            release.feature_ids.remove(self.feature_id)

    def __init__(
        self, product_id: UUID, name: str, theme: str, target_date: date, actor: str
    ) -> None:
        self.product_id = product_id
        self.name = name
        self.theme = theme
        self.target_date = target_date
        self.state = PLANNED
        self.shipped_on: date | None = None
        # The release is the consistency boundary for its scope: every scheduling
        # change writes here too, so a concurrent ship or cancel conflicts with it.
        self.feature_ids: list[UUID] = []

    @classmethod
    def plan(
        cls, *, product_id: UUID, name: str, target_date: date, actor: str, theme: str | None = None
    ) -> "Release":
        """Plan a new release of ``product_id`` for ``target_date``."""
        return cls._create(
            cls.Created,
            product_id=product_id,
            name=required_text(name, "The release name", NAME_MAX),
            theme=optional_text(theme, "The theme", THEME_MAX),
            target_date=target_date,
            actor=actor,
        )

    @property
    def is_open(self) -> bool:
        """Whether the release still takes scope and date changes."""
        return self.state == PLANNED

    def change_target_date(self, target_date: date, reason: Reason) -> None:
        """Slip or pull in the target date."""
        self.ensure_open("change its target date")
        if target_date == self.target_date:
            raise RuleViolation(
                f"Release '{self.name}' already targets {target_date.isoformat()}; "
                "give a different date."
            )
        delta = (target_date - self.target_date).days
        self.record(
            self.TargetDateChanged,
            reason,
            old_target_date=self.target_date,
            target_date=target_date,
            delta_days=delta,
        )

    def add_feature(self, feature_id: UUID, reason: Reason) -> None:
        """Take a feature into this release's scope."""
        self.ensure_open("schedule features into it")
        if feature_id in self.feature_ids:
            raise RuleViolation(f"That feature is already in release '{self.name}'.")
        self.record(self.FeatureAdded, reason, feature_id=feature_id)

    def remove_feature(self, feature_id: UUID, reason: Reason) -> None:
        """Drop a feature from this release's scope (moved elsewhere or to the backlog)."""
        self.ensure_open("move features out of it")
        if feature_id not in self.feature_ids:
            raise RuleViolation(f"That feature is not in release '{self.name}'.")
        self.record(self.FeatureRemoved, reason, feature_id=feature_id)

    def ship(self, shipped_on: date, reason: Reason) -> None:
        """Mark the release shipped on its actual date."""
        self.ensure_open("ship it")
        self.record(self.Shipped, reason, shipped_on=shipped_on)

    def cancel(self, reason: Reason) -> None:
        """Cancel the release; its scope goes back to the backlog (see the application)."""
        self.ensure_open("cancel it")
        self.record(self.Cancelled, reason)

    def ensure_open(self, action: str) -> None:
        """Refuse ``action`` on a shipped or cancelled release."""
        if not self.is_open:
            raise RuleViolation(
                f"Release '{self.name}' is {self.state}; you can no longer {action}."
            )
