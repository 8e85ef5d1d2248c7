"""The export folder's files: tables as Parquet or NDJSON, the watermark, the lock.

Every file is written under a hidden temporary name, flushed to disk and renamed: a reader
sees a whole file or none. The watermark (``_watermark.json``) is written last, so a run
that dies leaves the watermark of the run before; the files it had appended (their first
position is past that watermark) are removed by the next run, which writes them again.
"""

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.export.tables import DAY, FLAG, INSTANT, INT, REAL, TEXTS, Row, Table

FORMATS = ("parquet", "ndjson")
WATERMARK_FILE = "_watermark.json"
LOCK_FILE = "_export.lock"
#: Digits of a position in a part file's name, so that names sort in log order.
POSITION_DIGITS = 12


class FolderBusy(RuntimeError):
    """Another export is writing the same folder."""


@dataclass(frozen=True)
class Watermark:
    """What the last finished run recorded: the format of the folder and the position of
    the last change it exported (the next run starts after it)."""

    format: str
    position: int
    exported_at: str


def read_watermark(folder: Path) -> Watermark | None:
    path = folder / WATERMARK_FILE
    if not path.exists():
        return None
    kept = json.loads(path.read_text(encoding="utf-8"))
    return Watermark(kept["format"], kept["position"], kept["exported_at"])


def write_watermark(folder: Path, format: str, position: int) -> Watermark:
    mark = Watermark(format, position, datetime.now(UTC).isoformat())
    _write_whole(folder / WATERMARK_FILE, (json.dumps(asdict(mark), indent=2) + "\n").encode())
    _sync_folder(folder)
    return mark


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock (a ``flock``, dropped by the system if this process dies)."""
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another export is writing {folder}; try again once it "
                             "has finished.") from None
        yield
    finally:
        os.close(descriptor)


def remove_unfinished(folder: Path, appended: Sequence[Table], whole: Sequence[str],
                      watermark: int) -> None:
    """Remove what a run that died left: the ``appended`` tables' files holding changes past
    ``watermark``, and the temporary files of those and of the files named in ``whole``.
    Nothing else in the folder is touched."""
    for table in appended:
        for path in (folder / table.name).glob("*/*" if table.by_day else "*"):
            if path.name.startswith(".part-") or first_position(path) > watermark:
                path.unlink()
    for name in whole:
        (folder / f".{name}.tmp").unlink(missing_ok=True)


def part_name(rows: Sequence[Row], format: str) -> str:
    """``part-<first position>-<last position>.<format>``."""
    first, last = rows[0]["position"], rows[-1]["position"]
    return f"part-{first:0{POSITION_DIGITS}d}-{last:0{POSITION_DIGITS}d}.{format}"


def first_position(path: Path) -> int:
    """The first position in an appended file, from its name (0 for a name not ours)."""
    parts = path.name.split(".")[0].split("-")
    ours = len(parts) == 3 and parts[0] == "part" and parts[1].isdigit()
    return int(parts[1]) if ours else 0


def write_table(path: Path, table: Table, rows: Sequence[Row], format: str) -> Path:
    """Write ``rows`` of ``table`` to ``path`` (whole, or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = _parquet(table, rows) if format == "parquet" else _ndjson(rows)
    _write_whole(path, content)
    return path


def sync_folders(paths: Sequence[Path]) -> None:
    """Flush the folder entries of the files at ``paths`` to disk (their renames)."""
    for folder in {p.parent for p in paths}:
        _sync_folder(folder)


def _write_whole(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# Formats

def _ndjson(rows: Sequence[Row]) -> bytes:
    """One JSON object per line; dates and instants as ISO 8601 text."""
    dumps = orjson.dumps
    return b"".join(dumps(row) + b"\n" for row in rows)


def _parquet(table: Table, rows: Sequence[Row]) -> bytes:
    import pyarrow as pa  # only a Parquet export loads Arrow
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(pa, kind)) for name, kind in table.columns])
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), sink)
    return bytes(sink.getvalue().to_pybytes())


def _arrow_type(pa: Any, kind: str) -> Any:
    types = {INT: pa.int64(), REAL: pa.float64(), FLAG: pa.bool_(), DAY: pa.date32(),
             INSTANT: pa.timestamp("us", tz="UTC"), TEXTS: pa.list_(pa.string())}
    return types.get(kind, pa.string())
