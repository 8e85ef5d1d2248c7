"""The warehouse export, loaded into DuckDB: a quarter of releases slipping and features moving,
with their reasons, answered by one plain SQL query per question."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest

from contract.changes import CHANGE_TYPES, SCHEMA_VERSION
from contract.generate import schema_file, schemas
from domain.reasons import Reason
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeTargetDate, MoveFeature
from services.export import files
from services.export.tables import DATA_COLUMNS, DAY, FLAG, INT, REAL, TEXT
from services.export.warehouse import ExportRefused, export_warehouse
from services.runtime.settings import Settings
from tests.api.processes import ROOT, pdl
from tests.support.clock import JAN_5_2026, SimulatedClock, stamping_with
from tests.support.stores import open_log

OLIVIA, KIM = "olivia", "kim"
PILOT = "Export goes back into 1.0"

#: The two questions, exactly as README.md's "Warehouse export" asks them of ``pdl-export``.
SLIPPED = """
SELECT release_name, from_date, to_date, days_slipped, rationale, decision_title
FROM read_parquet('pdl-export/slips/*.parquet')
WHERE days_slipped > 0
ORDER BY position
"""
MOVED = """
SELECT f.title, old.name AS from_release, new.name AS to_release, e.date,
       e.rationale, e.decision_title
FROM read_parquet('pdl-export/events/*/*.parquet', hive_partitioning = true) AS e
JOIN read_parquet('pdl-export/features.parquet') AS f ON f.feature_id = e.entity_id
JOIN read_parquet('pdl-export/releases.parquet') AS old ON old.release_id = e.old_release_id
JOIN read_parquet('pdl-export/releases.parquet') AS new ON new.release_id = e.release_id
WHERE e.type = 'feature.scheduled'
ORDER BY e.position
"""

FIRST_SLIPS = [
    ("1.0", date(2026, 3, 2), date(2026, 3, 16), 14,
     "Bank API certification takes two more weeks", None),
    ("1.1", date(2026, 6, 1), date(2026, 6, 15), 14, "The pilot decides the renewal", PILOT),
]
FIRST_MOVES = [
    ("CSV export", "1.0", "1.1", date(2026, 1, 19), "1.0 is full; import comes first", None),
    ("CSV export", "1.1", "1.0", date(2026, 2, 2), "The pilot decides the renewal", PILOT),
]
LATER_SLIP = ("1.1", date(2026, 6, 15), date(2026, 7, 1), 16,
              "Pilot feedback needs a second iteration", None)
LATER_MOVE = ("Bank import", "1.0", "1.1", date(2026, 3, 2),
              "Certification risk: keep 1.0 small", None)


@dataclass
class Story:
    """A product whose releases slip and whose features move, each time with a reason."""

    log: DecisionLog
    calendar: SimulatedClock
    product: UUID
    r10: UUID
    r11: UUID
    csv: UUID
    bank: UUID
    #: The log position of the decision's proposal.
    proposed: int

    def later_that_quarter(self) -> None:
        """More writes after a first export: 1.1 slips again, Bank import moves to 1.1."""
        self.calendar.on(3, 2)
        self.log.change_target_date(self.r11, date(2026, 7, 1),
                                    why("Pilot feedback needs a second iteration"))
        self.log.schedule_feature(self.bank, self.r11, why("Certification risk: keep 1.0 small"))


def why(rationale: str, *evidence: str, actor: str = OLIVIA) -> Reason:
    return Reason(actor=actor, rationale=rationale, evidence=evidence)


@pytest.fixture
def calendar() -> Iterator[SimulatedClock]:
    yield from stamping_with(SimulatedClock(JAN_5_2026, step=timedelta(seconds=1)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def log(settings: Settings) -> Iterator[DecisionLog]:
    yield from open_log(settings)


@pytest.fixture
def story(log: DecisionLog, calendar: SimulatedClock) -> Story:
    product = log.create_product(
        name="Ledger", vision="Every team closes its books in a day",
        value_proposition="Automated reconciliation", target_customers="Finance teams",
        owner=OLIVIA, actor=OLIVIA).id
    r10 = log.plan_release(product, name="1.0", theme="Import", target_date=date(2026, 3, 2),
                           actor=OLIVIA).id
    r11 = log.plan_release(product, name="1.1", target_date=date(2026, 6, 1), actor=OLIVIA).id
    csv = log.propose_feature(product, title="CSV export", problem="Accountants re-type figures",
                              business_value="A day saved per close", benefit="Export in a click",
                              priority=8, actor=OLIVIA).id
    bank = log.propose_feature(product, title="Bank import", problem="Statements come by mail",
                               business_value="The launch theme", benefit="Your bank, live",
                               priority=9, actor=OLIVIA).id
    log.schedule_feature(csv, r10, why("Top customer request"))
    log.schedule_feature(bank, r10, why("Import is the launch theme"))
    calendar.on(1, 12)
    log.change_target_date(r10, date(2026, 3, 16), why(
        "Bank API certification takes two more weeks", "https://wiki.example/bank-cert"))
    calendar.on(1, 19)
    log.schedule_feature(csv, r11, why("1.0 is full; import comes first"))
    calendar.on(2, 2)
    proposal = log.propose_decision(
        product, title=PILOT, context="A pilot customer needs export by March",
        options=[{"name": "Move export", "pros": ["1.1 ships on time"]},
                 {"name": "Slip 1.1", "cons": ["Everything later"]}],
        chosen_option="Move export", rationale="The pilot decides the renewal",
        evidence=["https://crm.example/pilot"], deciders=[KIM], actor=KIM)
    log.accept_decision(proposal.id, [MoveFeature(csv, r10),
                                   ChangeTargetDate(r11, date(2026, 6, 15))], actor=KIM)
    calendar.on(2, 9)
    log.change_target_date(r10, date(2026, 3, 9), why("Certification finished a week early"))
    return Story(log, calendar, product, r10, r11, csv, bank, proposal.position)


def ask(sql: str, folder: Path, format: str = "parquet") -> list[tuple[Any, ...]]:
    """``sql`` (written for ``pdl-export`` in Parquet) run on the export in ``folder``."""
    if format == "ndjson":
        sql = sql.replace("read_parquet(", "read_json(").replace(".parquet'", ".ndjson'")
    relation = duckdb.sql(sql.replace("'pdl-export/", f"'{folder}/"))
    assert relation is not None
    return relation.fetchall()


def exported_events(folder: Path) -> list[tuple[int, str]]:
    return ask("SELECT position, event_id FROM read_parquet('pdl-export/events/*/*.parquet', "
               "hive_partitioning = true) ORDER BY position", folder)


def log_end(log: DecisionLog) -> int:
    return log.recorder.max_notification_id() or 0


# The two questions


def test_which_releases_slipped_by_how_many_days_and_why_is_one_query(
        story: Story, tmp_path: Path) -> None:
    export_warehouse(story.log, tmp_path / "out")

    assert ask(SLIPPED, tmp_path / "out") == FIRST_SLIPS


def test_which_features_moved_from_where_to_where_and_why_is_one_query(
        story: Story, tmp_path: Path) -> None:
    export_warehouse(story.log, tmp_path / "out")

    assert ask(MOVED, tmp_path / "out") == FIRST_MOVES


def test_the_readme_asks_the_same_two_queries() -> None:
    readme = (ROOT / "README.md").read_text()

    assert SLIPPED.strip() in readme
    assert MOVED.strip() in readme


def test_every_change_is_a_row_with_its_decision_context_and_the_names_of_then(
        story: Story, tmp_path: Path) -> None:
    result = export_warehouse(story.log, tmp_path / "out")
    rows = ask("SELECT type, entity_name, product_name, actor, rationale, evidence, "
               "decision_title, decision_context, date FROM read_parquet("
               "'pdl-export/events/*/*.parquet', hive_partitioning = true) "
               "WHERE type = 'release.target_date_changed' ORDER BY position", tmp_path / "out")

    assert result.events == log_end(story.log) == len(exported_events(tmp_path / "out"))
    assert [p for p, _ in exported_events(tmp_path / "out")] == list(range(1, result.events + 1))
    assert rows == [
        ("release.target_date_changed", "1.0", "Ledger", OLIVIA,
         "Bank API certification takes two more weeks", ["https://wiki.example/bank-cert"],
         None, None, date(2026, 1, 12)),
        ("release.target_date_changed", "1.1", "Ledger", KIM, "The pilot decides the renewal",
         ["https://crm.example/pilot"], PILOT, "A pilot customer needs export by March",
         date(2026, 2, 2)),
        ("release.target_date_changed", "1.0", "Ledger", OLIVIA,
         "Certification finished a week early", [], None, None, date(2026, 2, 9)),
    ]


def test_events_are_partitioned_by_day_hive_style(story: Story, tmp_path: Path) -> None:
    export_warehouse(story.log, tmp_path / "out")

    days = sorted(p.name for p in (tmp_path / "out" / "events").iterdir())
    assert days == ["date=2026-01-05", "date=2026-01-12", "date=2026-01-19", "date=2026-02-02",
                    "date=2026-02-09"]
    assert all(p.name.startswith("part-") and p.suffix == ".parquet"
               for p in (tmp_path / "out" / "events").glob("*/*"))


def test_the_dimension_tables_hold_every_entity_as_it_stands_now(
        story: Story, tmp_path: Path) -> None:
    export_warehouse(story.log, tmp_path / "out")
    out = tmp_path / "out"

    assert ask("SELECT name, planned_target_date, target_date, state, product_name "
               "FROM read_parquet('pdl-export/releases.parquet') ORDER BY name", out) == [
        ("1.0", date(2026, 3, 2), date(2026, 3, 9), "planned", "Ledger"),
        ("1.1", date(2026, 6, 1), date(2026, 6, 15), "planned", "Ledger"),
    ]
    assert ask("SELECT title, status, release_name, priority "
               "FROM read_parquet('pdl-export/features.parquet') ORDER BY title", out) == [
        ("Bank import", "proposed", "1.0", 9.0), ("CSV export", "proposed", "1.0", 8.0)]
    assert ask("SELECT title, context, chosen_option, status, deciders "
               "FROM read_parquet('pdl-export/decisions.parquet')", out) == [
        (PILOT, "A pilot customer needs export by March", "Move export", "accepted", [KIM])]
    assert ask("SELECT name, owner, retired FROM read_parquet('pdl-export/products.parquet')",
               out) == [("Ledger", OLIVIA, False)]


def test_a_long_day_is_written_in_several_files_of_whole_rows(
        story: Story, tmp_path: Path) -> None:
    result = export_warehouse(story.log, tmp_path / "out", rows_per_file=4)

    first_day = sorted((tmp_path / "out" / "events" / "date=2026-01-05").iterdir())
    assert [p.name for p in first_day[:2]] == ["part-000000000001-000000000004.parquet",
                                               "part-000000000005-000000000008.parquet"]
    assert [p for p, _ in exported_events(tmp_path / "out")] == list(range(1, result.events + 1))
    assert ask(MOVED, tmp_path / "out") == FIRST_MOVES


# Incremental


def test_a_second_export_adds_only_the_new_changes(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_warehouse(story.log, out)
    story.later_that_quarter()

    second = export_warehouse(story.log, out)

    assert (second.after, second.watermark) == (first.watermark, log_end(story.log))
    # The slip; the move, and its two sides on the releases.
    assert second.events == second.watermark - first.watermark == 4
    assert all(files.first_position(p) > first.watermark
               for p in second.files if p.name.startswith("part-"))
    events = exported_events(out)
    assert [p for p, _ in events] == list(range(1, second.watermark + 1))
    assert len({e for _, e in events}) == len(events)
    assert ask(SLIPPED, out) == [*FIRST_SLIPS, LATER_SLIP]
    assert ask(MOVED, out) == [*FIRST_MOVES, LATER_MOVE]
    mark = files.read_watermark(out)
    assert mark is not None and (mark.format, mark.position) == ("parquet", second.watermark)


def test_an_export_with_nothing_new_adds_nothing(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_warehouse(story.log, out)

    again = export_warehouse(story.log, out)

    assert (again.events, again.after, again.watermark) == (0, first.watermark, first.watermark)
    assert len(exported_events(out)) == first.watermark


def test_a_run_that_died_before_its_watermark_is_exported_again_once(
        story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    first = export_warehouse(story.log, out)
    story.later_that_quarter()

    def die(*args: Any) -> None:
        raise OSError("killed before the watermark")

    with monkeypatch.context() as patched:
        patched.setattr(files, "write_watermark", die)
        with pytest.raises(OSError):
            export_warehouse(story.log, out)
    (out / ".products.parquet.tmp").write_bytes(b"half a file")
    assert len(exported_events(out)) > first.watermark  # the dead run's files are there

    again = export_warehouse(story.log, out)

    assert again.after == first.watermark
    assert [p for p, _ in exported_events(out)] == list(range(1, again.watermark + 1))
    assert not (out / ".products.parquet.tmp").exists()
    assert ask(SLIPPED, out) == [*FIRST_SLIPS, LATER_SLIP]


# From a position


def test_since_exports_the_changes_after_that_position(story: Story, tmp_path: Path) -> None:
    end, since = log_end(story.log), story.proposed - 1

    result = export_warehouse(story.log, tmp_path / "out", since=since)

    assert [p for p, _ in exported_events(tmp_path / "out")] == list(range(since + 1, end + 1))
    assert (result.after, result.watermark, result.events) == (since, end, end - since)
    # The dimensions are the whole current state even so, and the events are named.
    assert ask(MOVED, tmp_path / "out") == FIRST_MOVES[1:]


def test_since_before_the_folders_watermark_or_past_the_logs_end_is_refused(
        story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = export_warehouse(story.log, out)

    with pytest.raises(ExportRefused, match="twice"):
        export_warehouse(story.log, out, since=first.watermark - 1)
    with pytest.raises(ExportRefused, match="ends at position"):
        export_warehouse(story.log, tmp_path / "other", since=first.watermark + 1)
    with pytest.raises(ExportRefused, match="holds a parquet export"):
        export_warehouse(story.log, out, format="ndjson")
    mark = files.read_watermark(out)
    assert mark is not None and mark.position == first.watermark


# NDJSON


def test_ndjson_answers_the_same_questions(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_warehouse(story.log, out, format="ndjson")
    story.later_that_quarter()

    second = export_warehouse(story.log, out)  # the folder's format, kept

    assert second.format == "ndjson"
    assert sorted({p.suffix for p in out.rglob("part-*")}) == [".ndjson"]
    assert ask(SLIPPED, out, "ndjson") == [*FIRST_SLIPS, LATER_SLIP]
    assert ask(MOVED, out, "ndjson") == [*FIRST_MOVES, LATER_MOVE]


# The command line


def test_pdl_export_writes_the_same_tables_and_carries_on_from_its_watermark(
        story: Story, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "cli-export"
    data = str(settings.data_dir)

    first = pdl("export", "--data-dir", data, "--out", str(out))
    story.later_that_quarter()
    second = pdl("export", "--data-dir", data, "--out", str(out), "--format", "parquet")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert f"watermark {log_end(story.log)}" in second.stderr
    assert ask(SLIPPED, out) == [*FIRST_SLIPS, LATER_SLIP]
    assert ask(MOVED, out) == [*FIRST_MOVES, LATER_MOVE]


def test_pdl_export_refuses_a_since_before_the_watermark_with_a_reason(
        story: Story, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "cli-export"
    export_warehouse(story.log, out)

    refused = pdl("export", "--data-dir", str(settings.data_dir), "--out", str(out),
                  "--since", "1")

    assert refused.returncode == 2
    assert "twice" in refused.stderr


# The contract


def test_every_scalar_field_of_the_published_changes_is_a_column_of_its_type() -> None:
    columns, published = dict(DATA_COLUMNS), schemas()
    missing = []
    for _, change_type in CHANGE_TYPES.values():
        schema = published[schema_file(change_type, SCHEMA_VERSION)]
        for field, spec in schema["properties"]["data"]["properties"].items():
            kind = _kind(spec)
            if kind is not None and columns.get(field) != kind:
                missing.append(f"{change_type}: {field} ({kind}, column: {columns.get(field)})")

    assert missing == []


def _kind(spec: dict[str, Any]) -> str | None:
    """The column kind of a scalar JSON Schema (None for a list or an object)."""
    types = spec.get("type")
    types = {types} if isinstance(types, str) else set(types or ())
    types.discard("null")
    if types == {"string"}:
        return DAY if spec.get("format") == "date" else TEXT
    return {frozenset({"integer"}): INT, frozenset({"number"}): REAL,
            frozenset({"boolean"}): FLAG}.get(frozenset(types))
