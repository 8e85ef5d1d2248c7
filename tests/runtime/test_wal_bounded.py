"""Every SQLite file the service writes keeps a bounded WAL while readers are always open."""

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.reasons import Reason
from services.identity.idempotency import StoredResponse
from services.runtime.bootstrap import written_files
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import Settings, StoreSettings
from services.store.checkpoints import wal_bytes

pytestmark = pytest.mark.slow

LIMIT_MB = 0.125
#: How long the checkpointer gets, after the writes, to bring every WAL under the limit.
SETTLE_S = 10.0
WRITES = 600


def runtime_with(tmp_path: Path, limit_mb: float) -> Runtime:
    return build_runtime(Settings(data_dir=tmp_path, store=StoreSettings(
        wal_limit_mb=limit_mb, wal_check_interval_s=0.02)))


def readers(runtime: Runtime, stop: threading.Event) -> Iterator[threading.Thread]:
    """Two threads per file, reading back to back, so some read is almost always open."""
    reads: list[Callable[[], object]] = [
        lambda: runtime.views.list_products(),
        lambda: runtime.app.recorder.select_notifications(0, 50),
        lambda: runtime.tokens.count(),
    ]
    for read in reads * 2:
        def loop(read: Callable[[], object] = read) -> None:
            while not stop.is_set():
                read()
        yield threading.Thread(target=loop, daemon=True)


def largest_wal_under_load(runtime: Runtime) -> tuple[dict[str, int], dict[str, int]]:
    """Write to every file while readers keep reading: the largest WAL size seen per file,
    and each WAL's size a little after the writes stopped, the readers still reading (a WAL
    file only ever shrinks when a checkpoint truncates it)."""
    files = written_files(runtime.settings)
    largest = dict.fromkeys((p.name for p in files), 0)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            for path in files:
                largest[path.name] = max(largest[path.name], wal_bytes(path))

    threads = [*readers(runtime, stop), threading.Thread(target=watch, daemon=True)]
    runtime.start()
    for thread in threads:
        thread.start()
    try:
        product = runtime.app.create_product(
            actor="pat", name="Ledger", vision="v0", value_proposition="Books that close.",
            target_customers="Accountants", owner="pat")
        for i in range(WRITES):
            outcome = runtime.app.revise_vision(product.id, f"vision {i} " + "x" * 2_000,
                                                Reason(actor="pat", rationale="iterating"))
            runtime.notify()
            runtime.idempotency.claim("pat", f"key-{i}", "print")
            runtime.idempotency.complete("pat", f"key-{i}", StoredResponse(
                status=200, headers=[], body=b"y" * 4_000))
        assert runtime.views.wait_for(outcome.position, timeout=30)
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and any(
                wal_bytes(path) > LIMIT_MB * 2**20 for path in files):
            time.sleep(0.05)
        after = {path.name: wal_bytes(path) for path in files}
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        runtime.close()
    return largest, after


def test_every_wal_stays_near_its_limit_while_readers_are_always_open(tmp_path: Path) -> None:
    largest, after = largest_wal_under_load(runtime_with(tmp_path, LIMIT_MB))
    assert set(largest) == {"events.db", "views.db", "service.db"}
    for name, size in after.items():
        assert size <= LIMIT_MB * 2**20, (name, size)  # truncated, readers notwithstanding
    for name, size in largest.items():
        # Not growing with the writes (a loaded machine may delay a checkpoint a little).
        assert size <= 24 * LIMIT_MB * 2**20, (name, size)
