"""Group commit: concurrent saves share transactions without losing durability or conflicts."""

import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.feature import Feature
from services.commands.application import DecisionLog
from services.store.group_commit import GroupCommitRecorder
from services.store.outcome import Outcome
from services.store.pg_group_commit import PgGroupCommitRecorder
from tests.group_commit.conftest import OpenLog, hold_writer
from tests.support.builders import ROADMAPS, by

REASON = by("pm@example.com", "Customers asked for it.")
THREADS = 16
COMMANDS_PER_THREAD = 25


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(k)`` for k in range(count) in threads started together; their results."""
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(k: int) -> None:
        barrier.wait()
        try:
            results[k] = work(k)
        except Exception as error:
            results[k] = error

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Synchronise with other threads (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the other threads never got there")
        time.sleep(0.001)


def test_the_default_store_commits_in_groups(open_log: OpenLog) -> None:
    assert isinstance(open_log().recorder, GroupCommitRecorder | PgGroupCommitRecorder)


def test_many_threads_committing_at_once_all_succeed_with_their_own_positions(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    features = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(THREADS)]
    first = app.event_count() + 1

    def work(k: int) -> list[Outcome]:
        return [app.change_priority(features[k], float(n + 1), REASON)
                for n in range(COMMANDS_PER_THREAD)]

    outcomes = [o for result in in_threads(THREADS, work) for o in result]

    positions = sorted(o.position for o in outcomes)
    assert positions == list(range(first, first + THREADS * COMMANDS_PER_THREAD))
    for outcome in outcomes:
        (stored,) = app.recorder.select_notifications(outcome.position, 1)
        assert (stored.originator_id, stored.originator_version) == (outcome.id, outcome.version)


def test_a_command_touching_two_entities_gets_both_events_committed_together(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    release_id = app.plan_release(product_id, actor="pm", name="1.0",
                                  target_date=date(2030, 1, 1)).id
    features = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(THREADS)]

    outcomes = in_threads(THREADS, lambda k: app.schedule_feature(features[k], release_id, REASON))

    assert all(isinstance(o, Outcome) for o in outcomes)
    assert sorted(app.get_release(release_id).feature_ids) == sorted(features)
    for outcome in outcomes:  # the feature's event, then the release's, next to each other
        feature, release = app.recorder.select_notifications(outcome.position - 1, 2)
        assert (feature.originator_id, feature.originator_version) == (outcome.id, 2)
        assert release.originator_id == release_id and outcome.id.hex.encode() in release.state


def save_in_one_batch(app: DecisionLog, product_id: UUID,
                      saves: dict[str, list[Feature]]) -> dict[str, Any]:
    """Save each entry of ``saves`` from its own thread, all in the same group commit.

    The database's writer is held while the saves queue up behind a leader, then released.
    Returns each save's recordings, or the ``IntegrityError`` it raised.
    """
    recorder = app.recorder
    assert isinstance(recorder, GroupCommitRecorder | PgGroupCommitRecorder)
    leader = app.get_feature(ROADMAPS.a_feature(app, product_id, "Feature 99"))
    leader.change_priority(9.0, REASON)
    release = hold_writer(app)
    results: dict[str, Any] = {}

    def save(name: str, aggregates: list[Feature]) -> None:
        try:
            results[name] = app.save(*aggregates)
        except IntegrityError as error:
            results[name] = error

    savers = [threading.Thread(target=save, args=("leader", [leader]))]
    savers[0].start()
    wait_until(lambda: recorder.saves.queued == 0 and recorder.saves.leading)
    batches_before = recorder.saves.batches
    for name, aggregates in saves.items():
        savers.append(threading.Thread(target=save, args=(name, aggregates)))
        savers[-1].start()
    wait_until(lambda: recorder.saves.queued == len(saves))
    release()
    for saver in savers:
        saver.join()
    assert recorder.saves.batches - batches_before == 2  # the leader's, then all of ``saves``
    return results


def test_a_conflicting_save_in_a_batch_fails_alone_and_the_others_commit(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    contested, bystander = (ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(2))
    first, second = app.get_feature(contested), app.get_feature(contested)
    first.change_priority(1.0, REASON)
    second.change_priority(2.0, REASON)  # the same version as ``first``: a conflict
    other = app.get_feature(bystander)
    other.change_priority(3.0, REASON)

    results = save_in_one_batch(app, product_id,
                                {"first": [first], "second": [second], "other": [other]})

    assert isinstance(results["first"], list) and results["first"][0].notification.id > 0
    assert isinstance(results["second"], IntegrityError)
    assert isinstance(results["other"], list) and results["other"][0].notification.id > 0
    assert app.get_feature(contested).priority == 1.0
    assert app.get_feature(bystander).priority == 3.0


def test_a_conflict_on_the_second_event_of_a_command_takes_back_its_first(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    fresh_id, contested_id, bystander_id = (ROADMAPS.a_feature(app, product_id, f"Feature {k}")
                                            for k in range(3))
    fresh, winner, loser = (app.get_feature(fresh_id), app.get_feature(contested_id),
                            app.get_feature(contested_id))
    winner.change_priority(1.0, REASON)
    fresh.change_priority(5.0, REASON)
    loser.change_priority(2.0, REASON)
    other = app.get_feature(bystander_id)
    other.change_priority(3.0, REASON)

    results = save_in_one_batch(app, product_id,
                                {"winner": [winner], "both": [fresh, loser], "other": [other]})

    assert isinstance(results["both"], IntegrityError)
    assert app.get_feature(fresh_id).version == 1  # its event was taken back with the loser's
    assert app.get_feature(contested_id).priority == 1.0
    assert app.get_feature(bystander_id).priority == 3.0
    positions = [results[name][0].notification.id for name in ("winner", "other")]
    assert app.event_count() == max(positions)


def test_a_lost_race_is_still_retried_on_fresh_state(open_log: OpenLog) -> None:
    app = open_log()
    feature_id = ROADMAPS.a_feature(app, ROADMAPS.a_product(app), "Feature 0")

    outcomes = in_threads(THREADS, lambda k: app.change_priority(feature_id, float(k + 1),
                                                                 REASON))

    assert all(isinstance(o, Outcome) for o in outcomes)
    assert app.get_feature(feature_id).version == 1 + THREADS


def test_a_stale_expected_version_fails_alone_with_a_version_conflict(
    open_log: OpenLog,
) -> None:
    from services.store.errors import VersionConflict

    app = open_log()
    product_id = ROADMAPS.a_product(app)
    features = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(THREADS)]

    def work(k: int) -> Outcome:
        return app.change_priority(features[k % 2 if k < 4 else k], float(k + 1), REASON,
                                   expected_version=1)

    results = in_threads(THREADS, work)

    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    assert len(conflicts) == 2  # of the four racing on two features, one each lost
    assert sum(isinstance(r, Outcome) for r in results) == THREADS - 2


def test_acknowledged_commands_are_on_disk_for_the_next_process(open_log: OpenLog) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    features = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(THREADS)]
    in_threads(THREADS, lambda k: [app.change_priority(features[k], float(n + 1), REASON)
                                   for n in range(COMMANDS_PER_THREAD)])
    expected = app.event_count()
    app.close()

    reopened = open_log()

    assert reopened.event_count() == expected == 1 + THREADS * (1 + COMMANDS_PER_THREAD)
    assert all(reopened.get_feature(f).version == 1 + COMMANDS_PER_THREAD for f in features)


@pytest.mark.parametrize("group_commit", [True, False])
def test_a_single_command_needs_no_company_to_commit(tmp_path: Any, group_commit: bool) -> None:
    from services.runtime.bootstrap import build_application
    from services.runtime.settings import Settings, StoreSettings

    app = build_application(Settings(data_dir=tmp_path,
                                     store=StoreSettings(group_commit=group_commit)))
    try:
        assert ROADMAPS.a_product(app) and app.event_count() == 1
    finally:
        app.close()


def test_batches_that_wait_to_fill_still_give_every_command_its_own_position(
    tmp_path: Any,
) -> None:
    from services.runtime.bootstrap import build_application
    from services.runtime.settings import Settings, StoreSettings

    store = StoreSettings(group_commit_max_batch=4, group_commit_max_wait_ms=2)
    app = build_application(Settings(data_dir=tmp_path, store=store))
    try:
        assert isinstance(app.recorder, GroupCommitRecorder) and app.recorder.saves.max_batch == 4
        product_id = ROADMAPS.a_product(app)
        features = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(THREADS)]

        outcomes = in_threads(THREADS, lambda k: app.change_priority(features[k], 1.0, REASON))

        assert sorted(o.position for o in outcomes) == list(range(2 + THREADS, 2 + 2 * THREADS))
    finally:
        app.close()
