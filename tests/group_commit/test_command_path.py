"""The fast command path: the command cache, the batched inserts and the orjson transcoder.

A command may decide on a cached aggregate without reading the store first; these check that
it never commits on, or is refused by, state that another process has moved on from.
"""

import enum
import math
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    IntegrityError,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from domain.errors import InvalidCommand
from services.store.errors import VersionConflict
from services.store.fast_codec import FastJSONTranscoder
from services.store.transcodings import DateAsISO
from tests.group_commit.conftest import OpenLog
from tests.group_commit.test_group_commit import REASON, save_in_one_batch
from tests.support.builders import ROADMAPS


def test_a_command_on_an_aggregate_another_process_changed_builds_on_the_stored_state(
    open_log: OpenLog,
) -> None:
    ours, theirs = open_log(), open_log()
    feature_id = ROADMAPS.a_feature(ours, ROADMAPS.a_product(ours), "Feature 0")
    ours.change_priority(feature_id, 1.0, REASON)  # now cached here, at version 2

    theirs.add_requirement(feature_id, "Export as CSV", [], REASON)  # version 3, R1
    outcome = ours.add_requirement(feature_id, "Export as PDF", [], REASON)

    assert outcome.version == 4
    assert ours.get_feature(feature_id).requirements == {
        "R1": {"text": "Export as CSV", "acceptance_criteria": []},
        "R2": {"text": "Export as PDF", "acceptance_criteria": []},
    }


def test_a_refusal_on_cached_state_is_checked_again_on_the_stored_state(
    open_log: OpenLog,
) -> None:
    ours, theirs = open_log(), open_log()
    feature_id = ROADMAPS.a_feature(ours, ROADMAPS.a_product(ours), "Feature 0")
    ours.change_priority(feature_id, 7.0, REASON)  # cached here at priority 7
    theirs.change_priority(feature_id, 5.0, REASON)

    outcome = ours.change_priority(feature_id, 7.0, REASON)  # "already 7" only in the cache

    assert outcome.version == 4
    assert theirs.get_feature(feature_id).priority == 7.0


def test_the_expected_version_is_checked_against_the_store_not_the_cache(
    open_log: OpenLog,
) -> None:
    ours, theirs = open_log(), open_log()
    feature_id = ROADMAPS.a_feature(ours, ROADMAPS.a_product(ours), "Feature 0")
    ours.change_priority(feature_id, 1.0, REASON)  # cached here at version 2
    theirs.change_priority(feature_id, 2.0, REASON)  # version 3

    assert ours.change_priority(feature_id, 3.0, REASON, expected_version=3).version == 4
    theirs.change_priority(feature_id, 4.0, REASON)  # version 5; ours has 4 cached
    with pytest.raises(VersionConflict) as conflict:
        ours.change_priority(feature_id, 5.0, REASON, expected_version=4)

    assert conflict.value.current_version == 5
    assert ours.get_feature(feature_id).priority == 4.0


def test_a_refused_command_leaves_nothing_behind_in_the_cache(open_log: OpenLog) -> None:
    app = open_log()
    feature_id = ROADMAPS.a_feature(app, ROADMAPS.a_product(app), "Feature 0")
    app.change_priority(feature_id, 5.0, REASON)

    with pytest.raises(InvalidCommand):
        app.change_priority(feature_id, -1.0, REASON)
    with pytest.raises(VersionConflict):
        app.change_priority(feature_id, 6.0, REASON, expected_version=1)
    outcome = app.change_priority(feature_id, 6.0, REASON)

    assert outcome.version == 3
    assert app.get_feature(feature_id).priority == 6.0


def test_in_a_large_batch_a_conflict_fails_alone_and_every_other_command_gets_its_position(
    open_log: OpenLog,
) -> None:
    app = open_log()
    product_id = ROADMAPS.a_product(app)
    contested = ROADMAPS.a_feature(app, product_id, "Feature 0")
    first, second = app.get_feature(contested), app.get_feature(contested)
    first.change_priority(1.0, REASON)
    second.change_priority(2.0, REASON)  # the same version as ``first``
    others = [app.get_feature(ROADMAPS.a_feature(app, product_id, f"Feature {k}"))
              for k in range(1, 7)]
    for k, other in enumerate(others):
        other.change_priority(float(k + 10), REASON)
    saves = {"first": [first], **{f"o{k}": [o] for k, o in enumerate(others[:3])},
             "second": [second], **{f"o{k}": [o] for k, o in enumerate(others[3:], 3)}}

    results = save_in_one_batch(app, product_id, saves)

    assert isinstance(results["second"], IntegrityError)
    for name, (aggregate,) in saves.items():
        if name == "second":
            continue
        (recording,) = results[name]
        (stored,) = app.recorder.select_notifications(recording.notification.id, 1)
        assert (stored.originator_id, stored.originator_version) == (aggregate.id, 2)
    assert app.get_feature(contested).priority == 1.0
    positions = sorted(results[name][0].notification.id for name in saves if name != "second")
    assert positions == list(range(app.event_count() - 6, app.event_count() + 1))


class _Plain(enum.Enum):
    A = 1


class _IntEnum(enum.IntEnum):
    A = 1


class _StrEnum(enum.StrEnum):
    A = "a"


def _transcoders() -> tuple[JSONTranscoder, JSONTranscoder]:
    pair = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in pair:
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
            transcoder.register(transcoding)
    return pair


@pytest.mark.parametrize("value", [
    "plain", "ünï ✓ 😀 \u2028", "\x00\x1f\"\\\n\t", 0, -1, 2**63, 2**64 + 1, True, None,
    1.0, -0.0, 0.1, 123456789.125, 1e16, 1e300, 1e-4, 9.99e-5, 1e-7, math.nan, math.inf,
    uuid4(), datetime.now(tz=UTC), datetime(2030, 1, 2, 3, 4, 5), date(2030, 1, 2),
    Decimal("1.50"), [1, "a", [uuid4()]], (1, 2), {"a": {"b": [date(2030, 1, 1)]}},
    {1: "int key"}, OrderedDict(a=1), _IntEnum.A, _StrEnum.A,
])
def test_the_fast_transcoder_writes_exactly_the_bytes_of_the_library_transcoder(
    value: Any,
) -> None:
    library, fast = _transcoders()
    state = {"timestamp": datetime.now(tz=UTC), "product_id": uuid4(), "value": value}

    assert fast.encode(state) == library.encode(state)
    assert fast.decode(fast.encode(state)) == library.decode(library.encode(state)) or (
        isinstance(value, float) and math.isnan(value))


def test_the_fast_transcoder_refuses_unregistered_types_as_the_library_does() -> None:
    _, fast = _transcoders()

    with pytest.raises(TranscodingNotRegisteredError):
        fast.encode({"value": _Plain.A})
