"""Roadmap changes carry the names behind their ids as they were at that change (issue 17).

The relay publishes to the real broker; the roadmap changes are read back as consumers read
them. A feature moved between releases names both releases, their target dates then and the
feature's title then (not its later one); a slip names its release. A relay started again
mid-log (it folds the log up to there first) publishes the same names.
"""

from datetime import date
from typing import Any

import pytest

from contract.cloudevents import roadmap_change_from_message
from contract.roadmap_changes import RoadmapChange
from contract.topics import roadmap_topic
from services.commands.application import DecisionLog
from services.runtime.bootstrap import positions_for
from services.runtime.settings import Settings
from services.streaming.relay import Relay, RelayOptions
from tests.kafka.streams import WIKI
from tests.kafka.test_relay_bytes import raw_records
from tests.support.builders import ACTOR, ATLAS, because

pytestmark = pytest.mark.kafka


def relay_once(app: DecisionLog, settings: Settings, batch_size: int = 3) -> None:
    relay = Relay(app, settings.kafka, positions_for(settings),
                  RelayOptions(batch_size=batch_size))
    try:
        relay.run_until_caught_up()
    finally:
        relay.close()


def roadmap_changes(settings: Settings) -> dict[str, RoadmapChange]:
    """The last roadmap change of each type, as read from the topic."""
    kafka = settings.kafka
    records = raw_records(str(kafka.bootstrap_servers), [roadmap_topic(kafka.topic_prefix)])
    found = [roadmap_change_from_message(headers, value) for _, _, value, headers in records]
    return {change.type: change for change in sorted(found, key=lambda c: c.log_position or 0)}


def a_history(app: DecisionLog) -> Any:
    product = ATLAS.a_product(app, "Atlas")
    q1 = app.plan_release(product, actor=ACTOR, name="Q1", target_date=date(2027, 3, 31)).id
    q2 = app.plan_release(product, actor=ACTOR, name="Q2", target_date=date(2027, 6, 30)).id
    export = ATLAS.a_feature(app, product, "Export", 3)
    app.schedule_feature(export, q1, because("Fits Q1.", WIKI))
    app.change_target_date(q2, date(2027, 7, 15), because("Slip: hiring.", WIKI))
    return product, q1, q2, export


def expect_names(found: dict[str, RoadmapChange]) -> None:
    assert found["roadmap.feature_scheduled"].names == {
        "product": "Atlas", "feature": "Export", "release_after": "Q1",
        "target_date_after": "2027-03-31"}
    assert found["roadmap.feature_moved"].names == {
        "product": "Atlas", "feature": "Export", "release_before": "Q1", "release_after": "Q2",
        "target_date_before": "2027-03-31", "target_date_after": "2027-07-15"}
    assert found["roadmap.release_slipped"].names == {"product": "Atlas", "release": "Q2"}
    # Renamed after the move: the move kept the old title, the status change has the new one.
    assert found["roadmap.feature_status_changed"].names == {
        "product": "Atlas", "feature": "CSV export"}
    assert found["roadmap.feature_unscheduled"].names == {
        "product": "Atlas", "feature": "CSV export", "release_before": "Q2",
        "target_date_before": "2027-07-15"}


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_moves_and_slips_carry_the_names_of_that_time(app: DecisionLog, settings: Settings,
                                                      batch_size: int) -> None:
    _, _, q2, export = a_history(app)
    app.schedule_feature(export, q2, because("Q1 is full.", WIKI))  # moved
    app.revise_feature(export, because("Clearer title.", WIKI), title="CSV export")
    app.change_feature_status(export, "accepted", because("Go.", WIKI))
    app.unschedule_feature(export, because("Later.", WIKI))
    relay_once(app, settings, batch_size)
    expect_names(roadmap_changes(settings))


def test_a_relay_started_mid_log_publishes_the_same_names(app: DecisionLog,
                                                          settings: Settings) -> None:
    _, _, q2, export = a_history(app)
    relay_once(app, settings)  # then stopped; the rest is published by a new relay
    app.schedule_feature(export, q2, because("Q1 is full.", WIKI))
    app.revise_feature(export, because("Clearer title.", WIKI), title="CSV export")
    app.change_feature_status(export, "accepted", because("Go.", WIKI))
    app.unschedule_feature(export, because("Later.", WIKI))
    relay_once(app, settings)
    expect_names(roadmap_changes(settings))
