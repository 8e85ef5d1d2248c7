"""Command batches: commands arriving together run one after another on one thread, in one
transaction, with the answers each would get alone (services/store/command_batches.py)."""

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError

from domain.clock import use_clock
from domain.errors import DomainError
from services.commands.application import DecisionLog
from services.store.errors import VersionConflict
from services.store.outcome import Outcome
from tests.group_commit.conftest import OpenLog, give_up_on, hold_writer
from tests.group_commit.test_group_commit import REASON, in_threads, wait_until
from tests.support.builders import ROADMAPS


def run_in_one_batch(app: DecisionLog, leader_feature: UUID,
                     commands: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run ``commands``, each from its own thread, all in the same batch, in this order.

    The database's writer is held while the commands queue up behind a leader (a command on
    ``leader_feature``, in a batch of its own), then released. Returns each command's result,
    or the exception it raised.
    """
    assert app.commands.batches is not None
    batches = app.commands.batches.combiner
    release = hold_writer(app)
    results: dict[str, Any] = {}

    def run(name: str, command: Callable[[], Any]) -> None:
        try:
            results[name] = command()
        except Exception as error:
            results[name] = error

    leader = threading.Thread(target=run, args=(
        "leader", lambda: app.change_priority(leader_feature, 1.0, REASON)))
    leader.start()
    wait_until(lambda: batches.queued == 0 and batches.leading)
    before = batches.batches
    threads = [leader]
    for item in commands.items():
        threads.append(threading.Thread(target=run, args=item))
        threads[-1].start()
        wait_until(lambda: batches.queued == len(threads) - 1)  # queued in this order
    release()
    for thread in threads:
        thread.join()
    assert batches.batches - before == 2  # the leader's, then all of ``commands``
    assert isinstance(results.pop("leader"), Outcome)
    return results


def stored_versions(app: DecisionLog, aggregate_id: UUID) -> list[int]:
    return [e.originator_version for e in app.recorder.select_events(aggregate_id)]


def test_the_default_store_runs_commands_in_batches(open_log: OpenLog) -> None:
    assert open_log().commands.batches is not None


def test_commands_arriving_together_commit_together_each_with_its_own_position(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    *features, leader = [ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(6)]

    results = run_in_one_batch(app, leader, {
        f"f{k}": lambda f=f, k=k: app.change_priority(f, float(k + 1), REASON)
        for k, f in enumerate(features)
    })

    positions = [results[f"f{k}"].position for k in range(5)]
    assert positions == list(range(app.event_count() - 4, app.event_count() + 1))
    for k, position in enumerate(positions):
        (stored,) = app.recorder.select_notifications(position, 1)
        assert (stored.originator_id, stored.originator_version) == (features[k], 2)


def test_a_refused_command_fails_alone_and_the_rest_of_its_batch_commits(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    ok, shipped, stale, also_ok, leader = (ROADMAPS.a_feature(app, product_id, f"Feature {k}")
                                           for k in range(5))
    app.change_priority(stale, 5.0, REASON)
    before = app.event_count()

    results = run_in_one_batch(app, leader, {
        "ok": lambda: app.change_priority(ok, 1.0, REASON),
        "refused": lambda: app.change_feature_status(shipped, "shipped", REASON),
        "stale": lambda: app.change_priority(stale, 2.0, REASON, expected_version=1),
        "also_ok": lambda: app.change_priority(also_ok, 3.0, REASON),
    })

    assert isinstance(results["refused"], DomainError)
    assert isinstance(results["stale"], VersionConflict)
    assert isinstance(results["ok"], Outcome) and isinstance(results["also_ok"], Outcome)
    assert app.event_count() == before + 1 + 2  # the leader's, then the two that succeeded
    assert app.get_feature(stale).priority == 5.0


def test_a_command_sees_what_the_commands_before_it_in_its_batch_wrote(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    feature_id, leader = (ROADMAPS.a_feature(app, product_id, "Feature 1"),
                          ROADMAPS.a_feature(app, product_id, "Feature 2"))
    release_id = app.plan_release(product_id, actor="pm", name="Spring",
                                  target_date=date(2031, 3, 1)).id

    results = run_in_one_batch(app, leader, {
        # writes the release's version 2 ...
        "schedule": lambda: app.schedule_feature(feature_id, release_id, REASON),
        # ... which this one, loading the release from the store, must build on
        "slip": lambda: app.change_target_date(release_id, date(2031, 4, 1), REASON),
    })

    assert isinstance(results["schedule"], Outcome), results
    assert results["slip"] == Outcome(release_id, 3, results["slip"].position)
    release = open_log().get_release(release_id)  # as another process reads it
    assert (release.feature_ids, release.target_date) == ([feature_id], date(2031, 4, 1))


def test_when_the_database_gives_up_a_batch_none_of_it_is_stored_or_remembered(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    cached, doomed, after, leader = (ROADMAPS.a_feature(app, product_id, f"Feature {k}")
                                     for k in range(4))
    app.change_priority(cached, 1.0, REASON)  # now in the command cache, at version 2
    before = app.event_count()
    stop_giving_up = give_up_on(app, doomed)

    results = run_in_one_batch(app, leader, {
        "cached": lambda: app.change_priority(cached, 2.0, REASON),  # version 3, in the cache
        "doomed": lambda: app.change_priority(doomed, 2.0, REASON),
        "after": lambda: app.change_priority(after, 2.0, REASON),
    })

    assert all(isinstance(r, OperationalError) for r in results.values()), results
    assert app.event_count() == before + 1  # only the leader's batch
    stop_giving_up()
    # The cache forgot version 3 (never stored): the next command builds on version 2.
    assert app.change_priority(cached, 4.0, REASON).version == 3
    assert stored_versions(app, cached) == [1, 2, 3]
    assert app.get_feature(cached).priority == 4.0


@pytest.mark.parametrize("processes", [1, 2])
def test_many_threads_in_one_or_two_processes_lose_no_change(
    open_log: OpenLog, processes: int
) -> None:
    apps = [open_log() for _ in range(processes)]
    product_id = ROADMAPS.a_product(apps[0])
    features = [ROADMAPS.a_feature(apps[0], product_id, f"Feature {k}") for k in range(4)]
    threads, per_thread = 12, 10

    def work(k: int) -> list[int]:
        app, feature = apps[k % processes], features[k % len(features)]
        return [app.add_requirement(feature, f"T{k}-{n}", [], REASON).version
                for n in range(per_thread)]

    results = in_threads(threads, work)

    assert not [r for r in results if isinstance(r, BaseException)], results
    for feature in features:
        count = 1 + per_thread * threads // len(features)
        assert stored_versions(apps[0], feature) == list(range(1, count + 1))
        assert len(apps[-1].get_feature(feature).requirements) == count - 1


def test_a_feature_is_never_proposed_for_a_product_after_it_was_retired(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    checked, retired = threading.Event(), threading.Event()
    calls = iter(range(1_000_000))

    def clock() -> datetime:
        """The first event made (the proposal's, after its product check) waits for the
        retirement to land, or gives up after a second if it cannot land meanwhile."""
        if next(calls) == 0:
            checked.set()
            retired.wait(timeout=1.0)
        return datetime.now(tz=UTC)

    results: dict[str, Any] = {}
    with use_clock(clock):
        proposer = threading.Thread(target=lambda: results.update(
            proposal=attempt(lambda: app.propose_feature(
                product_id, actor="pm", title="Late", problem="Slow.", business_value="Time.",
                benefit="Faster."))))
        proposer.start()
        checked.wait(timeout=10)
        results["retirement"] = app.retire_product(product_id, REASON)
        retired.set()
        proposer.join()

    proposal, retirement = results["proposal"], results["retirement"]
    assert isinstance(retirement, Outcome)
    assert isinstance(proposal, DomainError) or proposal.position < retirement.position, results


def attempt(command: Callable[[], Any]) -> Any:
    try:
        return command()
    except DomainError as error:
        return error


def test_readers_never_see_what_a_batch_has_not_committed(open_log: OpenLog) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    first, second, leader = (ROADMAPS.a_feature(app, product_id, f"Feature {k}") for k in range(3))
    release_id = app.plan_release(product_id, actor="pm", name="Spring",
                                  target_date=date(2031, 3, 1)).id
    app.get_release(release_id)  # a reader has it in the shared aggregate cache
    deciding, go_on = threading.Event(), threading.Event()
    calls = iter(range(1_000_000))

    def clock() -> datetime:
        """Events 0: the leader's command; 1 and 2: the first scheduling; 3: the second
        scheduling, which holds its batch open (uncommitted) while the test reads."""
        if next(calls) == 3:
            deciding.set()
            go_on.wait(timeout=10)
        return datetime.now(tz=UTC)

    seen: list[int] = []

    def read_while_deciding() -> None:
        deciding.wait(timeout=10)
        seen.append(app.get_release(release_id).version)
        go_on.set()

    reader = threading.Thread(target=read_while_deciding)
    reader.start()
    with use_clock(clock):
        results = run_in_one_batch(app, leader, {
            "first": lambda: app.schedule_feature(first, release_id, REASON),
            "second": lambda: app.schedule_feature(second, release_id, REASON),
        })
    reader.join()

    assert all(isinstance(r, Outcome) for r in results.values()), results
    assert seen == [1]  # not 2, written by the first scheduling but not yet committed
    assert app.get_release(release_id).version == 3
