"""The log is the truth: a new application on the same file sees the same state."""

from datetime import date
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

import psycopg

from domain.feature import ACCEPTED
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings
from tests.support.builders import LEDGER, because, scheduled


class Roadmap(NamedTuple):
    product: UUID
    releases: list[UUID]
    feature: UUID


def build_a_small_roadmap(log: DecisionLog) -> Roadmap:
    """12 events: 5 to set up, 2 to schedule, 3 to move, 1 slip, 1 requirement."""
    product_id = LEDGER.a_product(log)
    first = LEDGER.a_release(log, product_id, "1.0")
    second = LEDGER.a_release(log, product_id, "2.0")
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id, status=ACCEPTED), first)
    log.schedule_feature(feature_id, second, because("1.0 is full"))
    log.change_target_date(first, date(2027, 4, 1), because("Vendor late"))
    log.add_requirement(feature_id, "Export all columns", ["Opens in Excel"], because())
    return Roadmap(product_id, [first, second], feature_id)


def test_reopening_the_file_shows_the_same_state(settings: Settings) -> None:
    log = build_application(settings)
    ids = build_a_small_roadmap(log)
    feature, product = log.get_feature(ids.feature), log.get_product(ids.product)
    releases = [log.get_release(r) for r in ids.releases]
    count = log.event_count()
    log.close()

    reopened = build_application(settings)
    try:
        assert reopened.event_count() == count
        assert reopened.get_feature(ids.feature) == feature
        assert reopened.get_product(ids.product) == product
        assert [reopened.get_release(r) for r in ids.releases] == releases
        assert feature.requirements == {
            "R1": {"text": "Export all columns", "acceptance_criteria": ["Opens in Excel"]}}
    finally:
        reopened.close()


def test_the_log_is_where_the_settings_say(settings: Settings, tmp_path: Path) -> None:
    """On SQLite a file in the data folder; on PostgreSQL a table of the database, and
    nothing of the log in the data folder (another replica could not see it there)."""
    log = build_application(settings)
    build_a_small_roadmap(log)
    log.close()

    if settings.postgres:
        assert settings.store.dsn is not None
        with psycopg.connect(settings.store.dsn.get_secret_value()) as conn:
            row = conn.execute("SELECT count(*) FROM decisionlog_events").fetchone()
        assert row is not None and row[0] == 12
        assert not settings.events_path.exists()
    else:
        assert settings.events_path == tmp_path / "events.db"
        assert settings.events_path.stat().st_size > 0


def test_the_in_memory_store_runs_the_same_commands(tmp_path: Path) -> None:
    log = build_application(Settings(data_dir=tmp_path, store=StoreSettings(kind="memory")))
    ids = build_a_small_roadmap(log)

    feature = log.get_feature(ids.feature)
    assert feature.release_id == ids.releases[1]
    assert log.event_count() == 12
    assert not (tmp_path / "events.db").exists()
