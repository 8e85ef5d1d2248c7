"""Applying changes in batches writes exactly what applying them one at a time writes."""

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from contract.changes import Change
from projections import audit, roadmap, search
from projections.views import Views, apply_changes
from services.commands.application import DecisionLog
from tests.projections.scenario import changes_of, interleaved
from tests.projections.search_index import indexed_words, is_index_table
from tests.projections.test_decode import every_change_type

# About SQLite files: each views file is opened and its tables compared. The same
# code writes PostgreSQL's rows (tests/projections/test_pg_views.py).
pytestmark = pytest.mark.sqlite_only


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, row ids included, in row id order (the search index by
    the words it holds, see :mod:`tests.projections.search_index`)."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall()
                for t in tables if not is_index_table(t)} | {
            "search_index (words)": indexed_words(conn)}
    finally:
        conn.close()


def one_at_a_time(path: Path, changes: list[Change]) -> None:
    views = Views(path)
    with views.transaction() as conn:
        for change in changes:
            roadmap.apply(conn, change)
            audit.record(conn, change)
            search.index(conn, [change])
    views.close()


def in_batches(path: Path, changes: list[Change], rng: random.Random) -> None:
    views = Views(path)
    start = 0
    while start < len(changes):
        size = rng.choice([1, 2, 3, 7, 20, 1000])
        with views.transaction() as conn:
            apply_changes(conn, iter(changes[start:start + size]))
        start += size
    views.close()


@pytest.mark.parametrize("seed", range(6))
def test_batches_of_any_size_write_what_one_change_at_a_time_writes(
        log: DecisionLog, tmp_path: Path, seed: int) -> None:
    every_change_type(log)
    rng = random.Random(seed)
    changes = interleaved(changes_of(log), seed)
    # Redeliveries (duplicates, older versions) and orphans (a change before its creation).
    for _ in range(len(changes) // 3):
        changes.insert(rng.randrange(len(changes) + 1), rng.choice(changes))
    if seed % 2:
        changes = changes[len(changes) // 4:]

    one_at_a_time(tmp_path / "one.db", changes)
    in_batches(tmp_path / "batched.db", changes, rng)

    assert rows(tmp_path / "batched.db") == rows(tmp_path / "one.db")
