"""Several server processes on one port, each with its own listening socket.

``pdl serve --workers N`` starts N worker processes. Each binds the port itself with
``SO_REUSEPORT``, so the kernel spreads new connections over the workers' sockets. (With one
socket shared by all workers, as uvicorn's own supervisor does, the worker that wakes first
accepts every pending connection at once — asyncio accepts them in a loop — so a burst of
keep-alive clients all land on one worker and one core.)

The parent only supervises: it restarts a worker that dies, gives up if workers keep
failing to start, and on SIGTERM / Ctrl-C asks every worker to shut down gracefully, waits
for them, and returns. Each worker builds its own runtime (:func:`worker_app`) on the shared
data folder and dies with the parent, however the parent dies.
"""

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)

#: A worker that exits sooner than this after its start counts as failing to start.
START_WINDOW_S = 10.0
#: How many failed starts in a row make the supervisor give up.
MAX_FAILED_STARTS = 3


def reuse_port_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (listening if ``listen``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(target: str, host: str, port: int, options: dict[str, Any]) -> None:
    """A worker process: its own socket on the shared port, uvicorn serving ``target``
    (an app factory, ``module:function``) until SIGTERM."""
    import uvicorn

    sock = reuse_port_socket(host, port, listen=True)
    config = uvicorn.Config(target, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def supervise(target: str, host: str, port: int, workers: int, options: dict[str, Any],
              stop_on_signals: Callable[[Callable[[], None]], None],
              grace_s: float) -> int:
    """Run ``workers`` worker processes until SIGTERM / Ctrl-C; exit status 0, or 1 when
    workers keep failing to start."""
    # Bound (not listening: it takes no connections) so that a port held by another
    # program fails here, at once, rather than in every worker.
    probe = reuse_port_socket(host, port, listen=False)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    stop_on_signals(stop.set)
    running: dict[int, tuple[BaseProcess, float]] = {}
    failed_starts = 0

    def start(slot: int) -> None:
        process = context.Process(target=run_worker, args=(target, host, port, options),
                                  name=f"pdl-worker-{slot}")
        process.start()
        running[slot] = (process, time.monotonic())
        log.info("Started worker %d (pid %s) on %s:%d", slot, process.pid, host, port)

    try:
        for slot in range(workers):
            start(slot)
        while not stop.wait(0.2):
            for slot, (process, started) in list(running.items()):
                if process.is_alive() or stop.is_set():
                    continue
                quick = time.monotonic() - started < START_WINDOW_S
                failed_starts = failed_starts + 1 if quick else 0
                log.warning("Worker %d (pid %s) exited with %s%s", slot, process.pid,
                            process.exitcode, "; restarting it" if failed_starts <
                            MAX_FAILED_STARTS else "")
                if failed_starts >= MAX_FAILED_STARTS:
                    log.error("Workers keep failing to start; stopping.")
                    return 1
                start(slot)
        return 0
    finally:
        for process, _ in running.values():
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)  # a graceful shutdown in each
        deadline = time.monotonic() + grace_s + 10
        for process, _ in running.values():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        probe.close()
