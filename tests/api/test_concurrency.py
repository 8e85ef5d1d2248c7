"""Optimistic concurrency over HTTP: a stale If-Match gets 412, and no update is lost."""

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from services.runtime.service import Runtime
from tests.api.driver import Api


def test_two_writers_with_the_same_if_match_one_wins_the_other_gets_412(editor: Api) -> None:
    _, feature = editor.new_feature()

    first = editor.post(f"/features/{feature}/priority", {"priority": 5, "rationale": "a"},
                        **{"If-Match": '"1"'})
    second = editor.post(f"/features/{feature}/priority", {"priority": 7, "rationale": "b"},
                         **{"If-Match": '"1"'})

    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    assert second.status_code == 412
    assert second.json()["current_version"] == 2
    assert second.headers["ETag"] == '"2"'
    assert editor.read(f"/features/{feature}")["priority"] == 5


def test_two_threads_racing_with_the_same_if_match_exactly_one_succeeds(
        editor: Api, runtime: Runtime) -> None:
    for _ in range(10):
        _, feature = editor.new_feature()
        barrier = threading.Barrier(2)

        def write(priority: int, feature: str = feature,
                  barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return editor.post(f"/features/{feature}/priority",
                               {"priority": priority, "rationale": "race"},
                               **{"If-Match": '"1"'}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(write, [5, 7]))

        assert statuses == [200, 412]
        assert runtime.app.get_feature(UUID(feature)).version == 2


def change_until_it_sticks(api: Api, feature: str, priority: float) -> int:
    """Read, write with If-Match, retry on 412; returns how many 412s it took."""
    conflicts = 0
    while True:
        etag = api.get(f"/features/{feature}").headers["ETag"]
        response = api.post(f"/features/{feature}/priority",
                            {"priority": priority, "rationale": "racing"}, **{"If-Match": etag})
        if response.status_code == 200:
            return conflicts
        assert response.status_code == 412, response.text
        conflicts += 1


def test_threads_racing_with_retries_lose_no_update(editor: Api, runtime: Runtime) -> None:
    _, feature = editor.new_feature()
    threads, rounds = 4, 15
    before = runtime.app.event_count()

    def worker(n: int) -> list[int]:
        return [change_until_it_sticks(editor, feature, 10 + n * rounds + i)
                for i in range(rounds)]

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))

    successes = threads * rounds
    assert runtime.app.get_feature(UUID(feature)).version == 1 + successes
    assert runtime.app.event_count() == before + successes
    history = editor.read(f"/features/{feature}/history",
                          after=runtime.app.event_count())["items"]
    assert len(history) == 1 + successes
