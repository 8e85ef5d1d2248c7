"""Every event of a command shares its correlation; a cascade names its cause; and within a
transaction ``occurred_at`` follows the log's order."""

from typing import Any

from contract.changes import Change, change_from_event, event_id
from domain.context import correlated
from domain.feature import ACCEPTED, DONE
from services.commands.application import DecisionLog
from tests.application.scenario import events_between
from tests.support.builders import LEDGER, because, scheduled

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def changes_of(log: DecisionLog, run: Any) -> list[Change]:
    """The public changes the command ``run`` recorded, in log order."""
    before = log.event_count()
    run()
    return [change_from_event(e, before + n)
            for n, e in enumerate(events_between(log, before, log.event_count()), start=1)]


def test_cancelling_a_release_ties_each_cascade_event_to_the_cancellation(
        log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    for status in (DONE, ACCEPTED):
        scheduled(log, LEDGER.a_feature(log, product_id, status, status=status), release_id)

    with correlated("req-42", TRACE):
        changes = changes_of(log, lambda: log.cancel_release(release_id, because("Merged")))

    [cancelled] = [c for c in changes if c.type == "release.cancelled"]
    cascade = [c for c in changes if c is not cancelled]
    assert sorted(c.type for c in cascade) == [
        "feature.unscheduled", "feature.unscheduled",
        "release.feature_removed", "release.feature_removed"]
    assert cancelled.caused_by is None
    assert {str(c.caused_by) for c in cascade} == {str({
        "event_id": cancelled.event_id, "type": "release.cancelled",
        "entity_id": str(release_id), "entity_version": cancelled.entity_version})}
    assert {(c.correlation_id, c.traceparent) for c in changes} == {("req-42", TRACE)}


def test_a_manual_unschedule_is_its_own_cause_and_the_release_mirror_names_it(
        log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    feature_id = scheduled(log, LEDGER.a_feature(log, product_id), release_id)

    changes = changes_of(log, lambda: log.unschedule_feature(feature_id, because("Later")))

    by_type = {c.type: c for c in changes}
    unscheduled = by_type["feature.unscheduled"]
    assert unscheduled.caused_by is None
    assert by_type["release.feature_removed"].caused_by == {
        "event_id": str(event_id(feature_id, unscheduled.entity_version)),
        "type": "feature.unscheduled", "entity_id": str(feature_id),
        "entity_version": unscheduled.entity_version}


def test_a_command_without_a_request_gets_its_own_correlation(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    feature_id = LEDGER.a_feature(log, product_id)

    first = changes_of(log, lambda: scheduled(log, feature_id, release_id))
    second = changes_of(log, lambda: log.unschedule_feature(feature_id, because("Later")))

    assert len({c.correlation_id for c in first}) == 1
    assert len({c.correlation_id for c in second}) == 1
    assert first[0].correlation_id not in (None, second[0].correlation_id)
    assert {c.traceparent for c in first + second} == {None}


def test_occurred_at_follows_the_log_order_within_a_transaction(log: DecisionLog) -> None:
    product_id = LEDGER.a_product(log)
    release_id = LEDGER.a_release(log, product_id)
    for n in range(3):
        scheduled(log, LEDGER.a_feature(log, product_id, f"F{n}"), release_id)

    changes = changes_of(log, lambda: log.cancel_release(release_id, because("Merged")))

    stamps = [c.occurred for c in changes]
    assert len(changes) == 7
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
