"""``/metrics``: what the process counted, and the state of the stores at the scrape.

Counted as it happens, with prometheus_client's counters and histograms: HTTP requests and
commands (:mod:`services.http.observability`), group-commit batch sizes and command retries
(:mod:`services.store.metrics`), what the relay published and its failures
(:mod:`services.streaming.relay`), log warnings (:mod:`services.runtime.logs`). Under
``pdl serve --workers N`` the worker processes write these to files in one folder
(prometheus_client's multiprocess mode: ``pdl serve`` sets ``PROMETHEUS_MULTIPROC_DIR``), so
whichever worker answers a scrape reports the sum over all of them.

Read at the scrape (:class:`StoreState`): positions and lags of the views and the relay, and
the WAL sizes. They come from the shared files, so every worker reports the same; only
``pdl_leader`` says which process answered (1: the one catching up, relaying, checkpointing).
"""

import os
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import PersistenceError
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from services.runtime.service import Runtime

#: Set (by ``pdl serve --workers N``) for the worker processes to share their counters.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class StoreState:
    """A collector of the positions, lags and WAL sizes of one process's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        yield gauge("pdl_leader", "1 if this process catches up the views, relays and "
                    "checkpoints; 0 if it follows another.", int(runtime.leading))
        try:
            end = runtime.app.recorder.max_notification_id() or 0
            relay = (max(runtime.relay.position, runtime.relay.recorded_position())
                     if runtime.relay is not None else None)
            views = runtime.views.position
            views_age = self.age_after(views, end)
            relay_age = self.age_after(relay, end) if relay is not None else 0.0
        except (sqlite3.Error, PersistenceError):
            yield gauge("pdl_store_up", "1 if the event log could be read at the scrape.", 0)
            return
        yield gauge("pdl_store_up", "1 if the event log could be read at the scrape.", 1)
        yield gauge("pdl_log_position", "The last position of the event log.", end)
        yield gauge("pdl_views_position", "The last log position the views applied.", views)
        yield gauge("pdl_views_lag_events", "Events of the log not yet in the views.",
                    max(0, end - views))
        yield gauge("pdl_views_lag_seconds", "Age of the oldest event not yet in the views "
                    "(0 when caught up).", views_age)
        if relay is not None:
            yield gauge("pdl_relay_position", "The last log position the relay recorded as "
                        "published to Kafka.", relay)
            yield gauge("pdl_relay_lag_events", "Events of the log not yet published to "
                        "Kafka.", max(0, end - relay))
            yield gauge("pdl_relay_lag_seconds", "Age of the oldest event not yet published "
                        "to Kafka (0 when caught up).", relay_age)
        if runtime.checkpointer is not None:
            wal = GaugeMetricFamily("pdl_wal_bytes", "Size of each SQLite file's write-ahead "
                                    "log.", labels=["file"])
            for name, size in runtime.checkpointer.sizes().items():
                wal.add_metric([name], size)
            yield wal

    def age_after(self, position: int, end: int) -> float:
        """Seconds since the event after ``position`` happened (0 if there is none)."""
        if position >= end:
            return 0.0
        app = self.runtime.app
        following = app.recorder.select_notifications(start=position, limit=1,
                                                      inclusive_of_start=False)
        if not following:
            return 0.0
        event: Any = app.mapper.to_domain_event(following[0])
        return max(0.0, time.time() - event.timestamp.timestamp())


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """Everything ``/metrics`` serves for ``runtime``'s process."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)  # this process's counters, and its CPU and memory
    registry.register(StoreState(runtime))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of ``registry``."""
    return generate_latest(registry)
