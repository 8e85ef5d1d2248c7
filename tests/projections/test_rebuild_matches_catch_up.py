"""A rebuild from zero writes exactly the rows the incremental catch-up writes.

The rebuild has its own path (:func:`projections.views.load_first_pass`: rows written once,
by one or more loader processes, indexes made at the end); these tests hold it to the
catch-up's rows and schema, over a history with every change type, whatever the number of
loaders. (The row ids of the interval tables differ: they only tell rows apart. The
audit's row id is its ``seq`` column, compared as such. The search documents are compared
without their ids, and the full-text index by the words it holds, see
:mod:`tests.projections.search_index`.)
"""

import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from contract.changes import CHANGE_TYPES
from projections.feeding.catch_up import StoreCatchUp
from projections.feeding.rebuild import rebuild
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.settings import Settings, StoreSettings
from tests.projections.scenario import changes_of, roadmap_story
from tests.projections.search_index import is_search_table, search_rows
from tests.projections.test_decode import every_change_type
from tests.support.builders import BOOKS, by
from tests.support.clock import SimulatedClock
from tests.support.stores import open_log

# The SQLite rebuild (a first pass into a new file); PostgreSQL's views are rebuilt in
# place, tested in tests/projections/test_pg_views.py.
pytestmark = pytest.mark.sqlite_only


def every_row(path: Path) -> dict[str, Any]:
    """The schema, and every row of every table, sorted by every column."""
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                              "ORDER BY name").fetchall()
        tables = [name for kind, name, _, _ in schema if kind == "table"]
        rows = {}
        for table in tables:
            if is_search_table(table):
                continue
            width = len(conn.execute(f"SELECT * FROM {table} LIMIT 0").description)
            order = ", ".join(str(n) for n in range(1, width + 1))
            rows[table] = conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        rows |= search_rows(conn)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return {"schema": schema, "user_version": version, "rows": rows}
    finally:
        conn.close()


def caught_up(log: DecisionLog, path: Path, views: Views | None = None) -> None:
    """The views at ``path`` brought up to date by the catch-up, one change per batch (so
    every row is written as the simplest path writes it)."""
    opened = views or Views(path)
    StoreCatchUp(log, opened, batch_size=1).run_until_caught_up()
    if views is None:
        opened.close()


def a_rich_history(log: DecisionLog, clock: SimulatedClock) -> None:
    """Every change type (decisions, reversals and scored priorities included), a roadmap
    that is scheduled, moved, slipped, rejected, shipped and cancelled, stamps with and
    without microseconds, and a writer whose clock is behind."""
    clock.step = timedelta(seconds=1, microseconds=250_001)
    every_change_type(log)
    story = roadmap_story(log)
    clock.step = timedelta(seconds=1)
    release = BOOKS.a_release(log, story.product, "3.0", date(2027, 1, 1))
    feature = BOOKS.a_feature(log, story.product, "Offline mode", 4)
    log.schedule_feature(feature, release, by("alice", "Field teams asked"))
    clock.now -= timedelta(minutes=5)
    log.change_target_date(release, date(2027, 2, 1), by("alice", "Stamped before its plan"))
    assert {c.type for c in changes_of(log)} == {t for _, t in CHANGE_TYPES.values()}


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_rebuild_writes_every_row_the_catch_up_writes(
        log: DecisionLog, clock: SimulatedClock, tmp_path: Path, workers: int) -> None:
    a_rich_history(log, clock)
    caught_up(log, tmp_path / "caught_up.db")

    rebuild(log, tmp_path / "rebuilt.db", workers=workers)

    expected = every_row(tmp_path / "caught_up.db")
    assert every_row(tmp_path / "rebuilt.db") == expected
    assert expected["rows"]["tracking"] == [("store", log.event_count())]


def test_catching_up_after_a_rebuild_carries_on_from_the_rebuilt_position(
        log: DecisionLog, clock: SimulatedClock, tmp_path: Path) -> None:
    a_rich_history(log, clock)
    story = roadmap_story(log)
    rebuild(log, tmp_path / "rebuilt.db")
    # Changes to entities whose rows the rebuild left open, and new entities.
    log.change_target_date(story.releases["2.0"], date(2026, 10, 1), by("alice", "Slipped again"))
    log.schedule_feature(story.features["Import"], story.releases["2.0"], by("alice", "Moved"))
    BOOKS.a_feature(log, story.product, "Webhooks", 6)

    rebuilt = Views(tmp_path / "rebuilt.db")
    caught_up(log, tmp_path / "rebuilt.db", rebuilt)
    rebuilt.close()
    caught_up(log, tmp_path / "caught_up.db")

    assert every_row(tmp_path / "rebuilt.db") == every_row(tmp_path / "caught_up.db")


def test_a_store_that_is_not_sqlite_is_rebuilt_through_its_notifications(
        clock: SimulatedClock, tmp_path: Path) -> None:
    for log in open_log(Settings(data_dir=tmp_path, store=StoreSettings(kind="memory"))):
        a_rich_history(log, clock)
        caught_up(log, tmp_path / "caught_up.db")

        rebuild(log, tmp_path / "rebuilt.db")

        assert every_row(tmp_path / "rebuilt.db") == every_row(tmp_path / "caught_up.db")
