"""The fast decode gives exactly the change the library path gives, for every change type."""

import dataclasses
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4, uuid5

import orjson
import pytest

from contract.changes import (
    CHANGE_TYPES,
    EVENT_ID_NAMESPACE,
    Change,
    change_from_event,
    event_id,
    event_id_text,
)
from projections.feeding.decode import ChangeDecoder, _datetime
from projections.intervals import instant
from services.commands.application import DecisionLog
from services.commands.change_requests import ChangeStatus, MoveFeature
from tests.kafka.streams import roadmap_history
from tests.support.builders import BOOKS, by


def every_change_type(log: DecisionLog) -> None:
    product = roadmap_history(log)
    r1 = BOOKS.a_release(log, product, "4.0", date(2028, 1, 1))
    r2 = BOOKS.a_release(log, product, "4.1", date(2028, 2, 1))
    export = BOOKS.a_feature(log, product, "Bulk export", 2)
    log.schedule_feature(export, r1, by("alice", "Customers asked"))
    log.score_priority(export, "rice", {"reach": 1000, "impact": 2, "confidence": 0.8,
                                        "effort": 4}, by("alice", "Scored in planning"))
    first = BOOKS.a_decision(log, product, "Move export")
    log.accept_decision(first, [MoveFeature(export, r2)], actor="dana")
    log.reject_decision(BOOKS.a_decision(log, product, "Drop export"), by("alice", "No"))
    replacing = BOOKS.a_decision(log, product, "Move it back", supersedes=first)
    log.accept_decision(replacing, [MoveFeature(export, r1)], actor="dana")
    other = BOOKS.a_decision(log, product, "Accept export")
    log.accept_decision(other, [ChangeStatus(export, "accepted")], actor="dana")
    # A correction: the status goes back, with data.reverts naming the decision reversed.
    log.reverse_decision(other, by("alice", "Customers complained", "https://x/1"))
    log.retire_product(product, by("alice", "Sunset."))


def library_change(log: DecisionLog, notification: Any) -> Change | None:
    event = log.mapper.to_domain_event(notification)
    if type(event) not in CHANGE_TYPES:
        return None
    return change_from_event(event, notification.id)  # type: ignore[arg-type]


def test_every_change_type_decodes_exactly_as_the_library_path_without_falling_back(
        log: DecisionLog, monkeypatch: pytest.MonkeyPatch) -> None:
    every_change_type(log)
    notifications = log.recorder.select_notifications(0, 100_000)
    decode = ChangeDecoder(log.mapper)

    def no_fallback(*args: Any) -> None:
        raise AssertionError("fell back to the library path")

    monkeypatch.setattr(decode, "_slow_change", no_fallback)
    seen = set()
    for n in notifications:
        expected = library_change(log, n)
        got = decode(n, n.id)
        assert got == expected
        assert got is not None and expected is not None
        assert got.to_dict() == expected.to_dict()
        assert [type(v) for v in got.data.values()] == [type(v) for v in expected.data.values()]
        assert list(got.data) == list(expected.data)  # same order: the audit stores it as is
        seen.add(got.type)
    assert seen == {t for _, t in CHANGE_TYPES.values()}


def test_event_ids_are_the_standard_uuid5_of_entity_and_version() -> None:
    for version, entity in enumerate(uuid4() for _ in range(2_000)):
        assert event_id_text(str(entity), version) == str(
            uuid5(EVENT_ID_NAMESPACE, f"{entity}:{version}")) == str(event_id(entity, version))


def test_what_the_fast_path_cannot_vouch_for_takes_the_library_path(log: DecisionLog) -> None:
    every_change_type(log)
    notifications = log.recorder.select_notifications(0, 100_000)
    decode = ChangeDecoder(log.mapper)
    for n in notifications[:20]:
        odd = type(n)(originator_id=n.originator_id, originator_version=n.originator_version,
                      topic=n.topic, state=n.state.replace(b'"actor":', b'"class_version":1,'
                                                           b'"actor":'), id=n.id)
        assert decode(odd, n.id) == library_change(log, odd)


def test_a_stored_row_decodes_as_its_notification_does(log: DecisionLog) -> None:
    every_change_type(log)
    decode = ChangeDecoder(log.mapper)
    for n in log.recorder.select_notifications(0, 100_000):
        odd = n.state.replace(b'"actor":', b'"class_version":1,"actor":')  # library path
        for state in (n.state, odd):
            row = (n.id, n.originator_id.hex, n.originator_version, n.topic, state)
            stored = type(n)(originator_id=n.originator_id, originator_version=n.originator_version,
                             topic=n.topic, state=state, id=n.id)
            assert decode.decode(*row) == library_change(log, stored)


def test_integers_beyond_64_bits_keep_their_exact_value(log: DecisionLog) -> None:
    every_change_type(log)
    decode = ChangeDecoder(log.mapper)
    n = log.recorder.select_notifications(0, 100_000)[-1]
    big = type(n)(originator_id=n.originator_id, originator_version=n.originator_version,
                  topic=n.topic, state=n.state.replace(b'"actor":', b'"count":2' + b"0" * 25
                                                       + b',"actor":'), id=n.id)

    change = decode(big, big.id)

    assert change is not None and change.data["count"] == 2 * 10**25
    assert change == library_change(log, big)


@pytest.mark.parametrize("stamp", ["2026-01-05T09:00:00.000000+00:00",
                                   "2026-01-05T09:00:00.123456+00:00",
                                   "2026-01-05T10:00:00.123456+01:00",
                                   "2026-01-05T09:00:00+00:00"])
def test_instants_are_written_as_the_library_writes_them(stamp: str) -> None:
    parsed = datetime.fromisoformat(stamp)

    assert _datetime(stamp) == parsed.isoformat()
    assert instant(stamp) == parsed.astimezone(UTC).isoformat(timespec="microseconds")


def test_text_shaped_like_an_instant_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        _datetime("2026-13-05T09:00:00.123456+00:00")
    with pytest.raises(ValueError):
        instant("2026-13-05T09:00:00.123456+00:00")


def test_events_stored_before_correlation_and_cause_decode_without_them(
        log: DecisionLog) -> None:
    every_change_type(log)
    for notification in log.recorder.select_notifications(0, 100_000):
        state = orjson.loads(notification.state)
        if "caused_by" not in state:
            continue
        # As an event stored before these attributes existed: none of them.
        for name in ("correlation_id", "caused_by", "traceparent"):
            state.pop(name, None)
        old = dataclasses.replace(notification, state=orjson.dumps(state))
        change = ChangeDecoder(log.mapper)(old, notification.id)
        assert change is not None
        assert change == library_change(log, old)
        assert (change.correlation_id, change.caused_by, change.traceparent) == (
            None, None, None)
        assert ChangeDecoder(log.mapper)(notification, notification.id) == library_change(
            log, notification)
        return
    raise AssertionError("no event with a cause was stored")
