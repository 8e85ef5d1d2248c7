"""The broker goes away while commands are being written: nothing fails, nothing is lost."""

import logging
from datetime import date

import pytest

from contract.topics import entity_topics
from services.commands.application import DecisionLog
from services.runtime.bootstrap import positions_for
from services.runtime.settings import Settings
from services.streaming.kafka_io import ProducerOptions
from services.streaming.relay import Relay, RelayOptions
from tests.kafka.conftest import Broker
from tests.kafka.streams import (
    INTERVIEWS,
    assert_per_key_order,
    read_topics,
    stored_changes,
    wait_until,
)
from tests.support.builders import ACTOR, ATLAS

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

IMPATIENT = RelayOptions(
    backoff_initial_s=0.2, backoff_max_s=1.0,
    producer=ProducerOptions(ack_timeout_s=4, request_timeout_ms=2_000, connect_timeout_ms=1_000),
)


def test_writes_succeed_while_the_broker_is_down_and_the_relay_catches_up_after(
        app: DecisionLog, settings: Settings, broker: Broker,
        caplog: pytest.LogCaptureFixture) -> None:
    if not broker.restartable:
        pytest.skip("needs KAFKA_RUN_DIR to stop and start the broker")
    product = ATLAS.a_product(app)
    features = [ATLAS.a_feature(app, product, f"F{i}") for i in range(10)]
    relay = Relay(app, settings.kafka, positions_for(settings), IMPATIENT)
    relay.start()
    try:
        wait_until(lambda: relay.position == app.event_count(), 30, "the first catch-up")
        caplog.set_level(logging.WARNING, logger="pdl.relay")

        broker.stop()
        try:
            for n in range(300):  # every command succeeds: none of them touches Kafka
                app.change_priority(features[n % 10], float(n + 2), INTERVIEWS)
            release = app.plan_release(product, actor=ACTOR, name="R",
                                       target_date=date(2027, 1, 1)).id
            app.schedule_feature(features[0], release, INTERVIEWS)
            wait_until(lambda: "Kafka unreachable at" in caplog.text, 30, "the warning")
        finally:
            broker.start()

        wait_until(lambda: relay.position == app.event_count(), 90, "the relay to catch up")
    finally:
        relay.close()

    warning = next(r for r in caplog.records if "Kafka unreachable at" in r.getMessage())
    assert warning.levelno == logging.WARNING
    assert "events waiting; retrying in" in warning.getMessage()
    stored = stored_changes(app)
    records = read_topics(broker.bootstrap, entity_topics(settings.kafka.topic_prefix),
                          at_least=len(stored))
    assert {r.headers["ce_id"] for r in records} == {c.event_id for c in stored}
    assert_per_key_order(records)
