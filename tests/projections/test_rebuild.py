"""Rebuilding the views from the whole log gives the very same rows, atomically."""

import os
import signal
import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from projections.feeding import rebuild as rebuilding
from projections.feeding.catch_up import StoreCatchUp
from projections.feeding.rebuild import RebuildFailed, ViewsInUse, rebuild
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.projections.scenario import dump, roadmap_story
from tests.support.builders import by

# The SQLite rebuild: a new file swapped in, refused while the file is open, file versions;
# PostgreSQL's rebuild and versions are tested in tests/projections/test_pg_views.py.
pytestmark = pytest.mark.sqlite_only


def test_a_rebuild_from_zero_gives_identical_rows(log: DecisionLog, settings: Settings) -> None:
    roadmap_story(log)
    views = Views(settings.views_path)
    catchup = StoreCatchUp(log, views, batch_size=7)  # many small batches, then one big one
    catchup.run_until_caught_up()
    views.close()
    before = dump(settings.views_path)
    with sqlite3.connect(settings.views_path) as damage:  # so a rebuild that does nothing fails
        damage.execute("DELETE FROM audit")
    damage.close()

    rebuild(log, settings.views_path)

    assert dump(settings.views_path) == before
    assert before["tracking"] == [("store", log.event_count())]


def test_a_rebuild_leaves_no_temporary_file_behind(log: DecisionLog, settings: Settings) -> None:
    roadmap_story(log)

    rebuild(log, settings.views_path)

    assert sorted(p.name for p in settings.views_path.parent.iterdir()
                  if p.name.startswith("views")) == ["views.db"]
    views = Views(settings.views_path)
    assert views.position == views.event_count() == log.event_count()
    views.close()


def test_views_still_open_are_not_replaced(log: DecisionLog, views: Views,
                                           settings: Settings) -> None:
    roadmap_story(log)
    StoreCatchUp(log, views).run_until_caught_up()
    before = views.audit(limit=1000)

    with pytest.raises(ViewsInUse):
        rebuild(log, settings.views_path)

    assert views.audit(limit=1000) == before


def test_views_made_by_another_version_start_afresh_and_catch_up_again(
        log: DecisionLog, settings: Settings) -> None:
    story = roadmap_story(log)
    first = Views(settings.views_path)
    StoreCatchUp(log, first).run_until_caught_up()
    first.close()
    before = dump(settings.views_path)
    conn = sqlite3.connect(settings.views_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()

    views = Views(settings.views_path)
    emptied = (views.position, views.roadmap(story.product))
    StoreCatchUp(log, views).run_until_caught_up()
    views.close()

    assert emptied == (0, None)
    assert dump(settings.views_path) == before


@pytest.mark.sqlite_only  # loader processes read the SQLite log file; PostgreSQL's is read by one
def test_a_loader_process_killed_mid_rebuild_fails_it_and_leaves_the_old_views(
        log: DecisionLog, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    story = roadmap_story(log)
    rebuild(log, settings.views_path)
    before = dump(settings.views_path)
    log.change_target_date(story.releases["2.0"], date(2026, 12, 1), by("alice", "Slipped"))
    monkeypatch.setattr(rebuilding, "REBUILD_PAGE", 3)
    loader_pages = rebuilding._share_rows

    def killed_after_one_page(events: str, end: int, share: int, shares: int) -> Iterator[Any]:
        pages = loader_pages(events, end, share, shares)
        if share == 1:  # a forked loader, not this process
            yield next(pages)  # written while the next page is read
            yield next(pages)
            os.kill(os.getpid(), signal.SIGKILL)
        yield from pages

    monkeypatch.setattr(rebuilding, "_share_rows", killed_after_one_page)

    with pytest.raises(RebuildFailed, match="-9"):
        rebuild(log, settings.views_path, workers=2)

    assert dump(settings.views_path) == before
    assert sorted(p.name for p in settings.views_path.parent.iterdir()
                  if p.name.startswith("views")) == ["views.db"]
    monkeypatch.undo()
    rebuild(log, settings.views_path, workers=2)  # and the next attempt succeeds
    rebuilt = Views(settings.views_path)
    assert rebuilt.event_count() == log.event_count() == len(before["audit"]) + 1
    rebuilt.close()
