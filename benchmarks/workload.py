"""The decision log and raw SQLite, set up the same way for every benchmark."""

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.feature import Feature
from domain.product import Product
from domain.reasons import Reason
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings, StoreSettings

#: The table eventsourcing's SQLite application recorder creates, for raw baselines.
RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
RAW_INSERT = "INSERT INTO stored_events VALUES (?,?,?,?)"

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
