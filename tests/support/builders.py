"""The one set of builders every test starts from.

* Reasons for a change: :func:`because` and :func:`by`.
* Fixed dates, and the fields of new aggregates (:data:`PRODUCT`, :data:`FEATURE`, ...).
* Aggregates built in memory, with no store: :func:`a_product`, :func:`a_feature`,
  :func:`a_release`, :func:`a_decision`, and past histories (:func:`feature_history`).
* The same entities created through a decision log's real commands: the methods of a
  :class:`Team` (``LEDGER.a_feature(log, product_id)``), and :func:`advance` /
  :func:`scheduled` for what happens to them next.
* The bodies of HTTP requests: :data:`PRODUCT_BODY`, :func:`feature_body`,
  :func:`decision_body`, ...

Suites were written with different people and different words, and their assertions rely on
them: each :class:`Team` holds one suite's values, so none of them changes and every
difference is a visible argument. Simulated time is in :mod:`tests.support.clock`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from domain import clock
from domain.decision import Decision
from domain.feature import (
    ACCEPTED,
    DEFERRED,
    DONE,
    IN_PROGRESS,
    PROPOSED,
    REJECTED,
    SHIPPED,
    Feature,
)
from domain.product import Product
from domain.reasons import Reason
from domain.release import Release
from services.commands.application import DecisionLog
from tests.support.gwt import Event, recorded

# Reasons

#: Who acts, unless a test names someone else.
ACTOR = "pat@example.com"
#: Why, unless a test says why.
REVIEWED = "It came up in review."


def because(rationale: str = REVIEWED, *evidence: str, actor: str = ACTOR) -> Reason:
    """The reason for a change, made by :data:`ACTOR` unless ``actor`` is named."""
    return Reason(actor=actor, rationale=rationale, evidence=evidence)


def by(actor: str, rationale: str = REVIEWED, *evidence: str) -> Reason:
    """The reason for a change made by ``actor``."""
    return because(rationale, *evidence, actor=actor)


# Fixed dates and ids

def today() -> date:
    """Today (UTC) by the domain clock: a day a release planned today may ship on (a ship
    date is neither in the future nor before the release was planned)."""
    return clock.now().date()


MARCH_1 = date(2027, 3, 1)
JUNE_1 = date(2027, 6, 1)
SEPTEMBER_1 = date(2027, 9, 1)

PRODUCT_ID = UUID("00000000-0000-4000-8000-000000000001")


def a_release_id() -> UUID:
    return uuid4()


def another_decision_id() -> UUID:
    return uuid4()


# The fields of new aggregates

PRODUCT: dict[str, Any] = {
    "name": "Ledger",
    "vision": "Every team knows why it builds what it builds.",
    "value_proposition": "Decisions you can find again.",
    "target_customers": "Product teams of 5 to 50",
    "owner": "Alex",
    "actor": ACTOR,
}

FEATURE: dict[str, Any] = {
    "product_id": PRODUCT_ID,
    "title": "Export to CSV",
    "problem": "Analysts retype the roadmap into spreadsheets.",
    "business_value": "Fewer churned analyst seats.",
    "benefit": "Take your roadmap anywhere in one click.",
    "actor": ACTOR,
}

RELEASE: dict[str, Any] = {
    "product_id": PRODUCT_ID,
    "name": "2.0",
    "target_date": MARCH_1,
    "actor": ACTOR,
}

OPTIONS: list[dict[str, Any]] = [
    {"name": "Ship CSV export in 1.0", "description": "Keep the scope.",
     "pros": ["Analysts stop retyping"], "cons": ["1.0 slips two weeks"]},
    {"name": "Move CSV export to 2.0", "pros": ["1.0 ships on time"],
     "cons": ["Analysts wait a quarter"]},
]

DECISION: dict[str, Any] = {
    "product_id": PRODUCT_ID,
    "title": "Move CSV export to 2.0",
    "context": "1.0 is at risk; CSV export is the largest open item.",
    "options": OPTIONS,
    "chosen_option": "Move CSV export to 2.0",
    "rationale": "Launch partners need 1.0 on its date more than they need CSV.",
    "evidence": ["https://wiki.example.com/launch-partners"],
    "deciders": ["alex@example.com"],
    "consulted": ["sales@example.com"],
    "actor": ACTOR,
}

#: The status changes that take a proposed feature to each status.
PATH_TO: dict[str, list[str]] = {
    PROPOSED: [],
    ACCEPTED: [ACCEPTED],
    IN_PROGRESS: [ACCEPTED, IN_PROGRESS],
    DONE: [ACCEPTED, IN_PROGRESS, DONE],
    SHIPPED: [ACCEPTED, IN_PROGRESS, DONE, SHIPPED],
    REJECTED: [REJECTED],
    DEFERRED: [DEFERRED],
}


# Aggregates, in memory


def a_product(**overrides: Any) -> Product:
    return Product.create(**{**PRODUCT, **overrides})


def a_feature(**overrides: Any) -> Feature:
    return Feature.propose(**{**FEATURE, **overrides})


def a_release(**overrides: Any) -> Release:
    return Release.plan(**{**RELEASE, **overrides})


def decision_details(**overrides: Any) -> dict[str, Any]:
    """The fields of a decision proposal, with ``overrides``."""
    return {**DECISION, **overrides}


def a_decision(**overrides: Any) -> Decision:
    return Decision.propose(**decision_details(**overrides))


def move_to(status: str) -> Any:
    """A command taking the feature to ``status`` (shipping goes through ``ship``)."""
    if status == SHIPPED:
        return lambda f: f.ship(because("Its release shipped."))
    return lambda f: f.change_status(status, because())


def schedule_in(release_id: UUID) -> Any:
    return lambda f: f.schedule(release_id, because())


def feature_history(status: str = PROPOSED, *then: Any, **details: Any) -> list[Event]:
    """A feature proposed, moved along the lifecycle to ``status``, then ``then`` commands."""
    return recorded(a_feature(**details), *map(move_to, PATH_TO[status]), *then)


# Entities, through a decision log's commands


def worded(value: Any, **names: str) -> Any:
    """``value`` with the ``{placeholders}`` of its text (also inside lists and dicts) filled
    in from ``names``."""
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [worded(item, **names) for item in value]
    if isinstance(value, Mapping):
        return {key: worded(item, **names) for key, item in value.items()}
    return value


def advance(log: DecisionLog, feature_id: UUID, status: str,
            reason: Reason | None = None) -> None:
    """Take a proposed feature along the lifecycle to ``status`` (shipping goes through
    ``ship_release``), each step for ``reason`` (:func:`because` unless given)."""
    for step in PATH_TO[status]:
        log.change_feature_status(feature_id, step, reason or because())


def scheduled(log: DecisionLog, feature_id: UUID, release_id: UUID) -> UUID:
    """Schedule the feature in the release (for :func:`because`); returns the feature."""
    log.schedule_feature(feature_id, release_id, because())
    return feature_id


@dataclass(frozen=True)
class Team:
    """Creates entities through a decision log's real commands, with one suite's values.

    Each field holds what a command is given unless the test says otherwise (keyword
    arguments override it). In their text, ``{title}`` and ``{lower}`` stand for the
    feature's or decision's title (as given, and lower-cased), ``{name}`` for the release's.
    """

    #: ``create_product``'s fields.
    product: Mapping[str, Any]
    #: ``propose_feature``'s fields but the product and title.
    feature: Mapping[str, Any]
    #: ``plan_release``'s fields but the product (a name and target date, if the suite's
    #: releases have defaults).
    release: Mapping[str, Any]
    #: ``propose_decision``'s fields but the product.
    decision: Mapping[str, Any] = field(default_factory=dict)

    def a_product(self, log: DecisionLog, name: str | None = None, **overrides: Any) -> UUID:
        named = {} if name is None else {"name": name}
        return log.create_product(**{**self.product, **named, **overrides}).id

    def a_feature(self, log: DecisionLog, product_id: UUID, title: str = FEATURE["title"],
                  priority: float | None = None, *, status: str = PROPOSED,
                  **overrides: Any) -> UUID:
        """A feature proposed, then moved along the lifecycle to ``status`` (see
        :func:`advance`)."""
        fields = worded(self.feature, title=title, lower=title.lower())
        if priority is not None:
            fields["priority"] = priority
        feature_id: UUID = log.propose_feature(product_id, title=title,
                                               **{**fields, **overrides}).id
        advance(log, feature_id, status)
        return feature_id

    def a_release(self, log: DecisionLog, product_id: UUID, name: str | None = None,
                  target_date: date | None = None, **overrides: Any) -> UUID:
        name = self.release["name"] if name is None else name
        fields = {**worded(self.release, name=name), "name": name}
        if target_date is not None:
            fields["target_date"] = target_date
        return log.plan_release(product_id, **{**fields, **overrides}).id

    def a_decision(self, log: DecisionLog, product_id: UUID, title: str | None = None,
                   **overrides: Any) -> UUID:
        title = self.decision["title"] if title is None else title
        fields = {**worded(self.decision, title=title, lower=title.lower()), "title": title}
        return log.propose_decision(product_id, **{**fields, **overrides}).id


#: Pat's "Ledger", with the aggregates' fields above; releases are planned by "pat".
LEDGER = Team(
    product=PRODUCT,
    feature={k: v for k, v in FEATURE.items() if k not in ("product_id", "title")},
    release={"actor": "pat", "name": "1.0", "target_date": MARCH_1},
)

#: Olivia's "Ledger", books that balance themselves: alice proposes and plans, dana decides.
BOOKS = Team(
    product={"actor": "olivia", "name": "Ledger", "vision": "Books that balance themselves",
             "value_proposition": "Close the month in a day", "target_customers": "Small firms",
             "owner": "olivia"},
    feature={"actor": "alice", "problem": "No {lower}", "business_value": "Retention",
             "benefit": "You get {lower}", "priority": 0},
    release={"actor": "alice", "theme": "Theme of {name}"},
    decision={"actor": "dana", "context": "Export is late",
              "options": [{"name": "Keep"}, {"name": "Move"}], "chosen_option": "Move",
              "rationale": "Ship 1.0 on time", "deciders": ["dana"]},
)

#: Pat's "Ledger" of the decision tests, to know why: each decision chooses its title over
#: keeping the plan.
KNOW_WHY = Team(
    product={"name": "Ledger", "vision": "Know why.", "value_proposition": "Findable.",
             "target_customers": "Product teams", "owner": "Alex", "actor": ACTOR},
    feature={"actor": ACTOR, "problem": "Retyping.", "business_value": "Seats kept.",
             "benefit": "{title} in one click.", "priority": 0},
    release={"actor": ACTOR},
    decision={**{k: v for k, v in DECISION.items() if k != "product_id"},
              "options": [{"name": "Keep the plan"}, {"name": "{title}"}],
              "chosen_option": "{title}"},
)

#: Pat's "Atlas" of the Kafka tests: every feature has one requirement.
ATLAS = Team(
    product={"actor": ACTOR, "name": "Atlas", "vision": "Plan in the open.",
             "value_proposition": "Every decision explained.",
             "target_customers": "Product teams", "owner": "Pat"},
    feature={"actor": ACTOR, "problem": "{title} is missing.", "business_value": "Retention",
             "benefit": "You get {title}.", "priority": 1.0,
             "requirements": [{"text": "It works", "acceptance_criteria": ["a test passes"]}]},
    release={"actor": ACTOR},
)

#: pm's "Roadmaps" of the group-commit tests: terse features.
ROADMAPS = Team(
    product={"name": "Roadmaps", "vision": "Clear plans.", "value_proposition": "Focus.",
             "target_customers": "Product teams.", "owner": "pm", "actor": "pm"},
    feature={"actor": "pm", "problem": "Slow.", "business_value": "Time.",
             "benefit": "Faster."},
    release={"actor": "pm"},
)


# Bodies of HTTP requests

PRODUCT_BODY: dict[str, Any] = {
    "name": "Atlas", "vision": "Every team plans in the open.",
    "value_proposition": "One place for the why, what and when.",
    "target_customers": "Product teams", "owner": "Dana (Head of Product)",
}


def feature_body(title: str, priority: float = 0) -> dict[str, Any]:
    return {"title": title, "problem": f"Why {title}", "business_value": "Retention",
            "benefit": f"You can {title.lower()}", "priority": priority}


def decision_body(title: str, rationale: str, evidence: list[str] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """A proposal choosing ``title`` over keeping the plan."""
    return {"title": title, "context": f"Planning review: {title.lower()}?",
            "options": [{"name": "Keep the plan", "pros": ["No churn"],
                         "cons": ["The risk stays"]},
                        {"name": title, "description": "Change the roadmap.",
                         "pros": ["Lower risk"], "cons": ["Someone waits longer"]}],
            "chosen_option": title, "rationale": rationale, "evidence": evidence or [],
            "deciders": ["dana@example.com"], "consulted": ["sales@example.com"], **extra}


def move_body(feature_id: str, release_id: str) -> dict[str, str]:
    """A decision's change moving the feature to the release."""
    return {"kind": "move_feature", "feature_id": feature_id, "release_id": release_id}


def retarget_body(release_id: str, target_date: str) -> dict[str, str]:
    """A decision's change moving the release's target date."""
    return {"kind": "change_target_date", "release_id": release_id, "target_date": target_date}
