"""Cached view reads answer exactly what a fresh read would, and only to a valid token."""

from fastapi.testclient import TestClient

from services.http.read_cache import ReadCache
from services.identity.tokens import Role
from services.runtime.service import Runtime
from tests.api.driver import Api


def test_a_cached_roadmap_shows_a_write_once_the_views_reach_it(editor: Api) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/roadmap"
    before = editor.read(path, after=product["position"])
    assert editor.read(path, after=product["position"]) == before  # now from the cache

    proposed = editor.propose(product["id"], "Export")
    after = editor.read(path, after=proposed["position"])

    assert [f["title"] for f in after["backlog"]] == ["Export"]
    assert after != before


def test_a_revoked_token_cannot_read_a_cached_view(admin: Api, editor: Api,
                                                   client: TestClient) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/history"
    assert editor.get(path, after=product["position"]).status_code == 200

    admin.http.delete("/tokens/alice", headers=admin.headers())

    refused = editor.get(path, after=product["position"])
    assert refused.status_code == 401
    assert client.get(path, params={"after": product["position"]}).status_code == 401


def test_any_valid_token_reads_a_view_cached_for_another(editor: Api, runtime: Runtime,
                                                          client: TestClient) -> None:
    product = editor.create_product()
    path = f"/products/{product['id']}/roadmap"
    first = editor.read(path, after=product["position"])
    token, _ = runtime.tokens.create("vera", Role.viewer)

    assert Api(client, token).read(path, after=product["position"]) == first


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
