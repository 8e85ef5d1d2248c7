"""The catch-up keeps the views following the store, across threads and processes."""

import logging
import threading
from collections.abc import Iterable
from uuid import UUID

import pytest

from contract.changes import Change
from projections.feeding.catch_up import StoreCatchUp
from projections.views import Views
from services.commands.application import DecisionLog
from services.runtime.bootstrap import build_application
from services.runtime.settings import Settings
from tests.support.builders import BOOKS

WAIT_S = 10.0  # generous: only reached when something is broken


def test_a_write_is_projected_after_notify_and_wait_for_says_so(
        log: DecisionLog, views: Views) -> None:
    catchup = StoreCatchUp(log, views, poll_interval=3600)  # only notify() can wake it in time
    catchup.start()
    product = BOOKS.a_product(log)
    position = a_feature_position(log, product)
    catchup.notify()

    assert views.wait_for(position, timeout=WAIT_S)
    assert views.position == position
    assert views.roadmap(product) is not None
    catchup.stop()


def test_wait_for_returns_false_when_the_position_is_not_reached_in_time(
        log: DecisionLog, views: Views, catchup: StoreCatchUp) -> None:
    catchup.start()
    position = a_product_position(log)
    assert views.wait_for(position, timeout=WAIT_S)

    assert views.wait_for(position + 1, timeout=0.05) is False


def test_a_call_waiting_for_a_position_is_made_once_the_catch_up_applies_it(
        log: DecisionLog, views: Views) -> None:
    position = a_product_position(log)
    made: list[str] = []
    views.call_when_reached(0, lambda: made.append("already reached"))
    views.call_when_reached(position, lambda: made.append("reached"))
    cancel = views.call_when_reached(position, lambda: made.append("cancelled"))
    views.call_when_reached(position + 1, lambda: made.append("not written yet"))
    cancel()
    assert (made, views.waiting) == (["already reached"], 2)

    StoreCatchUp(log, views).run_until_caught_up()

    assert (made, views.waiting) == (["already reached", "reached"], 1)


def test_writes_by_another_process_are_picked_up_without_notify(
        log: DecisionLog, views: Views, catchup: StoreCatchUp, settings: Settings) -> None:
    other = build_application(settings)  # as another process would open the same store
    catchup.start()
    try:
        product = BOOKS.a_product(other, "Written elsewhere")
        position = a_feature_position(other, product)
    finally:
        other.close()

    assert views.wait_for(position, timeout=WAIT_S)
    roadmap = views.roadmap(product)
    assert roadmap is not None
    assert roadmap["product"]["name"] == "Written elsewhere"


def test_run_until_caught_up_crosses_many_batches(log: DecisionLog, views: Views) -> None:
    product = BOOKS.a_product(log)
    for number in range(12):
        BOOKS.a_feature(log, product, f"F{number}")

    position = StoreCatchUp(log, views, batch_size=5).run_until_caught_up()

    assert position == log.event_count() == 13
    roadmap = views.roadmap(product)
    assert roadmap is not None and len(roadmap["backlog"]) == 12


def failing_once(views: Views, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make the first write of ``views`` fail, as a full disk or a lost connection would;
    the list returned holds True once it has."""
    failed: list[bool] = []
    apply = views.apply

    def first_fails(changes: Iterable[Change], position: int) -> None:
        if not failed:
            failed.append(True)
            raise OSError("disk full")
        apply(changes, position)

    monkeypatch.setattr(views, "apply", first_fails)
    return failed


def test_a_failed_batch_is_logged_and_retried_not_skipped(
        log: DecisionLog, views: Views, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    failed = failing_once(views, monkeypatch)
    catchup = StoreCatchUp(log, views)
    position = a_product_position(log)
    catchup.start()
    try:
        assert views.wait_for(position, timeout=WAIT_S)
    finally:
        catchup.stop()

    assert failed
    assert "Catching up the views failed" in caplog.text
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_stop_ends_the_thread(log: DecisionLog, views: Views) -> None:
    catchup = StoreCatchUp(log, views)
    catchup.start()

    catchup.stop()

    assert "views-catch-up" not in {t.name for t in threading.enumerate()}


def a_product_position(log: DecisionLog) -> int:
    """A new product; the position of its creation."""
    BOOKS.a_product(log, "P")
    return log.event_count()


def a_feature_position(log: DecisionLog, product: UUID) -> int:
    """A new feature; the position of its proposal."""
    BOOKS.a_feature(log, product, "T")
    return log.event_count()
