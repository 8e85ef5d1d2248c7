"""Row 2: concurrent commands in process from many threads, with group commit.

Each thread changes the priority of its own features (no conflicts), one event per command.
Baseline: raw SQLite inserting the same bytes in transactions of ``max_batch`` rows from one
thread (the best the engine does with batching), same durability (WAL, ``synchronous=FULL``).
"""

import threading
import uuid

from benchmarks.harness import Measure, Mode, Result, sizes, stopwatch
from benchmarks.workload import (
    RAW_INSERT,
    command,
    open_app,
    raw_connection,
    sample_row,
    scratch_dir,
    seed_features,
)
from services.application import DecisionLog
from services.group_commit import GroupCommitRecorder

NAME = "command_concurrent"
TARGET = 10_000
THREADS = 32
BATCH = 100


def run(mode: Mode) -> Result:
    commands = sizes(mode, smoke=200, quick=10_000, full=40_000)
    threads = sizes(mode, smoke=4, quick=THREADS, full=THREADS)
    features = max(threads, commands // 10)
    with scratch_dir() as tmp:
        app = open_app(tmp / "ours", group_commit_max_batch=BATCH)
        _, ids = seed_features(app, features)
        topic, state = sample_row(app, command(app, ids[0], 10**7))

        raw = raw_connection(tmp / "raw.db")
        with stopwatch() as elapsed:
            for start in range(0, commands, BATCH):
                raw.execute("BEGIN")
                raw.executemany(RAW_INSERT, [(uuid.uuid4().hex, 1, topic, state)
                                             for _ in range(min(BATCH, commands - start))])
                raw.execute("COMMIT")
            raw_seconds = elapsed()
        raw.close()

        ours_rate = drive(app, ids, commands, threads)
        recorder = app.recorder
        mean_batch = (recorder.commands / recorder.batches
                      if isinstance(recorder, GroupCommitRecorder) and recorder.batches else 1.0)
        app.close()
        solo = open_app(tmp / "solo", group_commit=False)
        _, solo_ids = seed_features(solo, features)
        solo_rate = drive(solo, solo_ids, commands, threads)
        solo.close()

    baseline = Measure(f"raw executemany, {BATCH} rows per COMMIT, 1 thread",
                       commands / raw_seconds, "rows/s")
    ours = Measure(f"change_priority from {threads} threads, group commit", ours_rate,
                   "decisions/s", extra={"mean_batch": round(mean_batch, 1),
                                         "without_group_commit_per_s": round(solo_rate, 1)})
    return Result(
        name=NAME, row=2, title=f"concurrent commands in process ({threads} threads), group commit",
        mode=mode, baseline=baseline, ours=ours, target=f"≥ {TARGET:,} decisions/s",
        met=ours.value >= TARGET,
        params={"commands": commands, "threads": threads, "features": features,
                "max_batch": BATCH},
    )


def drive(app: DecisionLog, ids: list[uuid.UUID], commands: int, threads: int) -> float:
    """Run ``commands`` commands from ``threads`` threads (disjoint features); commands/s."""
    per_thread = commands // threads
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        mine = ids[k::threads]
        start.wait()
        try:
            for n in range(per_thread):
                command(app, mine[n % len(mine)], n)
        except BaseException as error:  # reported after the run
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    with stopwatch() as elapsed:
        start.wait()
        for w in workers:
            w.join()
        seconds = elapsed()
    if errors:
        raise errors[0]
    return per_thread * threads / seconds
