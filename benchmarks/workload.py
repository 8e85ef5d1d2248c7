"""The decision log and its raw baseline, set up the same way for every benchmark, on SQLite
or PostgreSQL (:class:`Store`)."""

import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from uuid import UUID

from benchmarks.harness import Mode
from benchmarks.postgres import Databases, RawPostgres, server
from domain.feature import Feature
from domain.product import Product
from domain.reasons import Reason
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings

StoreKind = Literal["sqlite", "postgres"]

#: The table eventsourcing's SQLite application recorder creates, for raw baselines.
RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
RAW_INSERT = "INSERT INTO stored_events VALUES (?,?,?,?)"
RAW_AFTER = "SELECT rowid, state FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?"

REASON = Reason(actor="bench@example.com", rationale="Customer interviews moved this up.",
                evidence=("https://example.com/research/42",))


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary folder on the same disk the service would use (not tmpfs, if avoidable)."""
    with tempfile.TemporaryDirectory(prefix="pdl-bench-", dir=_disk_tmp()) as path:
        yield Path(path)


def _disk_tmp() -> str | None:
    """Prefer /var/tmp (on disk) to /tmp (often tmpfs) so fsync costs what it costs."""
    return "/var/tmp" if Path("/var/tmp").is_dir() else None


def settings_for(data_dir: Path, **store: Any) -> Settings:
    """Settings for a fresh store in ``data_dir``; ``store`` overrides store settings."""
    return Settings(data_dir=data_dir, store=StoreSettings(**store))


def open_app(data_dir: Path, **store: Any) -> DecisionLog:
    """The decision log as the service builds it (composition root), on ``data_dir``."""
    return build_application(settings_for(data_dir, **store))


def seed_features(app: DecisionLog, count: int, chunk: int = 500) -> tuple[UUID, list[UUID]]:
    """One product and ``count`` proposed features, saved in large transactions (fast setup)."""
    product = Product.create(name="Bench", vision="Fast decisions.", value_proposition="Speed.",
                             target_customers="Everyone.", owner="bench", actor="bench")
    app.save(product)
    ids: list[UUID] = []
    for start in range(0, count, chunk):
        features = [
            Feature.propose(product_id=product.id, title=f"Feature {n}", problem="Too slow.",
                            business_value="Happier users.", benefit="It is faster.",
                            actor="bench", priority=0.0)
            for n in range(start, min(count, start + chunk))
        ]
        app.save(*features)
        ids += [f.id for f in features]
    return product.id, ids


def command(app: DecisionLog, feature_id: UUID, n: int) -> int:
    """One decision: load a feature, change its priority, save one event; returns its position."""
    return app.change_priority(feature_id, float(n + 1), REASON).position


def sample_row(app: DecisionLog, position: int) -> tuple[str, bytes]:
    """The topic and state bytes stored at ``position`` (what a command writes)."""
    (notification,) = app.recorder.select_notifications(position, 1)
    return notification.topic, notification.state


def raw_connection(path: Path) -> sqlite3.Connection:
    """A bare SQLite connection with eventsourcing's durability: WAL, ``synchronous=FULL``."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(RAW_TABLE)
    return conn


def durability(app: DecisionLog) -> tuple[str, int]:
    """The journal mode and synchronous level of ``app``'s SQLite connections."""
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        return str(mode), int(cursor.fetchone()[0])


class RawLog(Protocol):
    """A raw baseline's event table: rows of the same bytes as ours, no library in between."""

    #: The durability, or the client, named in the baseline's label.
    label: str
    #: How :meth:`insert` writes many rows (``executemany``, ``unnest``).
    batch_insert: str

    def row(self, topic: str, state: bytes) -> tuple[Any, ...]:
        """A new event row: a fresh originator, version 1."""

    def insert(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert ``rows`` in one transaction and commit; the last row's position."""

    def after(self, position: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` (position, state) rows after ``position``, on a reading connection."""

    def close(self) -> None: ...


class RawSqlite:
    """The raw baseline on SQLite, with eventsourcing's durability (:func:`raw_connection`)."""

    label = "WAL, synchronous=FULL"
    batch_insert = "executemany"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = raw_connection(path)
        self._reader: sqlite3.Connection | None = None

    @staticmethod
    def row(topic: str, state: bytes) -> tuple[Any, ...]:
        return (uuid.uuid4().hex, 1, topic, state)

    def insert(self, rows: list[tuple[Any, ...]]) -> int:
        self.conn.execute("BEGIN")
        if len(rows) == 1:
            position = self.conn.execute(RAW_INSERT, rows[0]).lastrowid or 0
        else:
            self.conn.executemany(RAW_INSERT, rows)
            position = self.conn.execute("SELECT max(rowid) FROM stored_events").fetchone()[0]
        self.conn.execute("COMMIT")
        return position

    def after(self, position: int, limit: int) -> list[tuple[int, bytes]]:
        if self._reader is None:
            self._reader = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None)
        return self._reader.execute(RAW_AFTER, (position, limit)).fetchall()

    def close(self) -> None:
        self.conn.close()
        if self._reader is not None:
            self._reader.close()


@dataclass
class Store:
    """Where one benchmark keeps its logs: SQLite files in ``folder``, or (``postgres``) a
    fresh database each on one PostgreSQL server (:mod:`benchmarks.postgres`), with the data
    folders (views, service files) in ``folder``."""

    kind: StoreKind
    folder: Path
    databases: Databases | None = None

    @property
    def title(self) -> str:
        return "PostgreSQL" if self.kind == "postgres" else "SQLite"

    def settings(self, name: str, **store: Any) -> Settings:
        """Settings for a fresh log called ``name``; ``store`` overrides store settings."""
        if self.databases is not None:
            store = {"kind": "postgres", "dsn": self.databases.create(name), **store}
        return settings_for(self.folder / name, **store)

    def app(self, name: str, **store: Any) -> DecisionLog:
        """The decision log as the service builds it, on a fresh log called ``name``."""
        return build_application(self.settings(name, **store))

    def raw(self, name: str) -> RawLog:
        """A fresh raw baseline table called ``name``."""
        if self.databases is not None:
            return RawPostgres(self.databases.create(name))
        return RawSqlite(self.folder / f"{name}.db")

    def durability(self, app: DecisionLog | None = None) -> dict[str, Any]:
        """What a commit costs: the PostgreSQL server's fsync, synchronous_commit,
        full_page_writes and sync method, or ``app``'s SQLite journal mode and synchronous
        level (nothing without an app)."""
        if self.databases is not None:
            return dict(self.databases.durability())
        if app is None:
            return {}
        journal, sync = durability(app)
        return {"journal_mode": journal, "synchronous": sync}

    def durable(self) -> bool:
        """Whether a commit reaches the disk (SQLite here always; PostgreSQL with fsync)."""
        if self.databases is None:
            return True
        settings = self.databases.durability()
        return settings["pg_fsync"] == "on" and settings["pg_synchronous_commit"] != "off"


@contextmanager
def store(kind: StoreKind, mode: Mode) -> Iterator[Store]:
    """A :class:`Store` for one benchmark run; on PostgreSQL its databases are dropped, and a
    server started for it stopped, when the block ends."""
    with scratch_dir() as tmp:
        if kind == "sqlite":
            yield Store(kind, tmp)
            return
        with server(mode) as dsn:
            databases = Databases(dsn)
            try:
                yield Store(kind, tmp, databases)
            finally:
                databases.drop_all()


def durability_note(used: Store) -> list[str]:
    """A warning to put in a result's notes when its commits do not reach the disk."""
    if used.durable():
        return []
    return ["PostgreSQL server without fsync or synchronous_commit: commits do not reach the "
            "disk, so these figures say nothing about durable writes (fine for --smoke)"]
