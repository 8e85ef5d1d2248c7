"""Product: the vision, value and strategy that every feature and release serves."""

from domain.base import DecisionLogAggregate
from domain.errors import RuleViolation
from domain.reasons import Reason
from domain.text import optional_text, required_text

NAME_MAX = 200
LONG_TEXT_MAX = 4000


class Product(DecisionLogAggregate):
    """A product, created by its owner and revised over time, each revision with its reason."""

    class Created(DecisionLogAggregate.Created):
        name: str
        vision: str
        value_proposition: str
        target_customers: str
        strategy: str
        owner: str

    class VisionRevised(DecisionLogAggregate.Changed):
        old_vision: str
        vision: str

        def apply(self, product: "Product") -> None:
            product.vision = self.vision

    class StrategyRevised(DecisionLogAggregate.Changed):
        old_strategy: str
        strategy: str

        def apply(self, product: "Product") -> None:
            product.strategy = self.strategy

    class Retired(DecisionLogAggregate.Changed):
        def apply(self, product: "Product") -> None:
            product.retired = True

    def __init__(
        self,
        name: str,
        vision: str,
        value_proposition: str,
        target_customers: str,
        strategy: str,
        owner: str,
        actor: str,
    ) -> None:
        self.name = name
        self.vision = vision
        self.value_proposition = value_proposition
        self.target_customers = target_customers
        self.strategy = strategy
        self.owner = owner
        self.retired = False

    @classmethod
    def create(
        cls,
        *,
        name: str,
        vision: str,
        value_proposition: str,
        target_customers: str,
        owner: str,
        actor: str,
        strategy: str | None = None,
    ) -> "Product":
        """Start a product's history."""
        return cls._create(
            cls.Created,
            name=required_text(name, "The product name", NAME_MAX),
            vision=required_text(vision, "The vision", LONG_TEXT_MAX),
            value_proposition=required_text(
                value_proposition, "The value proposition", LONG_TEXT_MAX
            ),
            target_customers=required_text(target_customers, "The target customers", LONG_TEXT_MAX),
            strategy=optional_text(strategy, "The strategy", LONG_TEXT_MAX),
            owner=required_text(owner, "The owner", NAME_MAX),
            actor=actor,
        )

    def revise_vision(self, vision: str, reason: Reason) -> None:
        """Replace the vision; the old one stays in the history."""
        self.ensure_active()
        new = required_text(vision, "The vision", LONG_TEXT_MAX)
        if new == self.vision:
            raise RuleViolation("The vision is already exactly that; nothing to revise.")
        self.record(self.VisionRevised, reason, old_vision=self.vision, vision=new)

    def revise_strategy(self, strategy: str, reason: Reason) -> None:
        """Replace the strategy; the old one stays in the history."""
        self.ensure_active()
        new = required_text(strategy, "The strategy", LONG_TEXT_MAX)
        if new == self.strategy:
            raise RuleViolation("The strategy is already exactly that; nothing to revise.")
        self.record(self.StrategyRevised, reason, old_strategy=self.strategy, strategy=new)

    def retire(self, reason: Reason) -> None:
        """Retire the product: it takes no new features or releases."""
        self.ensure_active()
        self.record(self.Retired, reason)

    def ensure_active(self) -> None:
        """Refuse changes to a retired product."""
        if self.retired:
            raise RuleViolation(f"Product '{self.name}' is retired and can no longer change.")
