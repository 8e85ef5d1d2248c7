"""Building blocks for application tests: entities created through the real commands."""

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from domain.feature import PROPOSED
from services.commands.application import DecisionLog
from tests.domain.builders import FEATURE, PATH_TO, PRODUCT
from tests.domain.gwt import because


def a_product(log: DecisionLog, name: str = "Ledger") -> UUID:
    return log.create_product(**{**PRODUCT, "name": name}).id


def a_feature(log: DecisionLog, product_id: UUID, status: str = PROPOSED,
              title: str = FEATURE["title"]) -> UUID:
    details = {k: v for k, v in FEATURE.items() if k not in ("product_id", "title")}
    feature_id = log.propose_feature(product_id, title=title, **details).id
    for step in PATH_TO[status]:  # shipping goes through ship_release
        log.change_feature_status(feature_id, step, because())
    return feature_id


def a_release(log: DecisionLog, product_id: UUID, name: str = "1.0",
              target_date: date = date(2027, 3, 1)) -> UUID:
    return log.plan_release(product_id, actor="pat", name=name, target_date=target_date).id


def scheduled(log: DecisionLog, feature_id: UUID, release_id: UUID) -> UUID:
    log.schedule_feature(feature_id, release_id, because())
    return feature_id


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
