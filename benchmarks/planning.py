"""Realistic planning changes for the long-running benchmarks (``soak``, ``history_length``):
what a product team does to a roadmap all day, with the rationale and evidence it records.

A :class:`Planner` holds one writer's picture of the features and releases it owns and
picks the next change that is valid on that picture (a feature is never scheduled into the
release it is in, a date never "slips" to itself, ...), so a benchmark that sends its steps
gets no refusals unless something is wrong. The steps are plain data: the soak sends them
over HTTP, the history benchmark runs them through the application.

The mix (weights of :data:`WRITE_MIX`): schedule or move a feature 30 %, unschedule 8 %,
change a priority 22 %, move a feature along its lifecycle 10 %, slip or pull in a release
date 14 %, revise a requirement 11 %, revise the product vision 5 %.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from domain.feature import REJECTED, SHIPPED, TAKEN_OUT, TRANSITIONS

WRITE_MIX: tuple[tuple[str, float], ...] = (
    ("schedule", 0.30),
    ("unschedule", 0.08),
    ("priority", 0.22),
    ("status", 0.10),
    ("slip", 0.14),
    ("requirement", 0.11),
    ("vision", 0.05),
)

TEAMS = ("Platform", "Mobile", "Billing", "Growth", "Search", "Integrations")
THEMES = ("onboarding", "self-serve billing", "SSO for enterprise", "offline mode",
          "the reporting rewrite", "EU data residency", "the public API", "accessibility")
SYSTEMS = ("payments", "identity", "search index", "notification", "data warehouse")
SOURCES = ("customer interviews", "the support backlog", "churn survey answers",
           "the win/loss review", "usage analytics", "sales call notes")

RATIONALES = (
    "Moved after the {month} planning review: {team} capacity is committed to {theme} until "
    "the release freeze, so this waits for the next train.",
    "{n} accounts raised this in {source} this quarter; it now ranks above {theme} for the "
    "renewals we have at risk.",
    "The {system} migration slipped by {days} days and this depends on it; we move the date "
    "rather than cut scope, agreed with {team} and support.",
    "Pulled forward: legal signed off early and {team} has a free sprint after {theme} "
    "shipped ahead of plan.",
    "Re-scored with the latest reach numbers from {source}; effort estimate updated by "
    "{team} after the spike ({days} days, not two weeks).",
    "Split the acceptance criteria after the design review so QA can sign off each part "
    "separately; no change to the customer-facing benefit.",
    "Back to the backlog: {theme} takes priority this cycle and we will not half-ship "
    "this. Revisit at the {month} review.",
    "Vision updated after the leadership offsite: we focus on {theme} for the mid-market "
    "segment, as {source} keep pointing there.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def rationale(rng: random.Random) -> str:
    """A rationale as a product manager writes one (100-250 characters)."""
    return rng.choice(RATIONALES).format(
        month=rng.choice(MONTHS), team=rng.choice(TEAMS), theme=rng.choice(THEMES),
        system=rng.choice(SYSTEMS), source=rng.choice(SOURCES), n=rng.randrange(3, 60),
        days=rng.randrange(2, 30))


def evidence(rng: random.Random) -> list[str]:
    """Zero to two links or notes."""
    items = [f"https://tracker.example.com/PDL-{rng.randrange(1000, 9999)}",
             f"https://docs.example.com/research/{rng.randrange(100, 999)}",
             f"Interview notes, {rng.choice(MONTHS)} {rng.randrange(1, 29)}"]
    return rng.sample(items, rng.randrange(0, 3))


@dataclass
class FeaturePlan:
    """What a writer knows of a feature it owns."""

    id: str
    release_id: str | None
    priority: float
    status: str = "proposed"
    revision: int = 0


@dataclass
class ReleasePlan:
    """What a writer knows of a release (its date, if the writer owns the release)."""

    id: str
    target_date: date


@dataclass(frozen=True)
class Step:
    """One change: ``kind`` (a :data:`WRITE_MIX` name), the entity, the new value."""

    kind: str
    entity_id: str
    value: object
    rationale: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Planner:
    """One writer: the features it owns, the releases whose dates it owns, every release
    it may schedule into. :meth:`next` picks a change and applies it to this picture."""

    rng: random.Random
    name: str
    features: list[FeaturePlan]
    own_releases: list[ReleasePlan]
    releases: list[str]
    mix: tuple[tuple[str, float], ...] = WRITE_MIX
    _count: int = 0

    def next(self) -> Step:
        kinds, weights = zip(*self.mix, strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        self._count += 1
        why, links = rationale(self.rng), evidence(self.rng)
        feature = self.rng.choice(self.features)
        if kind == "unschedule" and feature.release_id is None:
            kind = "schedule"
        if kind == "slip" and not self.own_releases:
            kind = "priority"
        if kind == "schedule":
            target = self.rng.choice([r for r in self.releases if r != feature.release_id])
            feature.release_id = target
            return Step(kind, feature.id, target, why, links)
        if kind == "unschedule":
            feature.release_id = None
            return Step(kind, feature.id, None, why, links)
        if kind == "priority":
            new = feature.priority
            while new == feature.priority:
                new = round(self.rng.uniform(1, 1000), 1)
            feature.priority = new
            return Step(kind, feature.id, new, why, links)
        if kind == "status":
            feature.status = self.rng.choice(sorted(TRANSITIONS[feature.status]
                                                    - {REJECTED, SHIPPED}))
            if feature.status in TAKEN_OUT:  # deferring takes it out of its release
                feature.release_id = None
            return Step(kind, feature.id, feature.status, why, links)
        if kind == "slip":
            release = self.rng.choice(self.own_releases)
            release.target_date += timedelta(days=self.rng.choice((-7, -3, 2, 5, 7, 14)))
            return Step(kind, release.id, release.target_date, why, links)
        if kind == "requirement":
            feature.revision += 1
            text = (f"Show the committed date on every roadmap card (revision "
                    f"{feature.revision} by {self.name}).")
            return Step(kind, feature.id, text, why, links)
        text = (f"Plans people trust: every date explained, every change traceable "
                f"(revision {self._count} by {self.name}).")
        return Step("vision", "", text, why, links)


#: The acceptance criteria a revised requirement keeps.
CRITERIA = ["The date is shown on the card", "A slipped date links to its reason"]
