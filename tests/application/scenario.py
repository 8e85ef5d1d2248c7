"""Building blocks for application tests: reading the stored events back, and racing commands.

The entities come from :data:`tests.support.builders.LEDGER`."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.commands.application import DecisionLog


def events_between(log: DecisionLog, after: int, upto: int) -> list[Any]:
    """The stored events with positions ``after < position <= upto``."""
    notifications = log.recorder.select_notifications(after, upto - after,
                                                      inclusive_of_start=False)
    return [log.mapper.to_domain_event(n) for n in notifications]


class Rendezvous:
    """A domain clock that holds the first ``parties`` events until all of them are being made.

    Commands stamp their events while deciding, after loading and checking versions and
    before saving: so every command in the race has read the same state before any saves.
    """

    def __init__(self, parties: int) -> None:
        self._barrier = threading.Barrier(parties, timeout=10)
        self._waiting = parties
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            wait, self._waiting = self._waiting > 0, self._waiting - 1
        if wait:
            self._barrier.wait()
        return datetime.now(tz=UTC)


def race(*commands: Callable[[], Any]) -> list[Any]:
    """Run ``commands`` in threads at once; each result is a return value or the exception."""
    results: list[Any] = [None] * len(commands)

    def run(index: int, command: Callable[[], Any]) -> None:
        try:
            results[index] = command()
        except Exception as error:  # the race's loser: reported, not raised in the thread
            results[index] = error

    threads = [threading.Thread(target=run, args=item) for item in enumerate(commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
