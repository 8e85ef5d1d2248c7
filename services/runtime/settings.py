"""One typed settings object, read from the environment (prefix ``PDL_``, nested with ``__``).

Examples: ``PDL_DATA_DIR=/var/lib/pdl``, ``PDL_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092``.
Invalid values fail at start-up with a message naming the setting, and so does a ``PDL_``
variable that names no setting (with the nearest valid name). Any setting can be read from a
file instead: ``PDL_ADMIN__TOKEN_FILE=/run/secrets/admin-token`` (for secrets mounted as files).
"""

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)


class StoreSettings(BaseModel):
    """Where events are stored. ``sqlite`` is the embedded default; ``postgres`` the
    production store shared by several replicas; ``memory`` is for tests."""

    kind: Literal["sqlite", "postgres", "memory"] = "sqlite"
    #: SQLite file for the event log; default ``<data_dir>/events.db``.
    sqlite_path: Path | None = None
    #: With ``kind=postgres``: a libpq URL, ``postgresql://user:password@host:5432/dbname``
    #: (a secret: set it through ``PDL_STORE__DSN_FILE`` where you can).
    dsn: SecretStr | None = None
    #: With ``kind=postgres``: connections each process keeps to PostgreSQL for commands
    #: and reads (tokens, idempotency keys and the relay have a few more of their own).
    pool_size: int = Field(default=8, ge=1, le=200)
    #: With ``kind=postgres``: how long to wait for a connection, when PostgreSQL is
    #: unreachable, before answering 503 with Retry-After.
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    #: With ``kind=postgres``: the longest any one statement may run (0: no limit).
    statement_timeout_s: float = Field(default=10.0, ge=0, le=3600)
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

    @model_validator(mode="after")
    def dsn_for_postgres(self) -> "StoreSettings":
        if self.kind == "postgres" and self.dsn is None:
            raise ValueError("PDL_STORE__KIND=postgres needs PDL_STORE__DSN (or "
                             "PDL_STORE__DSN_FILE): a libpq URL such as "
                             "postgresql://pdl:secret@db.example:5432/pdl")
        if self.dsn is not None:
            from psycopg import ProgrammingError
            from psycopg.conninfo import conninfo_to_dict

            try:
                conninfo_to_dict(self.dsn.get_secret_value())
            except ProgrammingError:
                raise ValueError("PDL_STORE__DSN is not a libpq connection string: use a URL "
                                 "such as postgresql://pdl:secret@db.example:5432/pdl") from None
        return self


class KafkaSettings(BaseModel):
    """The Kafka stream. Without ``bootstrap_servers`` nothing is published (embedded default)."""

    bootstrap_servers: str | None = None
    topic_prefix: str = Field(default="pdl", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    client_id: str = Field(default="pdl", min_length=1, max_length=100)
    partitions: int = Field(default=3, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    #: Also publish each entity's current state after each change, on the compacted
    #: ``<prefix>.<entity>.state.v1`` topics (contract/states.py). Switched off and on again,
    #: the relay first publishes the states it skipped.
    state_topics: bool = True
    #: ``pdl serve`` runs a relay candidate (false: never publishes; run ``pdl relay`` or
    #: another replica for that). Whatever the number of candidates, exactly one publishes:
    #: the holder of the store's relay lease (services/streaming/leases.py).
    relay: bool = True
    #: A relay leader that has not renewed its lease for this long is replaced; a candidate
    #: takes over within this plus one second of the leader's death.
    relay_lease_s: float = Field(default=6.0, ge=1, le=300)

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
    #: ``/readyz`` fails while the views are more than this many events behind the log.
    ready_max_lag: int = Field(default=1_000, ge=0)
    #: ``/readyz`` fails while the Kafka relay is more than this many events behind the log
    #: (unset: a broker outage never makes the API unready, since commands never wait for
    #: Kafka; ``/readyz`` still reports the relay's state).
    ready_max_relay_lag: int | None = Field(default=None, ge=0)
    #: How long ``/readyz`` waits for the stores to answer before it reports them unreachable.
    ready_timeout_s: float = Field(default=0.5, gt=0, le=10)
    #: After SIGTERM, how long requests in flight may take to finish before they are cut off.
    shutdown_grace_s: float = Field(default=10.0, ge=0, le=600)
    #: After SIGTERM, how long to keep serving with ``/readyz`` failing before stopping, so a
    #: load balancer stops sending traffic first (0: stop accepting at once).
    shutdown_drain_s: float = Field(default=0.0, ge=0, le=120)
    #: Serve Prometheus metrics on ``/metrics`` (no token needed; they name routes, never ids).
    metrics: bool = True


class ViewsSettings(BaseModel):
    """What keeps the views the API serves up to date."""

    #: ``store``: the API catches them up from the event log itself (the default).
    #: ``kafka``: ``pdl project --source kafka --follow`` processes (one consumer group; on
    #: PostgreSQL any number of them, sharing the partitions) feed them from the entity
    #: topics, and the API only reads them; ``?after=`` keeps its meaning (the feed records
    #: how far the views are complete in log positions).
    feed: Literal["store", "kafka"] = "store"


class LogSettings(BaseModel):
    """What ``pdl serve``, ``pdl relay`` and ``pdl project`` write to stderr."""

    #: ``text``: one line a person reads; ``json``: one JSON object per line (timestamp,
    #: level, logger, message, and for requests request_id, actor, route, status, duration).
    format: Literal["text", "json"] = "text"
    #: The lowest level written (any case); DEBUG adds the access lines of probes and scrapes.
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def any_case(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level


class AdminSettings(BaseModel):
    """The first admin token, created when the service starts with no token at all."""

    #: Use this token instead of a random one (e.g. from a Kubernetes Secret, through
    #: ``PDL_ADMIN__TOKEN_FILE``). Without it, a random token is written to
    #: ``<data_dir>/admin-token`` (mode 0600), and printed only when asked.
    token: SecretStr | None = None
    #: Also print the random first token on stdout (same as ``pdl serve --print-admin-token``).
    print_token: bool = False

    @field_validator("token")
    @classmethod
    def usable_as_bearer_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not re.fullmatch(TOKEN_SHAPE, token.get_secret_value()):
            raise ValueError("a token is at least 32 characters from A-Z a-z 0-9 - . _ ~ + / "
                             "(e.g. pdl_ followed by the output of `openssl rand -hex 32`)")
        return token


#: What a bearer token may contain (RFC 6750 b64token), at least 32 characters of it.
TOKEN_SHAPE = r"(?=.{32,}$)[A-Za-z0-9._~+/-]+=*"


class BootstrapSettings(BaseModel):
    """How a deployment gets its first admin token (see ``pdl token create --role admin``)."""

    #: The first admin token, created under the name ``admin`` when no token exists yet;
    #: set it through ``PDL_BOOTSTRAP__ADMIN_TOKEN_FILE`` (a mounted secret). Every replica
    #: may be given the same file: the token is created once, in the shared store. On
    #: PostgreSQL no replica ever makes a random admin token of its own.
    admin_token: SecretStr | None = None

    @field_validator("admin_token")
    @classmethod
    def usable_as_bearer_token(cls, token: SecretStr | None) -> SecretStr | None:
        return AdminSettings.usable_as_bearer_token(token)


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
    admin: AdminSettings = AdminSettings()
    bootstrap: BootstrapSettings = BootstrapSettings()
    views: ViewsSettings = ViewsSettings()
    log: LogSettings = LogSettings()

    @property
    def postgres(self) -> bool:
        """Whether everything shared lives in PostgreSQL (several replicas, one store)."""
        return self.store.kind == "postgres"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then the environment, read strictly (:class:`StrictEnvironment`)."""
        return init_settings, StrictEnvironment(settings_cls)

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

    @property
    def admin_token_path(self) -> Path:
        """Where the first start writes a random admin token (mode 0600)."""
        return self.data_dir / "admin-token"


class StrictEnvironment(EnvSettingsSource):
    """The ``PDL_`` environment variables, read strictly.

    A variable that names no setting (``PDL_STORE__GROUP_COMIT``) is refused with the nearest
    valid name, rather than silently ignored. ``PDL_<NAME>_FILE=path`` sets ``PDL_<NAME>`` to
    the contents of that file (without its trailing newline): secrets need not sit in the
    environment. Setting both is refused.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        variables = dict(super()._load_env_vars())  # names lower-cased
        known = setting_names(self.settings_cls, self.env_prefix.upper())
        ours = sorted(n.upper() for n in variables
                      if n.upper().startswith(self.env_prefix.upper())
                      and not n.upper().startswith(TEST_PREFIX))
        for name in ours:
            if name not in known and not (name.endswith(FILE_SUFFIX)
                                          and name.removesuffix(FILE_SUFFIX) in known):
                raise SettingsError(unknown_setting(name, known))
        for name in ours:
            target = name.removesuffix(FILE_SUFFIX)
            if name.endswith(FILE_SUFFIX) and target in known:
                if target.lower() in variables:
                    raise SettingsError(f"{target} and {name} are both set: set only one")
                variables[target.lower()] = read_setting_file(name, variables.pop(name.lower()))
        return variables


FILE_SUFFIX = "_FILE"
#: Variables of the test command (``PDL_TEST_POSTGRES_DSN``), not settings of the service.
TEST_PREFIX = "PDL_TEST_"


def setting_names(model: type[BaseModel], prefix: str) -> set[str]:
    """Every environment variable naming a setting of ``model`` or of its sections."""
    names: set[str] = set()
    for field, info in model.model_fields.items():
        name = prefix + field.upper()
        names.add(name)  # a section too: its value is then JSON
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            names |= setting_names(info.annotation, name + "__")
    return names


def unknown_setting(name: str, known: set[str]) -> str:
    """One line naming an unknown variable and the nearest valid name."""
    candidates = sorted(known | {n + FILE_SUFFIX for n in known})
    nearest = difflib.get_close_matches(name, candidates, n=1)
    hint = f"did you mean {nearest[0]}?" if nearest else "`pdl config show` lists every setting"
    return f"unknown setting {name}: {hint}"


def read_setting_file(name: str, path: str | None) -> str:
    try:
        return Path(path or "").read_text().rstrip("\r\n")
    except OSError as error:
        raise SettingsError(f"{name}: cannot read {path!r}: {error.strerror}") from None
