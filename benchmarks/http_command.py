"""Row 3: HTTP command (POST, one event) under concurrent load from a separate process, on
SQLite (``http_command``) or PostgreSQL (``http_command_pg``).

Both servers run under uvicorn with the same options; the load generator keeps
``CONNECTIONS`` keep-alive connections busy for a fixed time. Baseline: a bare FastAPI route
answering a hello JSON to the same POSTs (the same on either store).
"""

import json

from benchmarks.harness import Measure, Mode, Result, sizes
from benchmarks.http import CONNECTIONS, generate_load, seed_service, serving
from benchmarks.workload import StoreKind, durability_note, store

NAME = "http_command"
TARGET = 0.3
BODY = json.dumps({"priority": 0, "rationale": "Customer interviews moved this up.",
                   "evidence": ["https://example.com/research/42"]}).replace("0,", "{n},", 1)


def run(mode: Mode, kind: StoreKind = "sqlite", target: float = TARGET) -> Result:
    features = sizes(mode, smoke=20, quick=500, full=2000)
    with store(kind, mode) as used:
        tmp = used.folder
        with serving("bare", tmp) as port:
            bare = generate_load(port, [{"method": "POST", "path": "/hello", "body": BODY}],
                                 mode, tmp)
        settings = used.settings("ours")
        token, ids = seed_service(settings.data_dir, features, settings)
        requests = [{"method": "POST", "path": f"/features/{i}/priority", "body": BODY}
                    for i in ids]
        durable = durability_note(used)
        durability = used.durability()
        with serving("ours", settings.data_dir, settings) as port:
            ours = generate_load(port, requests, mode, tmp,
                                 headers={"Authorization": f"Bearer {token}"})
            # The same load, each request with its own Idempotency-Key (not the target).
            keyed = generate_load(port, requests, mode, tmp,
                                  headers={"Authorization": f"Bearer {token}",
                                           "Idempotency-Key": "load-{n}"})

    return Result(
        name=NAME if kind == "sqlite" else f"{NAME}_pg", row=3,
        title=f"HTTP command POST (1 event), {CONNECTIONS} connections, {used.title}",
        mode=mode,
        baseline=Measure("bare FastAPI POST /hello", bare["ok_per_s"], "req/s",
                         extra=_latency(bare)),
        ours=Measure("POST /features/{id}/priority", ours["ok_per_s"], "req/s",
                     extra={**_latency(ours), "keyed_per_s": round(keyed["ok_per_s"])}),
        target=f"≥ {target}x", met=ours["ok_per_s"] / bare["ok_per_s"] >= target,
        params={"connections": CONNECTIONS, "features": features, **durability,
                "statuses_ours": ours["statuses"], "statuses_bare": bare["statuses"],
                "statuses_keyed": keyed["statuses"]},
        notes=[*durable,
               f"with an Idempotency-Key on every request: {keyed['ok_per_s']:,.0f} req/s "
               f"(p50 {keyed['p50_ms']:.1f} ms, p99 {keyed['p99_ms']:.1f} ms)"],
    )


def _latency(summary: dict[str, float]) -> dict[str, float]:
    return {k: summary[k] for k in ("p50_ms", "p99_ms")}
