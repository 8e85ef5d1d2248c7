"""Changes delivered twice, or in a different order across entities, give the same views.

This is what makes the handlers safe to feed from Kafka: at-least-once delivery, with
order kept only per entity.
"""

from pathlib import Path

import pytest

from projections.views import Views, apply_changes
from services.commands.application import DecisionLog
from tests.projections.scenario import changes_of, dump, interleaved, roadmap_story

# About views files of their own (one per delivery order); PostgreSQL's views get the
# same redeliveries in tests/projections/test_pg_views.py.
pytestmark = pytest.mark.sqlite_only


def applied(path: Path, changes: list) -> Views:
    views = Views(path)
    with views.transaction() as conn:
        apply_changes(conn, changes)
    return views


def test_applying_the_same_changes_twice_changes_nothing(log: DecisionLog,
                                                         tmp_path: Path) -> None:
    roadmap_story(log)
    changes = changes_of(log)
    views = applied(tmp_path / "twice.db", changes)
    once = dump(views.path)

    with views.transaction() as conn:
        apply_changes(conn, changes)
        apply_changes(conn, changes[::-1])

    assert dump(views.path) == once
    views.close()


def test_a_redelivered_older_change_is_ignored(log: DecisionLog, tmp_path: Path) -> None:
    story = roadmap_story(log)
    changes = changes_of(log)
    views = applied(tmp_path / "older.db", changes)
    first_schedule = next(c for c in changes if c.type == "feature.scheduled"
                          and c.entity_id == str(story.features["Export"]))

    with views.transaction() as conn:
        apply_changes(conn, [first_schedule])

    roadmap = views.roadmap(story.product)
    assert roadmap is not None
    assert roadmap["now"]["name"] == "1.1"
    assert [f["title"] for f in roadmap["now"]["features"]] == ["Export"]
    views.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_changes_shuffled_across_entities_give_the_same_roadmap_and_rows(
        log: DecisionLog, tmp_path: Path, seed: int) -> None:
    story = roadmap_story(log)
    changes = changes_of(log)
    in_order = applied(tmp_path / "in-order.db", changes)
    shuffled = applied(tmp_path / "shuffled.db", interleaved(changes, seed))

    assert interleaved(changes, seed) != changes
    assert shuffled.roadmap(story.product) == in_order.roadmap(story.product)
    assert shuffled.audit(limit=1000) == in_order.audit(limit=1000)
    assert dump(shuffled.path) == dump(in_order.path)
    in_order.close()
    shuffled.close()
