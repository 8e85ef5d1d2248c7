"""Everything a running service holds, built from one :class:`Settings` and closed together."""

from dataclasses import dataclass

from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.identity.idempotency import IdempotencyStore
from services.identity.tokens import TokenStore
from services.runtime.bootstrap import (
    build_application,
    build_checkpointer,
    build_relay,
    written_files,
)
from services.runtime.settings import Settings
from services.store.checkpoints import Checkpointer
from services.streaming.relay import Relay


@dataclass
class Runtime:
    """The application, its views and their catch-up, and the service's own stores."""

    settings: Settings
    app: DecisionLog
    views: Views
    catchup: StoreCatchUp
    tokens: TokenStore
    idempotency: IdempotencyStore
    #: Publishes the event log to Kafka; None when Kafka is not configured.
    relay: Relay | None = None
    #: Keeps the WAL of every SQLite file the service writes bounded.
    checkpointer: Checkpointer | None = None

    def start(self) -> None:
        """Start keeping the views caught up with the event log (and Kafka, if configured),
        and the WAL files bounded."""
        self.catchup.start()
        if self.relay is not None:
            self.relay.start()
        if self.checkpointer is not None:
            self.checkpointer.start()

    def notify(self) -> None:
        """Something was written: wake the views' catch-up (and the relay) at once."""
        self.catchup.notify()
        if self.relay is not None:
            self.relay.notify()

    def stop(self) -> None:
        """Stop the background workers started by :meth:`start`; the stores stay open."""
        self.catchup.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()

    def close(self) -> None:
        """Stop the catch-up and close every store."""
        self.catchup.stop()
        if self.relay is not None:
            self.relay.close()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.views.close()
        self.idempotency.close()
        self.tokens.close()
        self.app.close()


def build_runtime(settings: Settings) -> Runtime:
    """Open the event log, the views and the service database named by ``settings``."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_application(settings)
    views = Views(settings.views_path)
    return Runtime(
        settings=settings,
        app=app,
        views=views,
        catchup=StoreCatchUp(app, views),
        tokens=TokenStore(settings.service_db_path),
        # Synced unless commands record their outcomes with their events (command batches).
        idempotency=IdempotencyStore(settings.service_db_path,
                                     lease=settings.api.idempotency_lease_s,
                                     synced=app.commands.batches is None),
        relay=build_relay(app, settings),
        checkpointer=build_checkpointer(settings, *written_files(settings)),
    )
