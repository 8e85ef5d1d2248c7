"""The views in PostgreSQL, as replicas share them: tables made once however many start
together, a position every replica takes up, writes that never move it backwards or
apply a change twice, a rebuild in place, and as-of reads that stay indexed lookups.

The answers themselves are tested on both databases by the rest of this folder."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from projections import pg
from projections.dialect import Connection
from projections.feeding.catch_up import StoreCatchUp
from projections.feeding.rebuild import rebuild_in_place
from projections.intervals import states
from projections.pg_views import PgViews, open_views
from projections.roadmap import FEATURES
from projections.views import OWN_TABLES, SCHEMA, VIEWS_VERSION, Views
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from tests.projections.scenario import changes_of, interleaved, roadmap_story
from tests.support.builders import by
from tests.support.stores import settings_on


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The event log and the views in the test's PostgreSQL database (this file only)."""
    return settings_on("postgres", tmp_path, request)


@pytest.fixture
def dsn(settings: Settings) -> str:
    assert settings.store.dsn is not None
    return settings.store.dsn.get_secret_value()


@pytest.fixture
def replica(dsn: str, views: Views) -> Iterator[PgViews]:
    """The views as a second replica opens them (after the first made the tables)."""
    other = PgViews(dsn)
    yield other
    other.close()


def dump(views: Views) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the views, in a stable order; search documents without the id the
    database gave them."""
    tables = [name for name in (*OWN_TABLES, "tracking") if name != "search_index"]
    with views.reading() as conn:
        found = {name: [tuple(row) for row in conn.execute(f"SELECT * FROM {name}")]
                 for name in tables}
    found["search_documents"] = [row[1:8] for row in found["search_documents"]]
    return {name: sorted(rows, key=repr) for name, rows in found.items()}


# Tables made once

def test_replicas_starting_together_make_the_tables_once(dsn: str) -> None:
    starting = 8
    together = threading.Barrier(starting)
    found: list[int] = []
    failed: list[BaseException] = []

    def start() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                together.wait()
                found.append(pg.migrate(conn, VIEWS_VERSION, SCHEMA, OWN_TABLES))
        except BaseException as error:  # reported below
            failed.append(error)

    threads = [threading.Thread(target=start) for _ in range(starting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert sorted(found) == [0] + [VIEWS_VERSION] * (starting - 1)
    views = PgViews(dsn)
    assert (views.position, views.event_count()) == (0, 0)
    views.close()


def test_views_of_an_older_version_are_emptied_and_caught_up_again(
        log: DecisionLog, views: Views, dsn: str) -> None:
    story = roadmap_story(log)
    StoreCatchUp(log, views).run_until_caught_up()
    before = dump(views)
    views.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE views_version SET version = %s", (VIEWS_VERSION - 1,))

    again = PgViews(dsn)
    emptied = (again.position, again.event_count(), again.roadmap(story.product))
    StoreCatchUp(log, again).run_until_caught_up()

    assert emptied == (0, 0, None)
    assert dump(again) == before
    again.close()


def test_views_of_a_newer_version_are_refused_not_emptied(views: Views, dsn: str) -> None:
    views.apply([], 7)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE views_version SET version = %s", (VIEWS_VERSION + 1,))

    with pytest.raises(RuntimeError, match="newer than this release knows"):
        PgViews(dsn)

    assert views.refresh() == 7


# One position, every replica

def test_a_change_applied_through_one_replica_is_read_through_another_after_refresh(
        log: DecisionLog, views: Views, replica: PgViews) -> None:
    story = roadmap_story(log)
    end = log.event_count()
    woken: list[str] = []
    replica.call_when_reached(end, lambda: woken.append("reached"))

    StoreCatchUp(log, views).run_until_caught_up()

    assert (replica.position, woken, replica.waiting) == (0, [], 1)
    assert replica.refresh() == end
    assert (replica.position, woken, replica.waiting) == (end, ["reached"], 0)
    assert replica.wait_for(end, timeout=0)
    assert replica.roadmap(story.product) == views.roadmap(story.product)
    assert replica.search("export") == views.search("export")


def test_the_position_never_goes_backwards(views: Views, replica: PgViews) -> None:
    views.apply([], 10)
    replica.apply([], 4)  # a slower writer, behind

    assert (views.position, replica.position) == (10, 10)
    assert views.refresh() == replica.refresh() == 10


# Idempotent writes, from one writer or several

def test_applying_the_same_changes_again_in_any_order_changes_nothing(
        log: DecisionLog, views: Views) -> None:
    roadmap_story(log)
    changes = changes_of(log)
    views.apply(changes, len(changes))
    once = dump(views)

    views.apply(changes[::-1], len(changes))
    views.apply(interleaved(changes, seed=3), len(changes))

    assert dump(views) == once


def test_writers_applying_the_same_changes_at_once_write_them_once(
        log: DecisionLog, views: Views, replica: PgViews, dsn: str) -> None:
    story = roadmap_story(log)
    changes = changes_of(log)
    writers = [views, replica, PgViews(dsn)]
    together = threading.Barrier(len(writers))
    failed: list[BaseException] = []

    def write(writer: Views) -> None:
        try:
            together.wait()
            for start in range(0, len(changes), 7):
                writer.apply(changes[start:start + 7], start + len(changes[start:start + 7]))
        except BaseException as error:  # reported below
            failed.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writers[2].close()

    at_once = dump(views)
    assert isinstance(views, PgViews)
    views.rebuild([changes], len(changes))  # the rows of one writer, applying them once

    assert failed == []
    assert at_once == dump(views)
    assert views.refresh() == len(changes) == views.event_count()
    roadmap = views.roadmap(story.product)
    assert roadmap is not None and roadmap["now"]["name"] == "1.1"


# Rebuilt in place

def test_a_rebuild_in_place_gives_the_rows_the_catch_up_gave(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    story = roadmap_story(log)
    catchup.run_until_caught_up()
    before = dump(views)
    with views.transaction() as conn:  # so that a rebuild that does nothing fails
        conn.execute("DELETE FROM features")
        conn.execute("DELETE FROM audit WHERE seq > 3")
        conn.execute("DELETE FROM search_documents")

    assert isinstance(views, PgViews)
    rebuild_in_place(log, views)

    assert dump(views) == before
    log.revise_feature(story.features["Export"], by("alice", "Clearer"), title="CSV export")
    catchup.run_until_caught_up()
    assert [f["title"] for f in views.search("csv")["items"]] == ["CSV export"]


# As-of reads are indexed lookups

def test_an_as_of_read_probes_the_history_index_not_the_whole_table(views: Views) -> None:
    with views.transaction() as conn:
        conn.execute(_MANY_FEATURES)
        conn.execute("ANALYZE features")

    with views.reading() as conn:
        recorded = _Recording(conn)
        found = states(recorded, FEATURES, "product_id = ?", ("p3",),
                       datetime(2026, 1, 3, 12, tzinfo=UTC), ("entity_id", "entity_version"))
        [(sql, params)] = recorded.statements
        plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {sql}", params))

    assert {row["entity_version"] for row in found} == {3} and len(found) == 100
    assert "Seq Scan" not in plan
    assert "features_history" in plan and "features_product_entities" in plan


#: 2 000 features of 20 products, each with 5 versions (one a day from 1 January 2026).
_MANY_FEATURES = """
INSERT INTO features (entity_id, entity_version, product_id, valid_from, valid_to, title,
                      problem, business_value, benefit, priority, status, release_id,
                      requirements)
SELECT 'f' || f, v, 'p' || (f % 20),
       '2026-01-0' || v || 'T00:00:00.000000+00:00',
       CASE WHEN v < 5 THEN '2026-01-0' || (v + 1) || 'T00:00:00.000000+00:00' END,
       'Feature ' || f, '', '', '', 1, 'proposed', NULL, '{}'
FROM generate_series(1, 2000) AS f, generate_series(1, 5) AS v
"""


class _Recording:
    """A connection that keeps the statements run through it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = getattr(conn, "dialect", "sqlite")
        self.statements: list[tuple[str, Any]] = []

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        self.statements.append((sql, parameters))
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        return self.conn.executemany(sql, parameters)


def test_open_views_picks_the_database_by_the_location(dsn: str, tmp_path: Path) -> None:
    in_postgres, in_a_file = open_views(dsn), open_views(tmp_path / "views.db")

    assert (type(in_postgres), type(in_a_file)) == (PgViews, Views)
    in_postgres.close()
    in_a_file.close()
