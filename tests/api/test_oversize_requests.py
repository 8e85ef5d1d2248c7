"""Oversize request heads, against a real ``pdl serve``: a URL too long gets ``414``, headers
too large get ``431`` (problem details), not a reset connection, and the server serves on."""

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.processes import Server, serving

KIB = 1024


def get(server: Server, target: str, headers: dict[str, str]) -> tuple[int, str, Any]:
    """``GET target`` sent whole (http.client sends a URL of any length, httpx does not);
    the status, content type and JSON body of the answer."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest("GET", target)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("content-type", ""), json.load(response)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("oversize")
    with serving(folder / "data", folder / "logs", workers=1) as server:
        yield server


@pytest.mark.parametrize(("what", "url", "headers", "status", "says"), [
    ("an ~800 KB URL", "/audit?actor=" + "a" * 800 * KIB, {}, 414, "URL (path and query"),
    ("a 20 KB URL", "/products?as_of=" + "1" * 20 * KIB, {}, 414, "longer than 8 KiB"),
    ("a 20 KB path", "/products/" + "p" * 20 * KIB, {}, 414, "longer than 8 KiB"),
    ("a 300 KB header", "/audit", {"X-Padding": "x" * 300 * KIB}, 431, "headers are larger"),
    ("40 headers of 1 KB", "/audit", {f"X-H{n}": "x" * KIB for n in range(40)}, 431,
     "larger than 16 KiB"),
])
def test_an_oversize_request_head_is_refused_with_a_problem_not_a_reset(
        server: Server, what: str, url: str, headers: dict[str, str], status: int,
        says: str) -> None:
    answer = get(server, url, headers)

    assert answer[:2] == (status, "application/problem+json"), what
    assert answer[2]["status"] == status
    assert says in answer[2]["detail"]
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200
