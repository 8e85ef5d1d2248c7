"""Row 8: the roadmap as of a past instant versus the current roadmap, as history grows.

Both reads go through :class:`projections.views.Views` on the same file, in the same run,
with 10k, 100k and 1M stored changes (quick: 10k and 100k; smoke: tiny). The entities are
fixed from the start (a handful of products with hundreds of releases and features each),
so the roadmap read stays the same size and only the history per entity grows: any growth
in latency is the cost of history. As-of reads are taken at an early, a middle and a late
instant of the history (10%, 50% and 90% of the time from the creation of the entities
to the last change). The four reads (current, early, middle, late) are timed interleaved,
one of each per sample in a rotating order, so that a slow patch of this machine (or pages
it dropped from memory) hits all four alike; each ratio compares medians of the same samples.

The history is written straight into a views file (``apply_changes`` in large transactions):
changes made by the real domain aggregates, stamped by a simulated clock, but no event store,
because only the read path is measured and the 1M case must be built in minutes.

Every as-of read measured is first checked against :func:`reference_roadmap`, the same
roadmap assembled from the rows whose validity interval holds the instant (a range scan
over the whole history: the definition, not timed).

Run alone: ``.venv/bin/python -m benchmarks.as_of_reads [--quick | --smoke]``.
"""

import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from benchmarks.harness import (
    Measure,
    Mode,
    Result,
    latency_summary,
    log,
    sizes,
    standalone,
    stopwatch,
)
from benchmarks.workload import scratch_dir
from contract.changes import Change, change_from_event
from domain import clock
from domain.base import DecisionLogAggregate
from domain.feature import REJECTED, SHIPPED, TRANSITIONS, Feature
from domain.product import Product
from domain.reasons import Reason
from domain.release import Release
from projections import roadmap
from projections.feeding import tracking
from projections.intervals import EntityTable, State, instant
from projections.views import Views, apply_changes

NAME = "as_of_reads"
ROW = 8
TARGET_RATIO = 2.0  # as-of p50 within 2x of the current read's
FLAT = 2.0  # as-of p50 at the largest history within 2x of that at the smallest
PRODUCTS = 5
RELEASES = 100
FEATURES = 300
BATCH = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)  # simulated time between two changes
INSTANTS = {"early": 0.1, "middle": 0.5, "late": 0.9}
WARM_UP_ROUNDS = 3
REASON = Reason(actor="bench@example.com", rationale="Planning review.",
                evidence=("https://example.com/review",))


# Writing a history


@dataclass
class Portfolio:
    """Products, releases and features as domain aggregates, changed at random."""

    rng: random.Random
    products: list[Product] = field(default_factory=list)
    releases: list[list[Release]] = field(default_factory=list)
    features: list[list[Feature]] = field(default_factory=list)

    def create(self) -> list[DecisionLogAggregate]:
        created: list[DecisionLogAggregate] = []
        for p in range(PRODUCTS):
            product = Product.create(name=f"Product {p}", vision="Plans people trust.",
                                     value_proposition="Fewer surprises.",
                                     target_customers="PMs", owner="pm", actor="pm")
            releases = [Release.plan(product_id=product.id, name=f"{p}.{n}", actor="pm",
                                     target_date=date(2024, 3, 1) + timedelta(days=7 * n))
                        for n in range(RELEASES)]
            features = [Feature.propose(product_id=product.id, title=f"Feature {p}.{n}",
                                        problem="Stale plans.", business_value="Trust.",
                                        benefit="Current plans.", actor="pm", priority=float(n),
                                        requirements=[{"text": "Show the date.",
                                                       "acceptance_criteria": ["Shown"]}])
                        for n in range(FEATURES)]
            self.products.append(product)
            self.releases.append(releases)
            self.features.append(features)
            created += [product, *releases, *features]
        return created

    def change_something(self) -> list[DecisionLogAggregate]:
        """One command's worth of changes; returns the aggregates it touched."""
        p = self.rng.randrange(PRODUCTS)
        feature = self.rng.choice(self.features[p])
        roll = self.rng.random()
        if roll < 0.35:
            return self._move(p, feature)
        if roll < 0.55:
            feature.change_priority(float(self.rng.randrange(1000)) + roll, REASON)
            return [feature]
        if roll < 0.70:
            return self._progress(p, feature)
        if roll < 0.85:
            release = self.rng.choice(self.releases[p])
            days = self.rng.choice([-7, -3, 2, 5, 7, 14])
            release.change_target_date(release.target_date + timedelta(days=days), REASON)
            return [release]
        feature.revise_requirement("R1", f"Show the date ({self.rng.randrange(10**6)}).",
                                   ["Shown"], REASON)
        return [feature]

    def _move(self, p: int, feature: Feature) -> list[DecisionLogAggregate]:
        """Schedule, move or (one time in five) unschedule, with the release side too."""
        releases = {r.id: r for r in self.releases[p]}
        source = releases.get(feature.release_id) if feature.release_id else None
        if source is not None and self.rng.random() < 0.2:
            feature.unschedule(REASON)
            source.remove_feature(feature.id, REASON)
            return [feature, source]
        target = self.rng.choice(self.releases[p])
        if target is source:
            return []
        feature.schedule(target.id, REASON)
        if source is not None:
            source.remove_feature(feature.id, REASON)
        target.add_feature(feature.id, REASON)
        return [feature, target] if source is None else [feature, source, target]

    def _progress(self, p: int, feature: Feature) -> list[DecisionLogAggregate]:
        """Move along the lifecycle, never to a final status (so the feature keeps moving);
        deferring takes it out of its release, with the release side too."""
        options = sorted(TRANSITIONS[feature.status] - {REJECTED, SHIPPED})
        source = next((r for r in self.releases[p] if r.id == feature.release_id), None)
        feature.change_status(self.rng.choice(options), REASON)
        if source is not None and feature.release_id is None:
            source.remove_feature(feature.id, REASON)
            return [feature, source]
        return [feature]


class History:
    """A views file holding a growing history of :class:`Portfolio` changes."""

    def __init__(self, views: Views, seed: int = 7) -> None:
        self.views = views
        self.portfolio = Portfolio(random.Random(seed))
        self.now = START
        self.position = 0
        self._write(self.portfolio.create)
        self.created = self.now

    @property
    def product_ids(self) -> list[UUID]:
        return [p.id for p in self.portfolio.products]

    def grow_to(self, events: int) -> None:
        """Append changes until the views hold at least ``events`` of them."""
        while self.position < events:
            self._write(lambda: self._batch(min(BATCH, events - self.position)))

    def instant(self, fraction: float) -> datetime:
        """The instant ``fraction`` of the way from the creation of every entity to now."""
        return self.created + (self.now - self.created) * fraction

    def _batch(self, wanted: int) -> list[DecisionLogAggregate]:
        touched: dict[Any, DecisionLogAggregate] = {}
        count = 0
        while count < wanted:
            for aggregate in self.portfolio.change_something():
                touched[aggregate.id] = aggregate
            count = sum(len(a.pending_events) for a in touched.values())
        return list(touched.values())

    def _write(self, make: Callable[[], list[DecisionLogAggregate]]) -> None:
        with clock.use_clock(self._tick):
            aggregates = make()
        events = sorted((e for a in aggregates for e in a.collect_events()),
                        key=lambda e: e.timestamp)
        changes: list[Change] = []
        for event in events:
            self.position += 1
            changes.append(change_from_event(event, self.position))  # type: ignore[arg-type]
        with self.views.transaction() as conn:
            apply_changes(conn, changes)
            tracking.track(conn, self.position)

    def _tick(self) -> datetime:
        self.now += STEP
        return self.now


# The reference: the definition of an as-of read


def reference_states(conn: sqlite3.Connection, table: EntityTable, column: str, value: str,
                     at: datetime) -> list[State]:
    """Rows of ``table`` with ``column = value`` whose validity interval holds ``at``."""
    rows = conn.execute(
        f"SELECT * FROM {table.name} WHERE {column} = ? AND valid_from <= ? "
        "AND (valid_to IS NULL OR valid_to > ?)", (value, instant(at), instant(at))).fetchall()
    return [{c: json.loads(v) if c in table.json_columns else v for c, v in dict(row).items()}
            for row in rows]


def reference_roadmap(conn: sqlite3.Connection, product_id: str,
                      at: datetime) -> dict[str, Any] | None:
    """:func:`projections.roadmap.read_roadmap` as of ``at``, with :func:`reference_states`."""
    products = reference_states(conn, roadmap.PRODUCTS, "entity_id", product_id, at)
    if not products:
        return None
    features = [roadmap.feature_row(row) for row in
                reference_states(conn, roadmap.FEATURES, "product_id", product_id, at)]
    releases = roadmap._releases(
        reference_states(conn, roadmap.RELEASES, "product_id", product_id, at), features)
    return roadmap._assembled(roadmap._product(products[0]), releases, features, at)


#: The name of the reference when it was the proposed lookup (as tests still call it).
proposed_roadmap = reference_roadmap


# Measuring


@dataclass
class Budget:
    """How many reads per series: up to ``samples``, or fewer if ``seconds`` run out."""

    samples: int
    seconds: float


Read = Callable[[UUID], object]


def interleaved(reads: dict[str, Read], product_ids: list[UUID],
                budget: Budget) -> dict[str, dict[str, float]]:
    """Latency summary of each of ``reads``, taken in turn: one read of each series per
    sample (the product and the order of the series change from one sample to the next),
    so that a slow patch of the machine hits every series alike (after warm-up reads)."""
    for _ in range(WARM_UP_ROUNDS):
        for pid in product_ids:
            for read in reads.values():
                read(pid)
    names = list(reads)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    deadline = time.perf_counter() + budget.seconds * len(names)
    n = 0
    while n < budget.samples and (n < 5 or time.perf_counter() < deadline):
        pid = product_ids[n % len(product_ids)]
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            with stopwatch() as elapsed:
                reads[name](pid)
            seconds[name].append(elapsed())
        n += 1
    return {name: latency_summary(values) for name, values in seconds.items()}


def measure(history: History, budget: Budget) -> dict[str, Any]:
    """Current and as-of read latencies at this size of history, measured interleaved."""
    views, pids = history.views, history.product_ids
    instants = {label: history.instant(fraction) for label, fraction in INSTANTS.items()}
    with views.reading() as conn:  # the reads measured answer what the definition does
        assert isinstance(conn, sqlite3.Connection)  # the views file of this benchmark
        for at in instants.values():
            for pid in pids:
                assert views.roadmap(pid, as_of=at) == reference_roadmap(conn, str(pid), at)
    reads: dict[str, Read] = {"current": views.roadmap}
    reads |= {label: partial(views.roadmap, as_of=at) for label, at in instants.items()}
    summaries = interleaved(reads, pids, budget)
    current = summaries["current"]
    return {"events": history.position, "current": current, "as_of": {
        label: {"at": instant(at), "read": summaries[label],
                "ratio": round(summaries[label]["p50_ms"] / current["p50_ms"], 2)}
        for label, at in instants.items()}}


def run(mode: Mode) -> Result:
    """Grow one history through every size of ``mode``, measuring at each size."""
    targets = {"smoke": [3_000, 6_000], "quick": [10_000, 100_000],
               "full": [10_000, 100_000, 1_000_000]}[mode]
    budget = Budget(samples=sizes(mode, smoke=10, quick=200, full=200),
                    seconds={"smoke": 1.0, "quick": 8.0, "full": 15.0}[mode])
    rows = []
    with scratch_dir() as tmp:
        views = Views(tmp / "views.db")
        try:
            history = History(views)
            for events in targets:
                with stopwatch() as elapsed:
                    history.grow_to(events)
                log(f"{NAME}: wrote {history.position:,} changes in {elapsed():.1f} s")
                rows.append({**measure(history, budget), "write_seconds": round(elapsed(), 1)})
                log(table([rows[-1]]))
            file_mb = (tmp / "views.db").stat().st_size / 2**20
        finally:
            views.close()
    return result(mode, rows, file_mb)


def result(mode: Mode, rows: list[dict[str, Any]], file_mb: float) -> Result:
    """Baseline: current read at the largest history; ours: the slowest as-of read there."""
    first, last = rows[0], rows[-1]
    worst = max(last["as_of"].values(), key=lambda a: a["read"]["p50_ms"])
    first_worst = max(first["as_of"].values(), key=lambda a: a["read"]["p50_ms"])
    within = worst["read"]["p50_ms"] <= TARGET_RATIO * last["current"]["p50_ms"]
    growth = worst["read"]["p50_ms"] / first_worst["read"]["p50_ms"]
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=f"roadmap read as of a past instant vs now ({last['events']:,} changes)",
        baseline=Measure("current roadmap read (Views.roadmap)", last["current"]["p50_ms"],
                         "ms", higher_is_better=False, extra=_ms(last["current"])),
        ours=Measure("as-of roadmap read, slowest of early/middle/late instant",
                     worst["read"]["p50_ms"], "ms", higher_is_better=False,
                     extra=_ms(worst["read"])),
        target=f"as-of p50 ≤ {TARGET_RATIO:g}x current, flat (≤ {FLAT:g}x) as history grows",
        met=within and growth <= FLAT,
        params={"products": PRODUCTS, "releases_per_product": RELEASES,
                "features_per_product": FEATURES, "views_file_mb": round(file_mb, 1),
                "sizes": rows},
        notes=[
            f"as-of/current p50 at {last['events']:,} changes: "
            + ", ".join(f"{k} {v['ratio']}x" for k, v in last["as_of"].items())
            + f"; slowest as-of p50 grew {growth:.1f}x from {first['events']:,} changes",
            "every as-of read checked equal to the range scan over validity intervals",
            "history written straight into the views (no event store): only reads measured",
        ],
    )


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {"p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"]}


def table(rows: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table: one line per size and instant."""
    lines = ["| changes | instant | current p50 / p99 ms | as-of p50 / p99 ms | as-of/current |",
             "|---|---|---|---|---|"]
    for row in rows:
        cur = row["current"]
        for label, a in row["as_of"].items():
            lines.append(
                f"| {row['events']:,} | {label} | {cur['p50_ms']} / {cur['p99_ms']} | "
                f"{a['read']['p50_ms']} / {a['read']['p99_ms']} | {a['ratio']}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return standalone("python -m benchmarks.as_of_reads", __doc__, run,
                      lambda outcome: table(outcome.params["sizes"]), argv)


if __name__ == "__main__":
    sys.exit(main())
