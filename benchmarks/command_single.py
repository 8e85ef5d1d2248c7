"""Row 1: one command at a time in process (load → decide → save one event), on SQLite
(``command_single``) or PostgreSQL (``command_single_pg``).

Baseline: the raw engine, one ``INSERT`` + ``COMMIT`` per row of the same bytes, with the
durability our store has (recorded): on SQLite WAL and ``synchronous=FULL``, as
eventsourcing's SQLite store; on PostgreSQL psycopg on one connection, into a table with the
events table's columns and indexes, on a durable server. Baseline and ours alternate in
``ROUNDS`` rounds, so a noisy neighbour or a slow patch of the disk hits both sides alike;
the rates are totals over all rounds.
"""

import uuid

from benchmarks.harness import Measure, Mode, Result, sizes, stopwatch
from benchmarks.workload import (
    RawLog,
    StoreKind,
    command,
    durability_note,
    sample_row,
    seed_features,
    store,
)
from services.commands.application import DecisionLog

NAME = "command_single"
TARGET = 0.6
ROUNDS = 5


def run(mode: Mode, kind: StoreKind = "sqlite", target: float = TARGET) -> Result:
    per_round = sizes(mode, smoke=10, quick=400, full=2_000)
    features = max(5, per_round * ROUNDS // 10)  # ~10 events per feature by the end
    raw_seconds = ours_seconds = solo_seconds = 0.0
    with store(kind, mode) as used:
        app = used.app("ours")
        solo = used.app("solo", group_commit=False, aggregate_cache_size=0)
        _, ids = seed_features(app, features)
        _, solo_ids = seed_features(solo, features)
        durability = used.durability(app)
        notes = durability_note(used)
        topic, state = sample_row(app, command(app, ids[0], 10**7))
        raw = used.raw("raw")
        for r in range(ROUNDS):
            raw_seconds += raw_inserts(raw, topic, state, per_round)
            ours_seconds += commands(app, ids, range(r * per_round, (r + 1) * per_round))
            solo_seconds += commands(solo, solo_ids, range(r * per_round, (r + 1) * per_round))
        raw.close()
        app.close()
        solo.close()

    total = per_round * ROUNDS
    baseline = Measure(f"raw INSERT+COMMIT per row, {raw.label}", total / raw_seconds,
                       "rows/s")
    ours = Measure("change_priority via DecisionLog (default settings)", total / ours_seconds,
                   "commands/s",
                   extra={"library_defaults_per_s": round(total / solo_seconds, 1),
                          "event_bytes": len(state)})
    ratio = ours.value / baseline.value
    return Result(
        name=NAME if kind == "sqlite" else f"{NAME}_pg", row=1,
        title=f"command in process (load → decide → save 1 event), {used.title}",
        mode=mode, baseline=baseline, ours=ours, target=f"≥ {target}x", met=ratio >= target,
        params={"commands": total, "rounds": ROUNDS, "features": features, **durability},
        notes=[*notes,
               f"our time per command beyond the raw commit: "
               f"{(1 / ours.value - 1 / baseline.value) * 1e6:,.0f} µs (the ratio is higher "
               f"when fsync is slow, lower when it is fast)",
               f"library defaults (no group commit, no aggregate cache): "
               f"{total / solo_seconds:,.0f} commands/s = "
               f"{total / solo_seconds / baseline.value:.2f}x"],
    )


def raw_inserts(raw: RawLog, topic: str, state: bytes, count: int) -> float:
    """Seconds to insert ``count`` rows, one transaction each."""
    with stopwatch() as elapsed:
        for _ in range(count):
            raw.insert([raw.row(topic, state)])
        return elapsed()


def commands(app: DecisionLog, ids: list[uuid.UUID], numbers: range) -> float:
    """Seconds to run one command per number, round robin over ``ids``."""
    with stopwatch() as elapsed:
        for n in numbers:
            command(app, ids[n % len(ids)], n)
        return elapsed()
