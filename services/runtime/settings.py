"""One typed settings object, read from the environment (prefix ``PDL_``, nested with ``__``).

Examples: ``PDL_DATA_DIR=/var/lib/pdl``, ``PDL_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092``.
Invalid values fail at start-up with a message naming the setting.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseModel):
    """Where events are stored. ``sqlite`` is the embedded default; ``memory`` is for tests."""

    kind: Literal["sqlite", "memory"] = "sqlite"
    #: SQLite file for the event log; default ``<data_dir>/events.db``.
    sqlite_path: Path | None = None
    #: Commit concurrent commands together in one transaction (see services/store/group_commit.py).
    group_commit: bool = True
    #: With group commit: concurrent commands are run one after another by one thread, in one
    #: transaction (services/store/command_batches.py); off: each runs on its caller's thread.
    command_batches: bool = True
    #: Most commands in one group commit.
    group_commit_max_batch: int = Field(default=100, ge=1, le=10_000)
    #: How long a batch may wait for the commands of the last round to come back (0: only
    #: those already queued). It waits only while fewer have queued than the last round had,
    #: so a lone command never waits (services/store/combining.py).
    group_commit_max_wait_ms: float = Field(default=1.0, ge=0, le=2)
    #: Aggregates kept in memory between commands (0: none; ~2 KiB each). A cached aggregate
    #: is still brought up to date from the store on every load, so other writers are never
    #: missed; it saves replaying the aggregate's whole history on every command. Commands
    #: keep their own cache of this size (services/store/command_cache.py: checked out, not copied),
    #: so up to twice this many aggregates are held.
    aggregate_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    #: Store an aggregate's state every this many versions (0: never), so that loading a long
    #: stream that is not kept in memory (after a restart, on the plain path) reads the
    #: latest snapshot and at most this many events, not the whole history
    #: (services/store/snapshots.py).
    snapshot_interval: int = Field(default=100, ge=0, le=1_000_000)
    #: A write-ahead log over this size is checkpointed and truncated (for the event log,
    #: the views and the service database alike), as soon as the readers that use it let
    #: (services/store/checkpoints.py).
    wal_limit_mb: float = Field(default=16, gt=0, le=4096)
    #: How often the WAL sizes are looked at.
    wal_check_interval_s: float = Field(default=1.0, gt=0, le=60)
    #: Encode events with orjson (services/store/fast_codec.py): the same stored bytes as
    #: eventsourcing's JSON transcoder, about twice as fast. Off: the library's encoder.
    fast_codec: bool = True


class KafkaSettings(BaseModel):
    """The Kafka stream. Without ``bootstrap_servers`` nothing is published (embedded default)."""

    bootstrap_servers: str | None = None
    topic_prefix: str = Field(default="pdl", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    client_id: str = Field(default="pdl", min_length=1, max_length=100)
    partitions: int = Field(default=3, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1, le=10)

    @property
    def enabled(self) -> bool:
        return bool(self.bootstrap_servers)


class ApiSettings(BaseModel):
    """HTTP behaviour."""

    #: How long a read with ``?after=POSITION`` waits for the views to catch up.
    read_your_writes_timeout_s: float = Field(default=5.0, gt=0, le=60)
    #: How long an Idempotency-Key stays claimed by a request that never answered (its
    #: process may have died); until then a retry gets 409, after it the retry runs.
    idempotency_lease_s: float = Field(default=60.0, gt=0, le=3600)


class Settings(BaseSettings):
    """Everything the service can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="PDL_", env_nested_delimiter="__", extra="forbid"
    )

    #: Folder for the event log, the views and the service's own tables.
    data_dir: Path = Path("pdl-data")
    store: StoreSettings = StoreSettings()
    kafka: KafkaSettings = KafkaSettings()
    api: ApiSettings = ApiSettings()

    @property
    def events_path(self) -> Path:
        return self.store.sqlite_path or self.data_dir / "events.db"

    @property
    def views_path(self) -> Path:
        return self.data_dir / "views.db"

    @property
    def service_db_path(self) -> Path:
        """Tokens and idempotency keys."""
        return self.data_dir / "service.db"
