"""Row 6: how long after a command returns its change is visible in the views, under load.

``THREADS`` threads each run commands back to back; after each, the thread wakes the views'
catch-up (as the HTTP layer does) and waits until the views reach the command's position.
Lag = command returned → views at its position. Baseline: the same pipeline in raw SQLite —
a writer commits a row, a tailing thread woken by an event copies it into another database
and commits, and the writer waits for that — the floor any catch-up design can reach.
"""

import functools
import operator
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Measure, Mode, Result, latency_summary, sizes
from benchmarks.workload import RAW_INSERT, command, raw_connection, scratch_dir, seed_features
from services.runtime.service import build_runtime
from services.runtime.settings import Settings

NAME = "view_lag"
THREADS = 8
P50_MS, P99_MS = 20, 100


def run(mode: Mode) -> Result:
    per_thread = sizes(mode, smoke=20, quick=300, full=1500)
    with scratch_dir() as tmp:
        raw = raw_lags(tmp, per_thread)
        runtime = build_runtime(Settings(data_dir=tmp / "ours"))
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

    ours, base = latency_summary(lags), latency_summary(raw)
    return Result(
        name=NAME, row=6, title=f"command → view visibility lag, {THREADS} writer threads",
        mode=mode,
        baseline=Measure("raw SQLite commit → tailing thread copies → waiter woken (p50)",
                         base["p50_ms"], "ms", higher_is_better=False, extra=base),
        ours=Measure("command returned → views.wait_for(position) (p50)", ours["p50_ms"], "ms",
                     higher_is_better=False, extra={**ours, "commands_per_s":
                                                    round(len(lags) / seconds, 1)}),
        target=f"p50 ≤ {P50_MS} ms, p99 ≤ {P99_MS} ms",
        met=ours["p50_ms"] <= P50_MS and ours["p99_ms"] <= P99_MS,
        params={"threads": THREADS, "commands_per_thread": per_thread},
    )


def in_threads(work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def raw_lags(tmp: Path, per_thread: int) -> list[float]:
    """The baseline pipeline: writers commit rows, a tailer copies them and wakes the writers."""
    source = raw_connection(tmp / "raw-events.db")
    target = raw_connection(tmp / "raw-views.db")
    reader = sqlite3.connect(tmp / "raw-events.db", check_same_thread=False, isolation_level=None)
    write_lock, wake, stop = threading.Lock(), threading.Event(), threading.Event()
    applied = threading.Condition()
    position = [0]
    lags: list[float] = []

    def tail() -> None:
        while not stop.is_set():
            wake.wait(0.2)
            wake.clear()
            rows = reader.execute("SELECT rowid, state FROM stored_events WHERE rowid > ? "
                                  "ORDER BY rowid LIMIT 500", (position[0],)).fetchall()
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
                source.execute("BEGIN")
                cursor = source.execute(RAW_INSERT, (uuid.uuid4().hex, 1, "t", b"{}" * 150))
                mine = cursor.lastrowid or 0
                source.execute("COMMIT")
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
    for conn in (source, target, reader):
        conn.close()
    return lags
