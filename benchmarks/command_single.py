"""Row 1: one command at a time in process (load → decide → save one event) on SQLite.

Baseline: raw SQLite, one ``INSERT`` + ``COMMIT`` per row of the same bytes, with the same
durability eventsourcing's SQLite store uses (WAL, ``synchronous=FULL``).
"""

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

NAME = "command_single"
TARGET = 0.6


def run(mode: Mode) -> Result:
    commands = sizes(mode, smoke=50, quick=2_000, full=10_000)
    features = max(5, commands // 10)  # ~10 events per feature by the end
    with scratch_dir() as tmp:
        app = open_app(tmp / "ours")
        _, ids = seed_features(app, features)
        journal, sync = durability(app)
        topic, state = sample_row(app, command(app, ids[0], 10**7))

        raw = raw_connection(tmp / "raw.db")
        with stopwatch() as elapsed:
            for _ in range(commands):
                raw.execute("BEGIN")
                raw.execute(RAW_INSERT, (uuid.uuid4().hex, 1, topic, state))
                raw.execute("COMMIT")
            raw_seconds = elapsed()
        raw.close()

        ours_rate = _commands_per_second(app, ids, commands)
        app.close()
        solo = open_app(tmp / "solo", group_commit=False)
        _, solo_ids = seed_features(solo, features)
        solo_rate = _commands_per_second(solo, solo_ids, commands)
        solo.close()

    baseline = Measure("raw INSERT+COMMIT per row, WAL, synchronous=FULL",
                       commands / raw_seconds, "rows/s")
    ours = Measure("change_priority via DecisionLog (default settings)", ours_rate, "commands/s",
                   extra={"without_group_commit_per_s": round(solo_rate, 1),
                          "event_bytes": len(state)})
    ratio = ours.value / baseline.value
    return Result(
        name=NAME, row=1, title="command in process (load → decide → save 1 event), SQLite",
        mode=mode, baseline=baseline, ours=ours, target=f"≥ {TARGET}x", met=ratio >= TARGET,
        params={"commands": commands, "features": features, "journal_mode": journal,
                "synchronous": sync},
    )


def _commands_per_second(app: object, ids: list[uuid.UUID], commands: int) -> float:
    from services.application import DecisionLog

    assert isinstance(app, DecisionLog)
    with stopwatch() as elapsed:
        for n in range(commands):
            command(app, ids[n % len(ids)], n)
        return commands / elapsed()
