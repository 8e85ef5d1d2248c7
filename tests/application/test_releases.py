"""Shipping and cancelling a release decide the fate of every feature in it, in one save."""

from datetime import date

import pytest

from domain.errors import RuleViolation
from domain.feature import ACCEPTED, DONE, IN_PROGRESS, SHIPPED
from services.commands.application import DecisionLog
from tests.support.builders import LEDGER, because, scheduled, today


def test_shipping_a_release_ships_its_done_features_and_returns_the_rest(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    done = scheduled(log, LEDGER.a_feature(log, product_id, "Done", status=DONE), release_id)
    busy = scheduled(log, LEDGER.a_feature(log, product_id, "Busy", status=IN_PROGRESS), release_id)
    idle = scheduled(log, LEDGER.a_feature(log, product_id, "Idle", status=ACCEPTED), release_id)
    before = log.event_count()

    outcome = log.ship_release(release_id, today(), because("Go/no-go passed"))

    # the done feature ships; two features leave (release + feature event each); the release ships
    assert outcome.position == log.event_count() == before + 6
    release = log.get_release(release_id)
    assert (release.state, release.shipped_on, release.feature_ids) == (
        "shipped", today(), [done])
    assert outcome.version == release.version
    assert (log.get_feature(done).status, log.get_feature(done).release_id) == (
        SHIPPED, release_id)
    assert [(log.get_feature(f).status, log.get_feature(f).release_id) for f in (busy, idle)] == [
        (IN_PROGRESS, None), (ACCEPTED, None)]


def test_cancelling_a_release_returns_its_features_to_the_backlog(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    features = [scheduled(log, LEDGER.a_feature(log, product_id, status, status=status), release_id)
                for status in (DONE, ACCEPTED)]

    log.cancel_release(release_id, because("Merged into 2.0"))

    release = log.get_release(release_id)
    assert (release.state, release.feature_ids) == ("cancelled", [])
    assert [log.get_feature(f).release_id for f in features] == [None, None]
    assert [log.get_feature(f).status for f in features] == [DONE, ACCEPTED]


def test_a_shipped_release_refuses_a_date_change_and_changes_nothing(log: DecisionLog) -> None:
    release_id = LEDGER.a_release(log, LEDGER.a_product(log))
    log.ship_release(release_id, today(), because())
    before = log.event_count()

    with pytest.raises(RuleViolation, match="is shipped; you can no longer change its target date"):
        log.change_target_date(release_id, date(2027, 4, 1), because())

    assert log.event_count() == before


def test_a_slip_is_stored_with_its_old_and_new_date(log: DecisionLog) -> None:
    release_id = LEDGER.a_release(log, LEDGER.a_product(log), target_date=date(2027, 3, 1))

    outcome = log.change_target_date(release_id, date(2027, 3, 22), because("Vendor late"))

    old = log.get_release(release_id, version=outcome.version - 1)
    assert (old.target_date, log.get_release(release_id).target_date) == (
        date(2027, 3, 1), date(2027, 3, 22))


def test_a_feature_that_shipped_stays_in_its_release(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id, status=DONE), release_id)
    log.ship_release(release_id, today(), because())
    before = log.event_count()

    with pytest.raises(RuleViolation, match="has shipped; it stays in its release"):
        log.unschedule_feature(feature_id, because())
    with pytest.raises(RuleViolation, match="is shipped and cannot be scheduled"):
        log.schedule_feature(feature_id, LEDGER.a_release(log, product_id, "2.0"), because())

    assert log.event_count() == before + 1  # only the new release was planned
