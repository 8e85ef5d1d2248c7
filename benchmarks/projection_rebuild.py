"""Row 5: rebuilding the views from zero over a long event log (1M events in full mode).

Baseline: raw SQLite reading the same table in position order and ``json.loads`` of every
event's state. Ours: :func:`projections.feeding.rebuild.rebuild` with its default loaders (one per
core, up to four; their number is in the result), each run from no views at all. The two
alternate, 3 times each in quick/full mode (baseline first), so that background load hits
both sides alike; the median of each side is reported. Memory: growth of the peak memory of
this process and its loader processes during a rebuild, per million events, the largest of
the runs (see :class:`benchmarks.harness.PeakRSS`).
"""

import json
import sqlite3
import statistics

from benchmarks.harness import Measure, Mode, PeakRSS, Result, sizes, stopwatch
from benchmarks.history import write_history
from benchmarks.workload import open_app, scratch_dir
from projections.feeding.rebuild import default_workers, rebuild

NAME = "projection_rebuild"
TARGET = 0.3
TARGET_MB_PER_MILLION = 50
PAGE = 1000


def run(mode: Mode) -> Result:
    wanted = sizes(mode, smoke=2_000, quick=100_000, full=1_000_000)
    repeats = sizes(mode, smoke=1, quick=3, full=3)
    raw_runs: list[float] = []
    ours_runs: list[float] = []
    growth = 0
    with scratch_dir() as tmp:
        app = open_app(tmp)
        events = write_history(app, wanted)
        views = tmp / "views.db"
        for _ in range(repeats):
            with stopwatch() as elapsed:
                decoded = raw_read(app.recorder.datastore.pool.db_name)  # type: ignore[attr-defined]
                raw_runs.append(events / elapsed())
            assert decoded == events

            views.unlink(missing_ok=True)
            with PeakRSS() as memory, stopwatch() as elapsed:
                rebuild(app, views)
                ours_runs.append(events / elapsed())
            growth = max(growth, memory.growth)
        app.close()

    per_million_mb = growth / 2**20 * 1_000_000 / events
    baseline = Measure("raw SELECT ORDER BY rowid + json.loads", statistics.median(raw_runs),
                       "events/s", extra={"runs_events_per_s": [round(r) for r in raw_runs]})
    ours = Measure("projections.feeding.rebuild from zero", statistics.median(ours_runs),
                   "events/s",
                   extra={"runs_events_per_s": [round(r) for r in ours_runs],
                          "rss_growth_mb": round(growth / 2**20, 1),
                          "rss_growth_mb_per_million": round(per_million_mb, 1)})
    ratio = ours.value / baseline.value
    return Result(
        name=NAME, row=5, title=f"projection rebuild from zero ({events:,} events)", mode=mode,
        baseline=baseline, ours=ours,
        target=f"≥ {TARGET}x, ≤ {TARGET_MB_PER_MILLION} MB per million events",
        met=ratio >= TARGET and per_million_mb <= TARGET_MB_PER_MILLION,
        params={"events": events, "loaders": default_workers(), "repeats": repeats,
                "statistic": "median of the runs"},
        notes=[f"memory growth {per_million_mb:.1f} MB per million events (peak, this process "
               f"and its {default_workers() - 1} loader process(es))"],
    )


def raw_read(path: str) -> int:
    """Read every stored event in order and decode its JSON; how many were read."""
    conn = sqlite3.connect(path)
    count, last = 0, 0
    try:
        while True:
            rows = conn.execute("SELECT rowid, topic, state FROM stored_events WHERE rowid > ? "
                                "ORDER BY rowid LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return count
            for _, _, state in rows:
                json.loads(state)
            count += len(rows)
            last = rows[-1][0]
    finally:
        conn.close()
