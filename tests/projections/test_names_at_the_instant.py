"""Names in the audit are the names entities had at the instant of each change.

:class:`projections.summaries.Names` looks each name up in the row valid at the instant
(or, describing every change of a window, in that window's rows read once): whichever way,
it answers what the definition answers, the name of the entity's last row starting at or
before the instant, or its first name before it existed (writers' clocks may disagree).
"""

import bisect
from collections.abc import Iterator
from datetime import date, timedelta
from uuid import uuid4

import pytest

from projections import audit
from projections.dialect import Connection
from projections.feeding.catch_up import StoreCatchUp
from projections.intervals import EntityTable
from projections.roadmap import DECISIONS, FEATURES, PRODUCTS, RELEASES
from projections.summaries import EVER, Names, describe
from projections.views import Views
from services.commands.application import DecisionLog
from tests.projections.scenario import roadmap_story
from tests.support.builders import BOOKS, by
from tests.support.clock import SimulatedClock

TABLES: dict[str, tuple[EntityTable, str]] = {
    "product": (PRODUCTS, "name"), "release": (RELEASES, "name"),
    "feature": (FEATURES, "title"), "decision": (DECISIONS, "title"),
}


class EveryRow(Names):
    """The definition: every row of the entity read, the one for the instant bisected."""

    def _lookup(self, table: EntityTable, column: str, entity_id: str, at: str) -> str | None:
        rows = self._conn.execute(
            f"SELECT valid_from, {column} FROM {table.name} WHERE entity_id = ? "
            "ORDER BY valid_from, entity_version", (entity_id,)).fetchall()
        if not rows:
            return None
        starts = [row[0] for row in rows]
        return str(rows[max(bisect.bisect_right(starts, at) - 1, 0)][1])


@pytest.fixture
def conn(views: Views) -> Iterator[Connection]:
    """A connection to the views, in one read transaction (entered once the test runs)."""
    with views.reading() as conn:
        yield conn


def renamed_and_skewed(log: DecisionLog, clock: SimulatedClock) -> None:
    """The roadmap story, then features renamed between their moves, and a writer whose
    clock is behind: a feature scheduled, and renamed, 'before' what it names existed."""
    story = roadmap_story(log)
    export, release = story.features["Export"], story.releases["2.0"]
    log.revise_feature(export, by("alice", "Clearer"), title="CSV export")
    log.schedule_feature(export, release, by("bob", "Room in 2.0"))
    log.revise_feature(export, by("alice", "Both formats"), title="CSV and XLSX export")
    log.change_target_date(release, date(2026, 9, 15), by("carol", "Vendor API late"))
    late = BOOKS.a_release(log, story.product, "3.0", date(2027, 1, 1))
    clock.now -= timedelta(minutes=10)  # the next writer's clock is behind
    log.schedule_feature(story.features["Import"], late, by("dave", "Skewed clock"))
    log.revise_feature(story.features["Import"], by("dave", "Skewed clock"), title="Imports")
    clock.now += timedelta(minutes=20)
    log.change_priority(story.features["Import"], 7, by("alice", "Asked for often"))
    log.revise_feature(story.features["Import"], by("alice", "Plural"), title="Importers")
    # Stamped before the rename it follows: its version starts where that one starts,
    # whose row then holds for no instant.
    clock.now -= timedelta(minutes=5)
    log.revise_feature(story.features["Import"], by("dave", "Skewed"), title="Import wizard")
    clock.now += timedelta(minutes=10)
    log.change_priority(story.features["Import"], 8, by("alice", "Asked for more often"))


def test_each_change_names_what_it_mentions_as_it_was_then(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock) -> None:
    renamed_and_skewed(log, clock)
    catchup.run_until_caught_up()

    summaries = [item["summary"] for item in views.audit(limit=1000)["items"]]

    assert summaries[-14:] == [
        "alice revised the title of feature 'Export'",
        "bob moved feature 'CSV export' from release '1.1' to release '2.0'",
        "bob removed feature 'CSV export' from the scope of release '1.1'",
        "bob added feature 'CSV export' to the scope of release '2.0'",
        "alice revised the title of feature 'CSV export'",
        "carol slipped release '2.0' by 14 days, from 2026-09-01 to 2026-09-15",
        "alice planned release '3.0' for 2027-01-01",
        # Stamped before release 3.0 was planned: it reads with the release's first name.
        "dave scheduled feature 'Import' into release '3.0'",
        "dave added feature 'Import' to the scope of release '3.0'",
        "dave revised the title of feature 'Import'",
        "alice changed the priority of feature 'Imports' from 3 to 7",
        "alice revised the title of feature 'Imports'",
        "dave revised the title of feature 'Importers'",
        "alice changed the priority of feature 'Import wizard' from 7 to 8",
    ]


def test_names_looked_up_one_by_one_or_by_window_are_those_of_the_definition(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, clock: SimulatedClock,
        conn: Connection) -> None:
    renamed_and_skewed(log, clock)
    catchup.run_until_caught_up()
    rows = audit.rows(conn, "1 = 1", ())
    instants = sorted({row["occurred_at"] for row in rows})
    middle = instants[len(instants) // 2]
    entities = [(row[0], row[1]) for row in conn.execute(
        "SELECT DISTINCT entity_type, entity_id FROM audit")]

    assert conn.execute("SELECT count(*) FROM features WHERE valid_to = valid_from "
                        "AND title = 'Importers'").fetchone()[0] == 1

    definition = EveryRow(conn)
    ways = {"one by one": Names(conn), "window from the start": Names(conn, (EVER, None)),
            "window of the second half": Names(conn, (middle, instants[-1])),
            "window of the first half": Names(conn, (EVER, middle))}

    for way, names in ways.items():
        assert [describe(row, names) for row in rows] == [
            describe(row, definition) for row in rows], way
        for kind, entity_id in entities:
            table, column = TABLES[kind]
            for at in ["2000-01-01T00:00:00.000000+00:00", *instants]:
                assert names._lookup(table, column, entity_id, at) == definition._lookup(
                    table, column, entity_id, at), (way, kind, entity_id, at)


def test_an_entity_never_seen_reads_as_its_id(
        log: DecisionLog, views: Views, catchup: StoreCatchUp,
        conn: Connection) -> None:
    roadmap_story(log)
    catchup.run_until_caught_up()
    unknown, at = str(uuid4()), "2026-01-05T09:00:00.000000+00:00"

    for names in (Names(conn), Names(conn, (EVER, None))):
        assert names.release(unknown, at) == f"release {unknown}"
        assert names.release_name(unknown, at) is None
        assert names.feature(None, at) == "feature None"
