"""Row 10: does a command or a read cost more as the history grows?

A product with :data:`RELEASES` releases and :data:`FEATURES` features, two of them
scheduled (10 events in all), gains history through the application, one command at a
time, with the mix of :mod:`benchmarks.planning` (features moved between the releases and
back to the backlog, priorities, lifecycle, dates slipped or pulled in, requirements, the
vision): the releases gain an event whenever a feature enters or leaves them, the features
thousands of changes each. The entities stay the same, so every answer about the current
state stays the same size: only the history behind it grows. Three such histories, of 10,
1,000 and 10,000 events (smoke: 10, 100, 300), each in its own data folder, are timed in
process, on the application and the views as the service builds them (no HTTP):

- ``schedule``: move a feature into the other release (loads the feature and both
  releases, saves three events in one durable commit), aggregates warm in the cache;
  ``schedule_cpu`` is the CPU time of the same commands (without the wait for the disk);
- ``roadmap``: :meth:`Views.roadmap`;
- ``audit_page``: a page of 100 from :meth:`Views.audit`, starting in the middle of the log;
- ``diff_whole``: :func:`projections.diff.roadmap_diff` from before the product existed to
  now — its answer lists every roadmap change, so it grows with the history by design.

Also reported, without an aim: ``views_apply`` (the catch-up applying one ``schedule``'s
events), ``schedule_cold`` (the same command on a freshly opened application, nothing
cached: loads from the store, snapshots included) and ``diff_recent`` (the diff over the
span of the last 10 roadmap changes: an answer of constant size), and the histories of one
release and one feature (``GET /releases/{id}/history``, ``/features/{id}/history``: every
change of the entity, so their answers grow with the history too).

The histories are built first; then the reads are timed in rounds, and then the commands:
each round takes one sample of each operation at each length (each operation at every
length in turn, both in rotating orders), so a slow patch of this (shared) machine, or a
slow disk, hits every length alike; medians. The reads see exactly 10, 1,000 and 10,000
events; each command adds three, so the command samples run on slightly longer histories
(reported: e.g. 10 → 370).
Aim: each aimed operation's median at the longest history within :data:`FLAT` x that at the
shortest (for ``audit_page``, the shortest that fills a page of 100: 10 events make a page of
10). Also reported: longest/middle, ten times the history with the same kind of content.

Run alone: ``.venv/bin/python -m benchmarks.history_length [--quick | --smoke]``.
"""

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks.harness import (
    Measure,
    Mode,
    Result,
    latency_summary,
    log,
    standalone,
)
from benchmarks.planning import CRITERIA, FeaturePlan, Planner, ReleasePlan, Step
from benchmarks.workload import scratch_dir
from domain.reasons import Reason
from projections.diff import STEP_KINDS, roadmap_diff
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import KafkaSettings, Settings

NAME = "history_length"
ROW = 10
RELEASES = 2
FEATURES = 3  # + 2 releases + the product + 2 schedulings (2 events each) = 10 events
FLAT = 1.5
HISTORIES = {"smoke": [10, 100, 300], "quick": [10, 1_000, 10_000],
             "full": [10, 1_000, 10_000]}
READS = ("roadmap", "audit_page", "diff_whole", "diff_recent", "release_history",
         "feature_history")
#: Aimed: what a request costs when its answer has the same size at every history length.
#: The whole-history diff and the unpaged histories answer with the history itself, so they
#: are reported (their cost per item answered is what must stay flat), not aimed.
AIMED = ("schedule", "roadmap", "audit_page", "diff_recent")
EXTRA = ("schedule_cpu", "views_apply", "schedule_cold", "diff_whole", "release_history",
         "feature_history")
#: (read rounds, command rounds, a cold command every this many rounds, seconds for the
#: reads) per mode; reads stop early when their seconds run out (after 5 rounds at least).
ROUNDS = {"smoke": (8, 8, 4, 2.0), "quick": (200, 100, 8, 60.0),
          "full": (500, 300, 10, 180.0)}
WARM_UP_ROUNDS = 3
AUDIT_PAGE = 100
RECENT = 10
ACTOR = "pm@example.com"
REASON = Reason(ACTOR, "Moved after the planning review: the team's capacity is committed "
                "to the reporting rewrite until the freeze.", ("https://tracker.example.com/PDL-1",))


@dataclass
class Product:
    """The product being planned and one writer's picture of it."""

    id: UUID
    planner: Planner
    #: Just before the product was created: a diff from here covers the whole history.
    before: datetime


@dataclass
class History:
    """One history length: its own data folder and runtime, the product, the samples."""

    target: int
    runtime: Runtime
    product: Product
    reads: dict[str, Callable[[], object]] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    events: int = 0
    moves: int = 0

    def sample(self, op: str, seconds: float) -> None:
        self.samples.setdefault(op, []).append(seconds)


def create(app: DecisionLog) -> Product:
    """The product, its releases and features, two features scheduled: 10 events."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    product_id = app.create_product(actor=ACTOR, name="Atlas", vision="Plans people trust.",
                                    value_proposition="Every roadmap date explained.",
                                    target_customers="Product teams.", owner=ACTOR).id
    releases = [ReleasePlan(str(app.plan_release(product_id, actor=ACTOR, name=f"2030.{n + 1}",
                                                 target_date=date(2030, 1 + 3 * n, 15)).id),
                            date(2030, 1 + 3 * n, 15))
                for n in range(RELEASES)]
    features = [FeaturePlan(str(app.propose_feature(
        product_id, actor=ACTOR, title=f"Feature {n + 1}",
        problem="Roadmaps go stale and nobody knows why a date moved.",
        business_value="Fewer escalations before renewals.",
        benefit="See every committed date and the reason it changed.", priority=float(n + 1),
        requirements=[{"text": "Show the committed date.", "acceptance_criteria": CRITERIA}],
    ).id), None, float(n + 1)) for n in range(FEATURES)]
    for feature, release in zip(features, releases, strict=False):
        app.schedule_feature(UUID(feature.id), UUID(release.id), REASON)
        feature.release_id = release.id
    planner = Planner(random.Random(10), ACTOR, features, releases, [r.id for r in releases])
    return Product(product_id, planner, before)


def apply(app: DecisionLog, step: Step, product_id: UUID) -> int:
    """Run ``step`` through the application; the log position it reached."""
    entity = UUID(step.entity_id) if step.entity_id else product_id
    reason = Reason(ACTOR, step.rationale, tuple(step.evidence))
    if step.kind == "schedule":
        outcome = app.schedule_feature(entity, UUID(str(step.value)), reason)
    elif step.kind == "unschedule":
        outcome = app.unschedule_feature(entity, reason)
    elif step.kind == "priority":
        assert isinstance(step.value, float)
        outcome = app.change_priority(entity, step.value, reason)
    elif step.kind == "status":
        outcome = app.change_feature_status(entity, str(step.value), reason)
    elif step.kind == "slip":
        assert isinstance(step.value, date)
        outcome = app.change_target_date(entity, step.value, reason)
    elif step.kind == "requirement":
        outcome = app.revise_requirement(entity, "R1", str(step.value), CRITERIA, reason)
    else:
        outcome = app.revise_vision(product_id, str(step.value), reason)
    return outcome.position


def build(folder: Path, events: int) -> History:
    """A history of ``events`` events in ``folder``, views caught up, reads prepared."""
    runtime = build_runtime(Settings(data_dir=folder, kafka=KafkaSettings()))
    product = create(runtime.app)
    while runtime.app.event_count() < events:
        apply(runtime.app, product.planner.next(), product.id)
    runtime.catchup.run_until_caught_up()
    history = History(events, runtime, product, events=runtime.app.event_count())
    prepare_reads(history)
    return history


def prepare_reads(history: History) -> None:
    views, product = history.runtime.views, history.product
    position = views.position
    cursor = max(0, (position - AUDIT_PAGE) // 2)
    with views.reading() as conn:  # the span of the last RECENT roadmap steps
        kinds = tuple(STEP_KINDS)
        found = conn.execute(
            f"SELECT occurred_at FROM audit WHERE product_id = ? AND type IN "
            f"({', '.join('?' * len(kinds))}) ORDER BY seq DESC LIMIT 1 OFFSET ?",
            (str(product.id), *kinds, RECENT)).fetchone()
    recent = datetime.fromisoformat(found[0]) if found else product.before
    release = UUID(product.planner.releases[0])
    feature = UUID(product.planner.features[0].id)
    history.reads = {
        "roadmap": lambda: views.roadmap(product.id),
        "release_history": lambda: views.history(release),
        "feature_history": lambda: views.history(feature),
        "audit_page": lambda: views.audit(limit=AUDIT_PAGE, cursor=cursor),
        "diff_whole": lambda: roadmap_diff(views, product.id, product.before),
        "diff_recent": lambda: roadmap_diff(views, product.id, recent),
    }
    whole = roadmap_diff(views, product.id, product.before)
    recent_diff = roadmap_diff(views, product.id, recent)
    assert whole is not None and recent_diff is not None
    history.items = {"audit_page": len(views.audit(limit=AUDIT_PAGE, cursor=cursor)["items"]),
                     "diff_whole": len(whole["changes"]),
                     "diff_recent": len(recent_diff["changes"]),
                     "release_history": len(views.history(release)),
                     "feature_history": len(views.history(feature))}


def rotated(items: list[Any], n: int) -> list[Any]:
    shift = n % len(items)
    return items[shift:] + items[:shift]


def measure_reads(histories: list[History], rounds: int, seconds: float) -> None:
    """Rounds of one sample of each read at each length, in rotating orders: each read at
    every length in turn, so a sample follows the same read on another length (not, say,
    a 300-ms diff that left the CPU caches cold for a 30-µs roadmap)."""
    deadline = time.perf_counter() + seconds
    for n in range(-WARM_UP_ROUNDS, rounds):
        if n >= 5 and time.perf_counter() > deadline:
            break
        for name in rotated(list(READS), n):
            for history in rotated(histories, n):
                started = time.perf_counter()
                history.reads[name]()
                if n >= 0:
                    history.sample(name, time.perf_counter() - started)


def measure_commands(histories: list[History], rounds: int, cold_every: int) -> None:
    """Rounds of one ``schedule`` (and its catch-up) at each length, in rotating orders;
    every ``cold_every`` rounds one on a freshly opened application as well."""
    for n in range(-WARM_UP_ROUNDS, rounds):
        for history in rotated(histories, n):
            runtime = history.runtime
            feature, target = move(history)
            started, cpu = time.perf_counter(), time.process_time()
            runtime.app.schedule_feature(UUID(feature.id), UUID(target), REASON)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            started = time.perf_counter()
            runtime.catchup.run_until_caught_up()
            if n >= 0:
                history.sample("schedule", wall)
                history.sample("schedule_cpu", cpu)
                history.sample("views_apply", time.perf_counter() - started)
            if n >= 0 and n % cold_every == 0:
                history.sample("schedule_cold", cold_schedule(history))


def cold_schedule(history: History) -> float:
    """One ``schedule`` on a new application over the same files: the feature and both
    releases loaded from the store (the application first warmed up on the product)."""
    app = build_application(history.runtime.settings)
    try:
        app.revise_vision(history.product.id, f"Plans people trust ({app.event_count()}).",
                          REASON)
        feature, target = move(history)
        started = time.perf_counter()
        app.schedule_feature(UUID(feature.id), UUID(target), REASON)
        return time.perf_counter() - started
    finally:
        app.close()
        history.runtime.catchup.run_until_caught_up()


def move(history: History) -> tuple[FeaturePlan, str]:
    """The next measured move: a feature and a release it is not in (picture updated)."""
    planner = history.product.planner
    feature = planner.features[history.moves % FEATURES]
    history.moves += 1
    target = next(r for r in planner.releases if r != feature.release_id)
    feature.release_id = target
    return feature, target


def run(mode: Mode) -> Result:
    read_rounds, command_rounds, cold_every, seconds = ROUNDS[mode]
    with scratch_dir() as tmp:
        histories: list[History] = []
        try:
            for events in HISTORIES[mode]:
                started = time.perf_counter()
                histories.append(build(tmp / f"h{events}", events))
                log(f"{NAME}: built {events:,} events in {time.perf_counter() - started:.1f} s")
            measure_reads(histories, read_rounds, seconds)
            measure_commands(histories, command_rounds, cold_every)
            rows = [{"events": h.events, "events_after": h.runtime.app.event_count(),
                     "items": h.items,
                     "ops": {op: latency_summary(h.samples[op]) for op in (*AIMED, *EXTRA)}}
                    for h in histories]
        finally:
            for history in histories:
                history.runtime.close()
    log(table(rows))
    return result(mode, rows)


def growth(rows: list[dict[str, Any]], op: str, base: int = 0) -> tuple[dict[str, Any], float]:
    """The row ``op`` is compared from (``rows[base]``; for ``audit_page`` the first from
    there with a full page) and its median at the longest history over that one's."""
    start = rows[base]
    if op == "audit_page":
        start = next((r for r in rows[base:] if r["items"]["audit_page"] == AUDIT_PAGE),
                     rows[base])
    return start, rows[-1]["ops"][op]["p50_ms"] / start["ops"][op]["p50_ms"]


def result(mode: Mode, rows: list[dict[str, Any]]) -> Result:
    ratios = {op: growth(rows, op) for op in (*AIMED, *EXTRA)}
    tenfold = {op: growth(rows, op, base=len(rows) - 2)[1] for op in (*AIMED, *EXTRA)}
    worst = max(AIMED, key=lambda op: ratios[op][1])
    base, ratio = ratios[worst]
    last = rows[-1]
    lengths = ", ".join(f"{r['events']:,}" for r in rows)
    flat = {op: ratios[op][1] <= FLAT for op in AIMED}
    answered = ", ".join(str(r["items"]["diff_whole"]) for r in rows)
    drift = ", ".join(f"{r['events']:,} → {r['events_after']:,}" for r in rows)
    per_change = [round(r["ops"]["diff_whole"]["p50_ms"] * 1000
                        / max(1, r["items"]["diff_whole"]), 1) for r in rows]
    per_item = {op: [round(r["ops"][op]["p50_ms"] * 1000 / max(1, r["items"][op]), 1)
                     for r in rows] for op in ("release_history", "feature_history")}
    notes = [
        "longest/shortest history, medians: " + ", ".join(
            f"{op} {ratios[op][1]:.2f}x" + ("" if op not in AIMED else
                                          " (met)" if flat[op] else " (NOT met)")
            for op in (*AIMED, *EXTRA)),
        f"longest/middle ({rows[-2]['events']:,} → {last['events']:,} events): " + ", ".join(
            f"{op} {tenfold[op]:.2f}x" for op in (*AIMED, *EXTRA)),
        f"diff_whole answers every roadmap change ({answered} changes): µs per change "
        f"{per_change}",
        "entity histories answer every change of the entity: release "
        f"{[r['items']['release_history'] for r in rows]} items, µs per item "
        f"{per_item['release_history']}; feature "
        f"{[r['items']['feature_history'] for r in rows]} items, µs per item "
        f"{per_item['feature_history']}",
        f"{RELEASES} releases and {FEATURES} features throughout; the command samples add "
        f"events ({drift})",
    ]
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=(f"cost vs history length ({lengths} events): the fastest-growing of "
               "schedule, roadmap, audit page, whole diff"),
        baseline=Measure(f"{worst} at {base['events']:,} events (median)",
                         base["ops"][worst]["p50_ms"], "ms", higher_is_better=False,
                         extra=_ms(base["ops"][worst])),
        ours=Measure(f"{worst} at {last['events']:,} events (median)",
                     last["ops"][worst]["p50_ms"], "ms", higher_is_better=False,
                     extra=_ms(last["ops"][worst])),
        target=f"each of {', '.join(AIMED)}: longest/shortest ≤ {FLAT:g}x",
        met=all(flat.values()),
        params={"releases": RELEASES, "features": FEATURES, "histories": HISTORIES[mode],
                "rounds": ROUNDS[mode],
                "growth": {op: round(ratios[op][1], 2) for op in (*AIMED, *EXTRA)},
                "growth_longest_over_middle": {op: round(v, 2) for op, v in tenfold.items()},
                "aimed": list(AIMED), "diff_whole_us_per_change": per_change,
                "worst_ratio": round(ratio, 2), "sizes": rows},
        notes=notes,
    )


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {"p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"]}


def table(rows: list[dict[str, Any]]) -> str:
    """Median (ms) of each operation at each history length, and the growth."""
    head = " | ".join(f"{r['events']:,} events" for r in rows)
    lines = [f"| operation (median ms) | {head} | longest/shortest | longest/middle | "
             f"aim ≤ {FLAT:g}x |", "|---" * (len(rows) + 4) + "|"]
    for op in (*AIMED, *EXTRA):
        cells = " | ".join(f"{r['ops'][op]['p50_ms']}" for r in rows)
        base, ratio = growth(rows, op)
        note = "" if base is rows[0] else f" (from {base['events']:,})"
        aim = ("met" if ratio <= FLAT else "**not met**") if op in AIMED else "—"
        lines.append(f"| {op} | {cells} | {ratio:.2f}x{note} | "
                     f"{growth(rows, op, base=len(rows) - 2)[1]:.2f}x | {aim} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return standalone("python -m benchmarks.history_length", __doc__, run,
                      lambda outcome: table(outcome.params["sizes"]), argv)


if __name__ == "__main__":
    sys.exit(main())
