"""Row 2: concurrent commands in process from many threads, run in command batches, on
SQLite (``command_concurrent``) or PostgreSQL (``command_concurrent_pg``).

Each thread changes the priority of its own features (no conflicts), one event per command.
Baseline, ours and the library defaults alternate in ``ROUNDS`` rounds (noise hits all alike).
Baseline: the raw engine inserting the same bytes in transactions of ``max_batch`` rows from
one thread (the best the engine does with batching), same durability: on SQLite
``executemany`` with WAL and ``synchronous=FULL``; on PostgreSQL one ``INSERT … SELECT FROM
unnest(…)`` per transaction, psycopg, one connection.
"""

import threading
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

NAME = "command_concurrent"
TARGET = 10_000
THREADS = 32
BATCH = 100
ROUNDS = 5


def run(mode: Mode, kind: StoreKind = "sqlite", target: float = TARGET) -> Result:
    per_round = sizes(mode, smoke=200, quick=2_048, full=10_240)  # divisible by the threads
    threads = sizes(mode, smoke=4, quick=THREADS, full=THREADS)
    features = max(threads, per_round * ROUNDS // 10)  # ~10 events per feature by the end
    raw_seconds = ours_seconds = solo_seconds = saves_seconds = 0.0
    with store(kind, mode) as used:
        app = used.app("ours", group_commit_max_batch=BATCH)
        solo = used.app("solo", group_commit=False, aggregate_cache_size=0)
        saves = used.app("saves", group_commit_max_batch=BATCH, command_batches=False)
        _, ids = seed_features(app, features)
        _, solo_ids = seed_features(solo, features)
        _, saves_ids = seed_features(saves, features)
        topic, state = sample_row(app, command(app, ids[0], 10**7))
        durability, notes = used.durability(app), durability_note(used)
        raw = used.raw("raw")
        assert app.commands.batches is not None
        batches = app.commands.batches.combiner
        batches_before, commands_before = batches.batches, batches.jobs
        for r in range(ROUNDS):
            raw_seconds += raw_batches(raw, topic, state, per_round)
            ours_seconds += drive(app, ids, per_round, threads, first=r * per_round)
            solo_seconds += drive(solo, solo_ids, per_round, threads, first=r * per_round)
            saves_seconds += drive(saves, saves_ids, per_round, threads, first=r * per_round)
        mean_batch = ((batches.jobs - commands_before)
                      / max(1, batches.batches - batches_before))
        for closing in (raw, app, solo, saves):
            closing.close()

    total = per_round * ROUNDS
    baseline = Measure(f"raw {raw.batch_insert}, {BATCH} rows per COMMIT, 1 thread",
                       total / raw_seconds, "rows/s")
    ours = Measure(f"change_priority from {threads} threads, command batches",
                   total / ours_seconds,
                   "decisions/s", extra={"mean_batch": round(mean_batch, 1),
                                         "library_defaults_per_s": round(total / solo_seconds),
                                         "saves_only_per_s": round(total / saves_seconds)})
    return Result(
        name=NAME if kind == "sqlite" else f"{NAME}_pg", row=2,
        title=f"concurrent commands in process ({threads} threads), command batches, "
              f"{used.title}",
        mode=mode, baseline=baseline, ours=ours, target=f"≥ {target:,} decisions/s",
        met=ours.value >= target,
        params={"commands": total, "rounds": ROUNDS, "threads": threads, "features": features,
                "max_batch": BATCH, **durability},
        notes=[*notes, f"mean command batch {mean_batch:.1f} commands (run by one thread, one "
               f"transaction each); library defaults (one "
               f"transaction per command, no aggregate cache): {total / solo_seconds:,.0f}/s; "
               f"commands on their own threads, only saves group-committed: "
               f"{total / saves_seconds:,.0f}/s"],
    )


def raw_batches(raw: RawLog, topic: str, state: bytes, count: int) -> float:
    """Seconds to insert ``count`` rows in transactions of ``BATCH`` rows."""
    with stopwatch() as elapsed:
        for start in range(0, count, BATCH):
            raw.insert([raw.row(topic, state) for _ in range(min(BATCH, count - start))])
        return elapsed()


def drive(app: DecisionLog, ids: list[uuid.UUID], commands: int, threads: int,
          first: int = 0) -> float:
    """Seconds to run ``commands`` commands from ``threads`` threads (disjoint features)."""
    per_thread = commands // threads
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        mine = ids[k::threads]
        start.wait()
        try:
            for n in range(per_thread):
                command(app, mine[n % len(mine)], first + n)
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
    return seconds
