"""Row 6: how long after a command returns its change is visible in the views, under load,
with the event log on SQLite (``view_lag``) or PostgreSQL (``view_lag_pg``).

``THREADS`` threads each run commands back to back; after each, the thread wakes the views'
catch-up (as the HTTP layer does) and waits until the views reach the command's position.
Lag = command returned → views at its position. Baseline: the same pipeline raw — a writer
commits a row to the log's engine, a tailing thread woken by an event reads it there, copies
it into a SQLite database (where the views live on either store) and commits, and the writer
waits for that — the floor any catch-up design can reach.
"""

import functools
import operator
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Measure, Mode, Result, latency_summary, sizes
from benchmarks.workload import (
    RAW_INSERT,
    RawLog,
    StoreKind,
    command,
    durability_note,
    raw_connection,
    seed_features,
    store,
)
from services.runtime.service import build_runtime

NAME = "view_lag"
THREADS = 8
P50_MS, P99_MS = 20, 100


def run(mode: Mode, kind: StoreKind = "sqlite") -> Result:
    per_thread = sizes(mode, smoke=20, quick=300, full=1500)
    with store(kind, mode) as used:
        raw = raw_lags(used.raw("raw_events"), used.folder, per_thread)
        runtime = build_runtime(used.settings("ours"))
        _, ids = seed_features(runtime.app, THREADS * 10)
        runtime.catchup.run_until_caught_up()
        runtime.start()
        lags: list[float] = []

        def worker(k: int) -> None:
            mine = ids[k::THREADS]
            for n in range(per_thread):
                position = command(runtime.app, mine[n % len(mine)], n)
                returned = time.perf_counter()
                runtime.catchup.notify()
                assert runtime.views.wait_for(position, timeout=30)
                lags.append(time.perf_counter() - returned)

        started = time.perf_counter()
        in_threads(worker)
        seconds = time.perf_counter() - started
        runtime.close()
        durability, notes = used.durability(), durability_note(used)

    ours, base = latency_summary(lags), latency_summary(raw)
    return Result(
        name=NAME if kind == "sqlite" else f"{NAME}_pg", row=6,
        title=f"command → view visibility lag, {THREADS} writer threads, {used.title}",
        mode=mode,
        baseline=Measure(f"raw {used.title} commit → tailing thread copies → waiter woken "
                         "(p50)",
                         base["p50_ms"], "ms", higher_is_better=False, extra=base),
        ours=Measure("command returned → views.wait_for(position) (p50)", ours["p50_ms"], "ms",
                     higher_is_better=False, extra={**ours, "commands_per_s":
                                                    round(len(lags) / seconds, 1)}),
        target=f"p50 ≤ {P50_MS} ms, p99 ≤ {P99_MS} ms",
        met=ours["p50_ms"] <= P50_MS and ours["p99_ms"] <= P99_MS,
        params={"threads": THREADS, "commands_per_thread": per_thread, **durability},
        notes=notes,
    )


def in_threads(work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def raw_lags(source: RawLog, tmp: Path, per_thread: int) -> list[float]:
    """The baseline pipeline: writers commit rows to ``source``, a tailer copies them into a
    SQLite database in ``tmp`` and wakes the writers."""
    target = raw_connection(tmp / "raw-views.db")
    write_lock, wake, stop = threading.Lock(), threading.Event(), threading.Event()
    applied = threading.Condition()
    position = [0]
    lags: list[float] = []

    def tail() -> None:
        while not stop.is_set():
            wake.wait(0.2)
            wake.clear()
            rows = source.after(position[0], 500)
            if rows:
                target.execute("BEGIN")
                target.executemany(RAW_INSERT, [(str(r[0]), 1, "t", r[1]) for r in rows])
                target.execute("COMMIT")
                with applied:
                    position[0] = rows[-1][0]
                    applied.notify_all()

    def worker(k: int) -> None:
        for _ in range(per_thread):
            with write_lock:
                mine = source.insert([source.row("t", b"{}" * 150)])
            returned = time.perf_counter()
            wake.set()
            reached = functools.partial(operator.ge, position, [mine])  # position >= [mine]
            with applied:
                applied.wait_for(reached, timeout=30)
            lags.append(time.perf_counter() - returned)

    tailer = threading.Thread(target=tail)
    tailer.start()
    in_threads(worker)
    stop.set()
    wake.set()
    tailer.join()
    source.close()
    target.close()
    return lags
