"""Release: the *when*. A target date that slips or is pulled in, each time with a reason."""

from datetime import date, timedelta
from uuid import UUID

from domain import clock
from domain.base import DecisionLogAggregate
from domain.errors import InvalidCommand, RuleViolation
from domain.reasons import Reason
from domain.text import optional_text, required_text

NAME_MAX = 200
THEME_MAX = 2000

#: A calendar day begins first at UTC+14 and ends last at UTC-12: a date is "today"
#: somewhere on Earth from its start at UTC+14 to its end at UTC-12.
FIRST_ZONE = timedelta(hours=14)
LAST_ZONE = timedelta(hours=-12)

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
        """Mark the release shipped on its actual date: a day that has begun (somewhere on
        Earth), and not before the day the release was planned."""
        self.ensure_open("ship it")
        self.ensure_past_ship_date(shipped_on)
        self.record(self.Shipped, reason, shipped_on=shipped_on)

    def ensure_past_ship_date(self, shipped_on: date) -> None:
        """Refuse a ship date in the future, or before the release was planned."""
        latest = (clock.now() + FIRST_ZONE).date()
        if shipped_on > latest:
            raise InvalidCommand(
                f"Release '{self.name}' cannot have shipped on {shipped_on.isoformat()}: that "
                f"day is in the future (the latest date anywhere on Earth is "
                f"{latest.isoformat()}); record the ship once it has happened."
            )
        earliest = (self.created_on + LAST_ZONE).date()
        if shipped_on < earliest:
            raise InvalidCommand(
                f"Release '{self.name}' cannot have shipped on {shipped_on.isoformat()}: it "
                f"was planned later, on {self.created_on.date().isoformat()} (UTC); a "
                "release ships on or after the day it was planned."
            )

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
