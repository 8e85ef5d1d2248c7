"""Row 1: one command at a time in process (load → decide → save one event) on SQLite.

Baseline: raw SQLite, one ``INSERT`` + ``COMMIT`` per row of the same bytes, with the same
durability eventsourcing's SQLite store uses (WAL, ``synchronous=FULL``; checked and recorded).
Baseline and ours alternate in ``ROUNDS`` rounds, so a noisy neighbour or a slow patch of the
disk hits both sides alike; the rates are totals over all rounds.
"""

import sqlite3
import uuid

from benchmarks.harness import Measure, Mode, Result, sizes, stopwatch
from benchmarks.workload import (
    RAW_INSERT,
    command,
    durability,
    open_app,
    raw_connection,
    sample_row,
    scratch_dir,
    seed_features,
)
from services.commands.application import DecisionLog

NAME = "command_single"
TARGET = 0.6
ROUNDS = 5


def run(mode: Mode) -> Result:
    per_round = sizes(mode, smoke=10, quick=400, full=2_000)
    features = max(5, per_round * ROUNDS // 10)  # ~10 events per feature by the end
    raw_seconds = ours_seconds = solo_seconds = 0.0
    with scratch_dir() as tmp:
        app = open_app(tmp / "ours")
        solo = open_app(tmp / "solo", group_commit=False, aggregate_cache_size=0)
        _, ids = seed_features(app, features)
        _, solo_ids = seed_features(solo, features)
        journal, sync = durability(app)
        topic, state = sample_row(app, command(app, ids[0], 10**7))
        raw = raw_connection(tmp / "raw.db")
        for r in range(ROUNDS):
            raw_seconds += raw_inserts(raw, topic, state, per_round)
            ours_seconds += commands(app, ids, range(r * per_round, (r + 1) * per_round))
            solo_seconds += commands(solo, solo_ids, range(r * per_round, (r + 1) * per_round))
        raw.close()
        app.close()
        solo.close()

    total = per_round * ROUNDS
    baseline = Measure("raw INSERT+COMMIT per row, WAL, synchronous=FULL", total / raw_seconds,
                       "rows/s")
    ours = Measure("change_priority via DecisionLog (default settings)", total / ours_seconds,
                   "commands/s",
                   extra={"library_defaults_per_s": round(total / solo_seconds, 1),
                          "event_bytes": len(state)})
    ratio = ours.value / baseline.value
    return Result(
        name=NAME, row=1, title="command in process (load → decide → save 1 event), SQLite",
        mode=mode, baseline=baseline, ours=ours, target=f"≥ {TARGET}x", met=ratio >= TARGET,
        params={"commands": total, "rounds": ROUNDS, "features": features,
                "journal_mode": journal, "synchronous": sync},
        notes=[f"our time per command beyond the raw commit: "
               f"{(1 / ours.value - 1 / baseline.value) * 1e6:,.0f} µs (the ratio is higher "
               f"when fsync is slow, lower when it is fast)",
               f"library defaults (no group commit, no aggregate cache): "
               f"{total / solo_seconds:,.0f} commands/s = "
               f"{total / solo_seconds / baseline.value:.2f}x"],
    )


def raw_inserts(raw: sqlite3.Connection, topic: str, state: bytes, count: int) -> float:
    """Seconds to insert ``count`` rows, one transaction each."""
    with stopwatch() as elapsed:
        for _ in range(count):
            raw.execute("BEGIN")
            raw.execute(RAW_INSERT, (uuid.uuid4().hex, 1, topic, state))
            raw.execute("COMMIT")
        return elapsed()


def commands(app: DecisionLog, ids: list[uuid.UUID], numbers: range) -> float:
    """Seconds to run one command per number, round robin over ``ids``."""
    with stopwatch() as elapsed:
        for n in numbers:
            command(app, ids[n % len(ids)], n)
        return elapsed()
