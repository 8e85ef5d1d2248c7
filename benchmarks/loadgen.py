"""A small HTTP/1.1 load generator, run as its own process: ``python -m benchmarks.loadgen SPEC``.

``SPEC`` is a JSON file: ``{"host", "port", "connections", "seconds", "headers": {...},
"requests": [{"method", "path", "body"}...]}``. Each connection is a keep-alive socket that
sends one request at a time, cycling through ``requests``; ``{n}`` in a path or body is
replaced by a global request counter (so every command differs). Prints one JSON line:
requests/s, status counts and latency percentiles. Plain asyncio streams, no HTTP library,
so the generator spends as little CPU as possible next to the server on the same machine.
"""

import asyncio
import itertools
import json
import sys
import time
from typing import Any

from benchmarks.harness import latency_summary


async def connection(spec: dict[str, Any], counter: "itertools.count[int]", deadline: float,
                     latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(spec["host"], spec["port"])
    headers = "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    requests = spec["requests"]
    try:
        while time.perf_counter() < deadline:
            n = next(counter)
            request = requests[n % len(requests)]
            body = request.get("body", "").replace("{n}", str(n)).encode()
            path = request["path"].replace("{n}", str(n))
            head = (f"{request['method']} {path} HTTP/1.1\r\nHost: {spec['host']}\r\n"
                    f"{headers.replace('{n}', str(n))}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status, length = await read_head(reader)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def read_head(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Status code and Content-Length of the next response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, length


async def load(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = itertools.count(spec.get("start", 0))
    started = time.perf_counter()
    deadline = started + spec["seconds"]
    await asyncio.gather(*(connection(spec, counter, deadline, latencies, statuses)
                           for _ in range(spec["connections"])))
    seconds = time.perf_counter() - started
    ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
    return {"requests": len(latencies), "ok": ok, "seconds": seconds,
            "ok_per_s": ok / seconds, "statuses": statuses, **latency_summary(latencies)}


def main() -> None:
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)
    print(json.dumps(asyncio.run(load(spec))), flush=True)


if __name__ == "__main__":
    main()
