"""One export run: the changes the log gained since the last run, as warehouse tables.

The folder after a run (Parquet shown; NDJSON has ``.ndjson`` files in the same places)::

    DIR/events/date=YYYY-MM-DD/part-<first>-<last>.parquet   one row per change (appended)
    DIR/slips/part-<first>-<last>.parquet                    one row per date change (appended)
    DIR/products.parquet, features, releases, decisions      as they stand now (rewritten)
    DIR/_watermark.json                                      the last position exported
    DIR/_entities.json                                       the state the next run folds on

A run exports the changes after the watermark (or after ``since``) up to the end the log
had when the run began, then writes the watermark: the next run carries on from there,
so every change is exported once, whatever the runs' timing. A run that dies leaves the
last watermark, and its appended files are removed by the next run (see
:mod:`services.export.files`).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contract.changes import Change
from projections.feeding.decode import ChangeDecoder
from projections.feeding.event_log import EventLog
from services.export import files
from services.export.entities import ENTITIES_FILE, Entities
from services.export.files import FORMATS
from services.export.tables import (
    DIMENSIONS,
    EVENTS,
    SLIPS,
    TARGET_DATE_CHANGED,
    Row,
    Table,
    day,
    dimension_rows,
    event_row,
    slip_row,
)

#: Stored events read per page.
PAGE = 1000
#: Rows buffered before they are written (one file per table and day).
ROWS_PER_FILE = 100_000

#: The files a run rewrites whole (their temporary files are removed after a crash).
_WHOLE = (files.WATERMARK_FILE, ENTITIES_FILE,
          *(f"{table.name}.{format}" for table in DIMENSIONS for format in FORMATS))


class ExportRefused(ValueError):
    """The export was asked for what it cannot do without exporting changes twice or mixing
    formats in one folder (or for a position the log does not have); nothing was exported."""


@dataclass
class ExportResult:
    """What a run wrote."""

    folder: Path
    format: str
    #: Changes after this position were exported ...
    after: int
    #: ... up to this one: the new watermark.
    watermark: int
    events: int = 0
    slips: int = 0
    files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person: what was exported, where, and the new watermark."""
        if self.watermark == self.after:
            return (f"Nothing new after position {self.after} in the event log; the tables in "
                    f"{self.folder} are up to date (watermark {self.watermark}).")
        return (f"Exported {self.events} events and {self.slips} date changes "
                f"(positions {self.after + 1}-{self.watermark}) as {self.format} to "
                f"{self.folder}; watermark {self.watermark}.")


def export_warehouse(log: EventLog, folder: Path, *, format: str | None = None,
                     since: int | None = None, rows_per_file: int = ROWS_PER_FILE
                     ) -> ExportResult:
    """Export the changes of ``log`` after the folder's watermark (or after position
    ``since``) into ``folder``, rewrite its dimension tables and record the new watermark.

    ``format`` is ``parquet`` or ``ndjson`` (default: the folder's, else Parquet). Refused
    (:class:`ExportRefused`) for a format other than the folder's, a ``since`` before the
    folder's watermark (its changes would be there twice) or past the log's end.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with files.locked(folder):
        mark = files.read_watermark(folder)
        end = log.recorder.max_notification_id() or 0
        result = ExportResult(folder, _format(format, mark), _after(since, mark, end), end)
        files.remove_unfinished(folder, (EVENTS, SLIPS), _WHOLE, mark.position if mark else 0)
        entities = Entities.load(folder)
        if entities.position > result.after:
            entities = Entities()  # the events must be named as things stood then
        _export_changes(log, entities, result, rows_per_file)
        result.files += _write_dimensions(folder, entities, result.format)
        files.sync_folders(result.files)
        entities.save(folder)
        files.write_watermark(folder, result.format, end)
    return result


def _format(asked: str | None, mark: files.Watermark | None) -> str:
    kept = mark.format if mark else None
    chosen = asked or kept or FORMATS[0]
    if chosen not in FORMATS:
        raise ExportRefused(f"unknown format {chosen!r}: use one of {', '.join(FORMATS)}.")
    if kept and chosen != kept:
        raise ExportRefused(f"the folder holds a {kept} export: export as {kept}, or into "
                            "another folder.")
    return chosen


def _after(since: int | None, mark: files.Watermark | None, end: int) -> int:
    exported = mark.position if mark else 0
    if since is None:
        return exported
    if since < 0:
        raise ExportRefused(f"--since {since}: a position is 0 or more.")
    if since < exported:
        raise ExportRefused(
            f"--since {since}: the folder already holds the changes up to {exported}, which "
            "would be there twice; export into another folder, or leave --since out to carry "
            "on after them.")
    if since > end:
        raise ExportRefused(f"--since {since}: the event log ends at position {end}.")
    return since


def _export_changes(log: EventLog, entities: Entities, result: ExportResult,
                    rows_per_file: int) -> None:
    """Fold every change after the entities' position into them; append those after
    ``result.after`` to the ``events`` (and ``slips``) files."""
    pending = _Pending(result)
    for change in _changes(log, entities.position, result.watermark):
        entities.fold(change)
        if change.log_position is not None and change.log_position > result.after:
            pending.add(EVENTS, event_row(change, entities))
            if change.type == TARGET_DATE_CHANGED:
                pending.add(SLIPS, slip_row(change, entities))
            if pending.rows >= rows_per_file:
                pending.write()
    pending.write()
    entities.position = result.watermark


def _changes(log: EventLog, after: int, end: int) -> Iterator[Change]:
    """The published changes after position ``after`` up to ``end``, in log order."""
    decode = ChangeDecoder(log.mapper)
    position = after
    while position < end:
        page = log.recorder.select_notifications(start=position, limit=PAGE, stop=end,
                                                 inclusive_of_start=False)
        if not page:
            return
        for notification in page:
            change = decode(notification, notification.id)
            if change is not None:
                yield change
        position = page[-1].id


class _Pending:
    """Rows waiting to be appended, by table and day."""

    def __init__(self, result: ExportResult) -> None:
        self.result = result
        self.rows = 0
        self._files: dict[tuple[Table, str], list[Row]] = {}

    def add(self, table: Table, row: Row) -> None:
        where = f"date={day(row).isoformat()}" if table.by_day else ""
        self._files.setdefault((table, where), []).append(row)
        self.rows += 1
        if table is EVENTS:
            self.result.events += 1
        elif table is SLIPS:
            self.result.slips += 1

    def write(self) -> None:
        folder, format = self.result.folder, self.result.format
        for (table, where), rows in self._files.items():
            path = folder / table.name / where / files.part_name(rows, format)
            self.result.files.append(files.write_table(path, table, rows, format))
        self._files.clear()
        self.rows = 0


def _write_dimensions(folder: Path, entities: Entities, format: str) -> list[Path]:
    return [files.write_table(folder / f"{table.name}.{format}", table,
                              list(dimension_rows(table, entities)), format)
            for table in DIMENSIONS]
