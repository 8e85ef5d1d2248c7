"""Cached view reads answer exactly what a fresh read would, and only to a valid token."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.views import Views
from services.http.read_cache import ReadCache
from services.identity.tokens import Role
from services.runtime.service import Runtime
from tests.api.driver import Api


def reads_of(monkeypatch: pytest.MonkeyPatch, views: Views, method: str) -> list[Any]:
    """The calls the views' ``method`` gets from now on (each still answered by it)."""
    calls: list[Any] = []
    read = getattr(views, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return read(*args, **kwargs)

    monkeypatch.setattr(views, method, counted)
    return calls


def test_the_same_read_at_the_same_position_is_answered_without_the_views(
        editor: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/roadmap"
    roadmaps = reads_of(monkeypatch, runtime.views, "roadmap")

    first = editor.get(path, after=product["position"])
    again = editor.get(path, after=product["position"])

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert len(roadmaps) == 1  # the second answer came from the cache


def test_a_cached_roadmap_shows_a_write_once_the_views_reach_it(
        editor: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/roadmap"
    roadmaps = reads_of(monkeypatch, runtime.views, "roadmap")
    before = editor.read(path, after=product["position"])
    assert editor.read(path, after=product["position"]) == before  # now from the cache
    assert len(roadmaps) == 1

    proposed = editor.propose(product["id"], "Export")
    assert runtime.views.wait_for(proposed["position"], timeout=10)
    after = editor.read(path, after=product["position"])  # the very request cached before

    assert len(roadmaps) == 2  # the views moved on: read afresh
    assert [f["title"] for f in after["backlog"]] == ["Export"]
    assert after != before
    assert editor.read(path, after=proposed["position"]) == after


def test_a_revoked_token_cannot_read_a_cached_view(
        admin: Api, editor: Api, client: TestClient, runtime: Runtime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/history"
    assert editor.get(path, after=product["position"]).status_code == 200
    cache: ReadCache = client.app.state.read_cache  # type: ignore[attr-defined]
    key = (path, f"after={product['position']}".encode())
    assert cache.get(key, runtime.views.position) is not None  # the view is cached
    histories = reads_of(monkeypatch, runtime.views, "product_history")

    admin.http.delete("/tokens/alice", headers=admin.headers())

    refused = editor.get(path, after=product["position"])
    assert refused.status_code == 401
    assert client.get(path, params={"after": product["position"]}).status_code == 401
    assert cache.get(key, runtime.views.position) is not None  # still cached, not sent
    assert histories == []


def test_any_valid_token_reads_a_view_cached_for_another(
        editor: Api, runtime: Runtime, client: TestClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/roadmap"
    first = editor.get(path, after=product["position"])
    token, _ = runtime.tokens.create("vera", Role.viewer)
    roadmaps = reads_of(monkeypatch, runtime.views, "roadmap")

    again = Api(client, token).get(path, after=product["position"])

    assert again.status_code == 200 and again.content == first.content
    assert roadmaps == []  # from the cache


def test_the_cache_serves_a_body_only_at_the_position_it_was_read_at() -> None:
    cache = ReadCache()
    cache.put(("/products", b""), 7, b"{}")

    assert cache.get(("/products", b""), 7) == b"{}"
    assert cache.get(("/products", b""), 8) is None


def test_the_cache_forgets_the_least_recently_used_beyond_its_bounds() -> None:
    cache = ReadCache(max_entries=2, max_bytes=10)
    cache.put(("/a", b""), 1, b"aaaa")
    cache.put(("/b", b""), 1, b"bbbb")
    cache.get(("/a", b""), 1)
    cache.put(("/c", b""), 1, b"cccc")  # over 10 bytes: /b, least recently used, goes

    assert cache.get(("/b", b""), 1) is None
    assert cache.get(("/a", b""), 1) == b"aaaa"
    assert cache.get(("/c", b""), 1) == b"cccc"


def test_bodies_read_at_an_older_position_are_dropped_once_a_newer_one_is_kept() -> None:
    cache = ReadCache()
    for n in range(50):
        cache.put((f"/products/{n}/roadmap", b""), 7, b"x" * 100)
    assert len(cache) == 50 and cache.bytes_held == 5_000

    cache.put(("/products", b""), 8, b"{}")  # the views moved on
    cache.put(("/products/late", b""), 7, b"{}")  # a read that started before they did

    assert len(cache) == 1 and cache.bytes_held == 2
    assert cache.get(("/products/3/roadmap", b""), 7) is None
    assert cache.get(("/products", b""), 8) == b"{}"
