"""The API serving views that `pdl project --source kafka` members feed (``PDL_VIEWS__FEED=kafka``),
on PostgreSQL: ``?after=`` keeps its meaning — a read waits until the Kafka-fed views hold
every change up to the position, and never answers from views that do not."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from projections.feeding.kafka import FeedOptions, KafkaFeed
from services.http.app import create_app
from services.identity.tokens import Role
from services.runtime.bootstrap import build_views, published_position
from services.runtime.service import Runtime, build_runtime
from services.runtime.settings import (
    ApiSettings,
    KafkaSettings,
    Settings,
    StoreSettings,
    ViewsSettings,
)
from services.streaming.kafka_io import views_feed
from tests.api.driver import Api

pytestmark = pytest.mark.kafka


@pytest.fixture
def on_kafka_fed_views(pg_dsn: str, kafka: KafkaSettings, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data",
                    store=StoreSettings(kind="postgres", dsn=SecretStr(pg_dsn)),
                    kafka=kafka, views=ViewsSettings(feed="kafka"),
                    api=ApiSettings(read_your_writes_timeout_s=2))


@pytest.fixture
def runtime(on_kafka_fed_views: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(on_kafka_fed_views)  # its relay publishes; it feeds no views
    runtime.start()
    yield runtime
    runtime.close()


class Member:
    """One member of the projectors' consumer group, following in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.views = build_views(settings)
        self.feed: KafkaFeed = views_feed(
            self.views, settings.kafka, FeedOptions(group_id=f"{settings.kafka.topic_prefix}.g"),
            published=published_position(settings))
        self.thread = threading.Thread(target=self.feed.run_forever, daemon=True)

    def start(self) -> "Member":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.feed.request_stop()
        self.thread.join(timeout=10)
        self.feed.close()
        self.views.close()


def test_reads_after_a_write_wait_for_the_kafka_fed_views_and_only_for_them(
        runtime: Runtime, on_kafka_fed_views: Settings) -> None:
    token, _ = runtime.tokens.create("alice", Role.editor)
    with TestClient(create_app(runtime)) as client:
        api = Api(client, token)
        before = api.create_product()
        # No member feeds the views: the write is in the log and on Kafka, not in the views.
        started = time.monotonic()
        unfed = client.get(f"/products/{before['id']}/roadmap",
                           params={"after": before["position"]},
                           headers={"Authorization": f"Bearer {token}"})
        waited = time.monotonic() - started
        assert unfed.status_code == 503, unfed.text  # views not there yet: retry later
        assert waited >= 1.5  # it waited for the views (2 s), rather than answer without it

        member = Member(on_kafka_fed_views).start()
        try:
            roadmap = api.read(f"/products/{before['id']}/roadmap", after=before["position"])
            assert roadmap["product"]["id"] == before["id"]
            for _ in range(10):  # each write, read at once through the Kafka-fed views
                written = api.create_product()
                read = api.read(f"/products/{written['id']}/roadmap", after=written["position"])
                assert read["product"]["id"] == written["id"]
        finally:
            member.stop()
    assert runtime.views.position >= written["position"]
