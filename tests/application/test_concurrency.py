"""Optimistic concurrency: a stale expected version is refused, and no update is ever lost."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import pytest

from domain.clock import use_clock
from domain.errors import DomainError
from services.commands.application import DecisionLog
from services.runtime.settings import Settings
from services.store.errors import VersionConflict
from services.store.outcome import Outcome
from tests.application.scenario import Rendezvous, race
from tests.support.builders import LEDGER, because, today
from tests.support.stores import open_log


@pytest.fixture
def other_log(settings: Settings) -> Iterator[DecisionLog]:
    """A second application on the same SQLite file, as a second server process would be."""
    yield from open_log(settings)


def after_both_have_read(log: DecisionLog) -> AbstractContextManager[object]:
    """Hold two racing commands until both have read, so that neither saw the other's change.

    A log that runs its commands in batches never interleaves two commands, not even across
    processes (a batch decides under the database's write lock): there they only race.
    """
    return nullcontext() if log.commands.batches is not None else use_clock(Rendezvous(2))


def test_the_expected_version_lets_a_command_through(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))

    outcome = log.change_priority(feature_id, 5, because(), expected_version=1)

    assert outcome.version == 2


def test_a_stale_expected_version_is_a_conflict_naming_the_current_one(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))
    log.change_priority(feature_id, 5, because())
    before = log.event_count()

    with pytest.raises(VersionConflict, match="expected this feature at version 1 but it is at "
                                              "version 2") as conflict:
        log.change_priority(feature_id, 6, because(), expected_version=1)

    assert conflict.value.current_version == 2
    assert log.event_count() == before


def test_two_racing_changes_without_an_expected_version_both_land(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))

    with after_both_have_read(log):
        results = race(
            lambda: log.change_priority(feature_id, 9, because("Top ask")),
            lambda: log.revise_feature(feature_id, because("Clearer"), title="CSV export"),
        )

    assert all(isinstance(r, Outcome) for r in results), results
    assert sorted(r.version for r in results) == [2, 3]
    feature = log.get_feature(feature_id)
    assert (feature.version, feature.priority, feature.title) == (3, 9.0, "CSV export")


def test_many_threads_adding_requirements_lose_none(log: DecisionLog) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))
    texts = [f"Requirement {n}" for n in range(8)]

    results = race(*[lambda t=t: log.add_requirement(feature_id, t, [], because()) for t in texts])

    assert all(isinstance(r, Outcome) for r in results), results
    feature = log.get_feature(feature_id)
    assert sorted(body["text"] for body in feature.requirements.values()) == texts
    assert sorted(feature.requirements) == sorted(f"R{n}" for n in range(1, 9))


@pytest.mark.parametrize("processes", [1, 2])
def test_two_writers_with_the_same_expected_version_one_wins_one_conflicts(
    log: DecisionLog, other_log: DecisionLog, processes: int
) -> None:
    feature_id = LEDGER.a_feature(log, LEDGER.a_product(log))
    second = other_log if processes == 2 else log

    with after_both_have_read(log):  # both have read version 1 before either saves
        results = race(
            lambda: log.change_priority(feature_id, 7, because(), expected_version=1),
            lambda: second.change_priority(feature_id, 8, because(), expected_version=1),
        )

    wins = [r for r in results if isinstance(r, Outcome)]
    conflicts = [r for r in results if isinstance(r, VersionConflict)]
    assert len(wins) == len(conflicts) == 1, results
    assert conflicts[0].current_version == 2
    assert log.get_feature(feature_id).version == other_log.get_feature(feature_id).version == 2


def test_a_race_on_a_shared_release_is_no_conflict_for_an_unchanged_feature(
    log: DecisionLog, other_log: DecisionLog
) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    first, second = (LEDGER.a_feature(log, product_id, title=title) for title in ("One", "Two"))

    with after_both_have_read(log):  # both have read the release before either saves
        results = race(
            lambda: log.schedule_feature(first, release_id, because(), expected_version=1),
            lambda: other_log.schedule_feature(second, release_id, because(), expected_version=1),
        )

    assert all(isinstance(r, Outcome) for r in results), results
    assert sorted(log.get_release(release_id).feature_ids) == sorted([first, second])


def test_a_racing_ship_and_schedule_never_leave_a_feature_in_a_shipped_release(
    log: DecisionLog, other_log: DecisionLog
) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    feature_id = LEDGER.a_feature(log, product_id)

    with after_both_have_read(log):
        results = race(
            lambda: log.ship_release(release_id, today(), because()),
            lambda: other_log.schedule_feature(feature_id, release_id, because()),
        )

    # Whichever saved second decided again on fresh state: scheduled then returned to the
    # backlog by the ship, or refused by the shipped release.

    assert isinstance(results[0], Outcome), results
    assert isinstance(results[1], Outcome | DomainError), results
    release, feature = log.get_release(release_id), log.get_feature(feature_id)
    assert release.state == "shipped"
    assert feature.release_id is None  # a proposed feature never ships: it is back in the backlog
    assert feature_id not in release.feature_ids
