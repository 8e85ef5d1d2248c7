"""Row 9: steady under sustained load — one real ``pdl serve`` for minutes, writers and readers.

A fresh data folder is seeded (one product, :data:`RELEASES` releases, :data:`FEATURES`
features, two thirds of them scheduled), then ``pdl serve`` (the real command, with its own
logging and shutdown path) serves a mixed workload over keep-alive HTTP/1.1 connections:

- :data:`WRITERS` writer connections, each with its own editor token, together *offering*
  :data:`OFFERED_COMMANDS_PER_S` commands per second at fixed times (open loop: a command's
  latency runs from the time it was due, so a server that falls behind is charged for the
  wait). The mix is :data:`benchmarks.planning.WRITE_MIX` (schedule / move / unschedule
  features, priorities, lifecycle, release dates slipped or pulled in, requirements, the
  product vision), each with a realistic rationale and evidence. Each writer owns its
  features and the dates of its releases, so every command is valid: any refusal counts
  as an error.
- :data:`READERS` reader connections with a viewer token, together offering
  :data:`OFFERED_READS_PER_S` reads per second, open loop as well, leaving the server
  headroom on a 2-core machine (readers flat out, ``--readers-flat-out``, saturate the
  event loop and every request, writes included, then waits behind some 16 reads: that
  measures capacity, not steadiness; the write-latency aim assumes headroom). Mix
  (:data:`READ_MIX`): the roadmap, a page of a feature's and of a release's history (the
  newest 100 changes), an audit page
  of 100 (following ``next_cursor``, a few pages from a random start), the roadmap as of a
  random past instant, and the diff over a fixed span of the past (2 s of the run; smoke:
  1 s; :data:`DURATIONS`) at a random place — fixed so that its answer does not grow with
  the run. ``--reads-per-s 0``: writers only.

Every window (30 s; smoke: 2 s) reports commands/s and reads/s answered, requests due but
never sent (the client still waiting for earlier answers), p50/p99 per operation, errors,
the server's CPU time (ms per answered request), the machine's load, file sizes (events.db,
views.db, service.db and their WAL files), the server's RSS and anonymous memory
(``/proc/<pid>/status`` VmRSS, RssAnon, summed over ``pdl serve`` and its worker
processes), and the views lag (``/health``: ``log_position - views_position``), sampled
every second.

Aims (all must hold for ``met``): requests/s in the last window ≥ :data:`THROUGHPUT_FLOOR` x
the first; write p99 over the whole run ≤ :data:`WRITE_P99_MS` ms; every WAL sample ≤
:data:`WAL_LIMIT_MB` MB; anonymous memory flat after warm-up, meaning the median of the last
window's samples exceeds the median of the last window of the first half by at most
:data:`ANON_GROWTH_MB` MiB; and no errors (any status but the expected 200, or a dropped
connection). The harness row: baseline = the first window's requests/s, ours = the last
window's, ratio = last/first.

Run alone: ``.venv/bin/python -m benchmarks.soak [--quick | --smoke]`` (full: 10 minutes,
quick: 2 minutes, smoke: 4 seconds).
"""

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from benchmarks.harness import (
    Measure,
    Mode,
    Result,
    latency_summary,
    log,
    mode_of,
    mode_parser,
    write_json,
)
from benchmarks.http import free_port
from benchmarks.planning import CRITERIA, FeaturePlan, Planner, ReleasePlan, Step, rationale
from benchmarks.workload import scratch_dir
from domain.reasons import Reason
from services.identity.tokens import Role
from services.runtime.service import build_runtime
from services.runtime.settings import KafkaSettings, Settings

NAME = "soak"
ROW = 9
WRITERS = 8
READERS = 16
#: The mix's offered rate: commands per second, all writers together.
OFFERED_COMMANDS_PER_S = 50.0
RELEASES = 16
FEATURES = 96
#: The reads' offered rate, all readers together (None: flat out, each reader sending its
#: next read as soon as the last one answered).
OFFERED_READS_PER_S: float | None = 100.0
#: Weights of the reads.
READ_MIX: tuple[tuple[str, float], ...] = (
    ("roadmap", 0.25),
    ("feature_history", 0.15),
    ("release_history", 0.10),
    ("audit_page", 0.20),
    ("as_of_roadmap", 0.15),
    ("diff", 0.15),
)
AUDIT_PAGE = 100
AUDIT_PAGES_IN_A_ROW = 5
#: (run seconds, window seconds, diff span seconds, monitor interval seconds) per mode.
DURATIONS = {"smoke": (4.0, 2.0, 1.0, 0.25), "quick": (120.0, 30.0, 2.0, 1.0),
             "full": (600.0, 30.0, 2.0, 1.0)}
THROUGHPUT_FLOOR = 0.8
WRITE_P99_MS = 100.0
WAL_LIMIT_MB = 64.0
ANON_GROWTH_MB = 16.0
FILES = ("events.db", "views.db", "service.db")
EDITORS = ("ana@example.com", "ben@example.com", "chloe@example.com", "dev@example.com",
           "emil@example.com", "fatima@example.com", "goran@example.com", "hana@example.com")
EXPECTED = 200  # every command and every read answers 200 (creations are seeded, not sent)


# Seeding


@dataclass
class Seeded:
    product_id: str
    releases: list[ReleasePlan]
    features: list[FeaturePlan]
    editor_tokens: list[str]
    viewer_token: str
    #: A wall-clock instant after everything seeded existed (the earliest as-of read).
    seeded_at: datetime
    events: int


def seed(data_dir: Path) -> Seeded:
    """Tokens, a product, releases and features (two thirds scheduled), views caught up."""
    runtime = build_runtime(Settings(data_dir=data_dir, kafka=KafkaSettings()))
    rng = random.Random(9)
    try:
        editors = [runtime.tokens.create(name, Role.editor)[0] for name in EDITORS]
        viewer, _ = runtime.tokens.create("dashboard", Role.viewer)
        app, pm = runtime.app, EDITORS[0]
        product_id = app.create_product(
            actor=pm, name="Atlas", vision="Plans people trust.",
            value_proposition="Every roadmap date explained.",
            target_customers="Product teams of 20 to 500 people.", owner=pm).id
        releases = []
        for n in range(RELEASES):
            target = date(2030, 1, 15) + timedelta(days=21 * n)
            outcome = app.plan_release(product_id, actor=pm, name=f"2030.{n + 1}",
                                       target_date=target, theme=f"Train {n + 1}")
            releases.append(ReleasePlan(str(outcome.id), target))
        features = []
        for n in range(FEATURES):
            outcome = app.propose_feature(
                product_id, actor=pm, title=f"Feature {n + 1}: {rationale(rng)[:60]}",
                problem="Roadmaps go stale and nobody knows why a date moved.",
                business_value="Fewer escalations before renewals.",
                benefit="See every committed date and the reason it changed.",
                priority=float(n + 1),
                requirements=[{"text": "Show the committed date on every roadmap card.",
                               "acceptance_criteria": list(CRITERIA)}])
            release = releases[n % RELEASES].id if n % 3 else None
            if release is not None:
                app.schedule_feature(outcome.id, UUID(release), Reason(pm, rationale(rng)))
            features.append(FeaturePlan(str(outcome.id), release, float(n + 1)))
        runtime.catchup.run_until_caught_up()
        seeded_at = datetime.now(UTC)
        return Seeded(str(product_id), releases, features, editors, viewer, seeded_at,
                      app.event_count())
    finally:
        runtime.close()


# The server


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    exit_code: int | None = None


@contextmanager
def pdl_serve(data_dir: Path, log_path: Path) -> Iterator[Server]:
    """``pdl serve`` on ``data_dir`` and a free port until the block ends, then SIGTERM
    (its graceful close path); its output goes to ``log_path``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDL_KAFKA")}
    with open(log_path, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.cli", "serve", "--data-dir",
             str(data_dir), "--port", str(port)], stdout=output, stderr=subprocess.STDOUT,
            env=env)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pdl serve did not start:\n{_tail(log_path)}") from None
                time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            server.exit_code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            server.exit_code = process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def process_stats(pid: int) -> dict[str, Any]:
    """Of ``pid`` and every process below it (``pdl serve --workers N`` runs N of them):
    VmRSS and RssAnon (MiB) summed, CPU time (user + system, s) summed and per process."""
    totals: dict[str, Any] = {"rss_mb": 0.0, "anon_mb": 0.0, "cpu_s": 0.0, "cpu_by_pid": {}}
    for each in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{each}/status") as status:
                for line in status:
                    name, _, value = line.partition(":")
                    key = {"VmRSS": "rss_mb", "RssAnon": "anon_mb"}.get(name)
                    if key:
                        totals[key] += int(value.split()[0]) / 1024
            with open(f"/proc/{each}/stat") as stat:  # fields 14, 15: utime, stime
                fields = stat.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, IndexError, ValueError):  # the process has just exited
            continue
        totals["cpu_s"] += cpu
        totals["cpu_by_pid"][each] = round(cpu, 2)
    totals["processes"] = len(totals["cpu_by_pid"])
    return totals


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                for child in map(int, listed.read().split()):
                    found += [child, *_descendants(child)]
    except OSError:
        pass
    return found


def file_sizes(data_dir: Path) -> dict[str, float]:
    """Size in MB of each database file and of its WAL (0 when absent)."""
    sizes = {}
    for name in FILES:
        for suffix in ("", "-wal"):
            path = data_dir / f"{name}{suffix}"
            sizes[f"{name}{suffix}"] = path.stat().st_size / 1e6 if path.exists() else 0.0
    return sizes


# The client: keep-alive HTTP/1.1 on plain asyncio streams (as benchmarks.loadgen)


class Connection:
    """One keep-alive connection, one request at a time; reconnects after a failure."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Status and body; status 0 when the connection failed."""
        try:
            if self.reader is None or self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.auth}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
            self.writer.write(head.encode() + body)
            return await read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError) as error:
            self.close()
            return 0, repr(error).encode()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.readexactly(int(headers.get("content-length", "0")))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def command_request(step: Step, product_id: str) -> tuple[str, bytes]:
    """The path and JSON body of a planner's step."""
    change: dict[str, Any] = {"rationale": step.rationale, "evidence": step.evidence}
    if step.kind == "schedule":
        return f"/features/{step.entity_id}/schedule", _json(change, release_id=step.value)
    if step.kind == "unschedule":
        return f"/features/{step.entity_id}/unschedule", _json(change)
    if step.kind == "priority":
        return f"/features/{step.entity_id}/priority", _json(change, priority=step.value)
    if step.kind == "status":
        return f"/features/{step.entity_id}/status", _json(change, status=step.value)
    if step.kind == "slip":
        assert isinstance(step.value, date)
        return (f"/releases/{step.entity_id}/target-date",
                _json(change, target_date=step.value.isoformat()))
    if step.kind == "requirement":
        return (f"/features/{step.entity_id}/requirements/R1/revise",
                _json(change, text=step.value, acceptance_criteria=CRITERIA))
    return f"/products/{product_id}/vision", _json(change, vision=step.value)


def _json(change: dict[str, Any], **fields: Any) -> bytes:
    return orjson.dumps({**change, **fields})


@dataclass
class Run:
    """One soak run's shared state: its clock, what the clients and the monitor recorded."""

    seeded: Seeded
    server: Server
    data_dir: Path
    seconds: float
    diff_span: float
    interval: float
    #: Reads offered per second, all readers together; None: flat out.
    reads_per_s: float | None
    start: float = 0.0
    #: (op, is_write, completed at, seconds from due to answered, status, seconds late sent)
    requests: list[tuple[str, bool, float, float, int, float]] = field(default_factory=list)
    #: (is_write, due at) of requests that fell due before the end but were never sent,
    #: because the client was still waiting for earlier answers.
    unsent: list[tuple[bool, float]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    error_examples: list[str] = field(default_factory=list)
    log_position: int = 0

    @property
    def end(self) -> float:
        return self.start + self.seconds

    def record(self, op: str, write: bool, due: float, sent: float, status: int,
               body: bytes) -> None:
        done = time.perf_counter()
        self.requests.append((op, write, done, done - due, status, sent - due))
        if status != EXPECTED and len(self.error_examples) < 10:
            self.error_examples.append(f"{op}: {status} {body[:300]!r}")


class Pace:
    """When a client's requests are due: every ``interval`` s from ``first`` (open loop),
    or as soon as the last one answered (``interval`` 0: flat out). Nothing is sent after
    the end: requests due by then but not yet sent are counted in ``run.unsent``."""

    def __init__(self, run: Run, write: bool, first: float, interval: float) -> None:
        self.run, self.write, self.due, self.interval = run, write, first, interval

    async def next(self) -> float | None:
        """Wait for the next request's due time and return it; None at the end."""
        now = time.perf_counter()
        if not self.interval:
            return now if now < self.run.end else None
        if now >= self.run.end:
            while self.due < self.run.end:
                self.run.unsent.append((self.write, self.due))
                self.due += self.interval
            return None
        if self.due >= self.run.end:
            return None
        if self.due > now:
            await asyncio.sleep(self.due - now)
        due, self.due = self.due, self.due + self.interval
        return due


async def writer(run: Run, k: int) -> None:
    seeded = run.seeded
    planner = Planner(random.Random(100 + k), EDITORS[k], seeded.features[k::WRITERS],
                      seeded.releases[k::WRITERS], [r.id for r in seeded.releases])
    conn = Connection(run.server.port, seeded.editor_tokens[k])
    # The writers take turns: one command every 1/OFFERED_COMMANDS_PER_S s in all.
    pace = Pace(run, True, run.start + k / OFFERED_COMMANDS_PER_S,
                WRITERS / OFFERED_COMMANDS_PER_S)
    try:
        while (due := await pace.next()) is not None:
            step = planner.next()
            path, body = command_request(step, seeded.product_id)
            sent = time.perf_counter()
            status, answer = await conn.request("POST", path, body)
            run.record(step.kind, True, due, sent, status, answer)  # latency from due
            if status != EXPECTED:
                await resync(conn, planner, step)
    finally:
        conn.close()


async def resync(conn: Connection, planner: Planner, step: Step) -> None:
    """After a refused command, read back the entity so the next steps stay valid."""
    if step.kind == "slip":
        status, body = await conn.request("GET", f"/releases/{step.entity_id}")
        if status == EXPECTED:
            release = next(r for r in planner.own_releases if r.id == step.entity_id)
            release.target_date = date.fromisoformat(orjson.loads(body)["target_date"])
    elif step.kind != "vision":
        status, body = await conn.request("GET", f"/features/{step.entity_id}")
        if status == EXPECTED:
            found = orjson.loads(body)
            feature = next(f for f in planner.features if f.id == step.entity_id)
            feature.release_id, feature.priority = found["release_id"], found["priority"]
            feature.status = found["status"]


async def reader(run: Run, k: int) -> None:
    seeded, rng = run.seeded, random.Random(200 + k)
    conn = Connection(run.server.port, seeded.viewer_token)
    ops, weights = zip(*READ_MIX, strict=True)
    cursor: int | None = None
    pages = 0
    rate = run.reads_per_s
    pace = Pace(run, False, run.start + k / rate if rate else run.start,
                READERS / rate if rate else 0.0)
    try:
        while (due := await pace.next()) is not None:
            op = rng.choices(ops, weights)[0]
            if op == "audit_page":
                if cursor is None or pages >= AUDIT_PAGES_IN_A_ROW:
                    cursor, pages = rng.randrange(max(1, run.log_position - AUDIT_PAGE)), 0
                path = f"/audit?limit={AUDIT_PAGE}&cursor={cursor}"
            else:
                path = read_path(op, run, rng)
            sent = time.perf_counter()
            status, body = await conn.request("GET", path)
            run.record(op, False, due, sent, status, body)
            if op == "audit_page" and status == EXPECTED:
                cursor, pages = orjson.loads(body)["next_cursor"], pages + 1
    finally:
        conn.close()


def read_path(op: str, run: Run, rng: random.Random) -> str:
    seeded = run.seeded
    product = f"/products/{seeded.product_id}"
    now = datetime.now(UTC) - timedelta(milliseconds=10)
    if op == "roadmap":
        return f"{product}/roadmap"
    if op == "feature_history":
        return f"/features/{rng.choice(seeded.features).id}/history?limit=100&order=newest"
    if op == "release_history":
        return f"/releases/{rng.choice(seeded.releases).id}/history?limit=100&order=newest"
    past = now - seeded.seeded_at
    if op == "as_of_roadmap":
        return f"{product}/roadmap?as_of={iso(seeded.seeded_at + past * rng.random())}"
    span = timedelta(seconds=run.diff_span)
    since = seeded.seeded_at + max(past - span, timedelta(0)) * rng.random()
    until = min(since + span, now)
    return f"{product}/diff?from={iso(since)}&to={iso(until)}"


async def monitor(run: Run) -> None:
    """Every ``interval`` s until the end: memory, file sizes and the views lag."""
    conn = Connection(run.server.port, None)
    try:
        while True:
            at = time.perf_counter()
            status, body = await conn.request("GET", "/health")
            if run.server.process.poll() is not None:
                raise RuntimeError("pdl serve exited during the soak")
            health = orjson.loads(body) if status == EXPECTED else {}
            run.log_position = health.get("log_position", run.log_position)
            run.samples.append({
                "t": at, **process_stats(run.server.process.pid), **file_sizes(run.data_dir),
                "load_1m": os.getloadavg()[0],
                "log_position": health.get("log_position"),
                "lag": (health["log_position"] - health["views_position"]) if health else None,
            })
            if at >= run.end:
                return
            await asyncio.sleep(max(0.0, min(run.interval, run.end - time.perf_counter())))
    finally:
        conn.close()


async def drive(run: Run) -> None:
    run.start = time.perf_counter()
    readers = 0 if run.reads_per_s == 0 else READERS
    await asyncio.gather(monitor(run), *(writer(run, k) for k in range(WRITERS)),
                         *(reader(run, k) for k in range(readers)))


# Windows and aims


Request = tuple[str, bool, float, float, int, float]


def windows(run: Run, width: float) -> list[dict[str, Any]]:
    """The figures of each window of ``width`` seconds (a request counts in the window it
    was answered in; an unsent one in the window it fell due in)."""
    count = max(1, round(run.seconds / width))
    rows = []
    before = run.samples[0]
    for i in range(count):
        lo, hi = run.start + i * width, run.start + (i + 1) * width
        last = i == count - 1
        done = [r for r in run.requests if lo <= r[2] < hi or (last and r[2] == hi)]
        unsent = [u for u in run.unsent if lo <= u[1] < hi]
        samples = [s for s in run.samples if lo <= s["t"] <= hi] or run.samples[-1:]
        rows.append(window(i, width, done, unsent, before, samples))
        before = samples[-1]
    return rows


def window(i: int, width: float, done: list[Request], unsent: list[tuple[bool, float]],
           before: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in done if r[4] == EXPECTED]
    ops: dict[str, Any] = {}
    for op in sorted({r[0] for r in done}):
        mine = [r for r in done if r[0] == op]
        ops[op] = {**latency_summary([r[3] for r in mine if r[4] == EXPECTED]),
                   "errors": sum(1 for r in mine if r[4] != EXPECTED)}
    lags = [s["lag"] for s in samples if s["lag"] is not None]
    last = samples[-1]
    cpu = last["cpu_s"] - before["cpu_s"]
    return {
        "window": i + 1, "from_s": round(i * width, 1), "to_s": round((i + 1) * width, 1),
        "commands_per_s": round(sum(1 for r in ok if r[1]) / width, 1),
        "reads_per_s": round(sum(1 for r in ok if not r[1]) / width, 1),
        "requests_per_s": round(len(ok) / width, 1),
        "errors": len(done) - len(ok),
        "unsent_commands": sum(1 for u in unsent if u[0]),
        "unsent_reads": sum(1 for u in unsent if not u[0]),
        "sent_late_max_ms": round(max((r[5] for r in done), default=0.0) * 1000, 1),
        "write": latency_summary([r[3] for r in ok if r[1]]),
        "read": latency_summary([r[3] for r in ok if not r[1]]),
        "ops": ops,
        "server_cpu_pct": round(100 * cpu / width, 1),
        "server_cpu_ms_per_request": round(1000 * cpu / len(ok), 2) if ok else None,
        "server_processes": last["processes"],
        "machine_load_1m": round(last["load_1m"], 2),
        "rss_mb": round(last["rss_mb"], 1), "anon_mb": round(last["anon_mb"], 1),
        "anon_median_mb": round(statistics.median(s["anon_mb"] for s in samples), 1),
        "lag_max": max(lags, default=None),
        "lag_mean": round(statistics.fmean(lags), 1) if lags else None,
        "log_position": last["log_position"],
        "files_mb": {name: round(last[name], 2) for name in _file_names()},
        "wal_max_mb": {name: round(max(s[name] for s in samples), 2)
                       for name in _file_names() if name.endswith("-wal")},
    }


def _file_names() -> list[str]:
    return [f"{name}{suffix}" for name in FILES for suffix in ("", "-wal")]


def run(mode: Mode, reads_per_s: float | None = OFFERED_READS_PER_S,
        seconds: float | None = None) -> Result:
    """A soak of ``mode``'s duration (or ``seconds``), reads offered at ``reads_per_s``
    (None: flat out; 0: no readers)."""
    default_seconds, width, span, interval = DURATIONS[mode]
    seconds = seconds or default_seconds
    with scratch_dir() as tmp:
        data_dir = tmp / "data"
        seeded = seed(data_dir)
        log(f"{NAME}: seeded {seeded.events} events; serving for {seconds:g} s")
        with pdl_serve(data_dir, tmp / "serve.log") as server:
            soak = Run(seeded, server, data_dir, seconds, span, interval, reads_per_s)
            asyncio.run(drive(soak))
        after_close = {name: size for name, size in file_sizes(data_dir).items()
                       if name.endswith("-wal") and size}
        serve_log = _tail(tmp / "serve.log", 10)
    rows = windows(soak, width)
    log(table(rows))
    return result(mode, soak, rows, server.exit_code, after_close, serve_log)


def result(mode: Mode, soak: Run, rows: list[dict[str, Any]], exit_code: int | None,
           wal_after_close: dict[str, float], serve_log: str) -> Result:
    first, last = rows[0], rows[-1]
    ok_writes = [r[3] for r in soak.requests if r[1] and r[4] == EXPECTED]
    writes = latency_summary(ok_writes)
    errors = sum(1 for r in soak.requests if r[4] != EXPECTED)
    wal_max = max((s[name] for s in soak.samples for name in _file_names()
                   if name.endswith("-wal")), default=0.0)
    mid = rows[max(0, len(rows) // 2 - 1)]
    anon_growth = last["anon_median_mb"] - mid["anon_median_mb"]
    throughput = last["requests_per_s"] / first["requests_per_s"]
    aims = {
        "throughput_last_over_first": [round(throughput, 2), throughput >= THROUGHPUT_FLOOR],
        "write_p99_ms": [writes["p99_ms"], writes["p99_ms"] <= WRITE_P99_MS],
        "wal_max_mb": [round(wal_max, 2), wal_max <= WAL_LIMIT_MB],
        "anon_growth_second_half_mb": [round(anon_growth, 1), anon_growth <= ANON_GROWTH_MB],
        "errors": [errors, errors == 0],
    }
    growth = op_growth(first, last)
    notes = [
        f"{WRITERS} writers offering {OFFERED_COMMANDS_PER_S:g} commands/s in all, {READERS} "
        f"readers {_reads(soak.reads_per_s)} (open loop: latency from when a request was due), "
        f"{soak.seconds:g} s in {len(rows)} windows; "
        f"log grew from {soak.seeded.events:,} to {last['log_position'] or 0:,} events",
        "aims: " + "; ".join(f"{k} {v[0]} ({'met' if v[1] else 'NOT met'})"
                             for k, v in aims.items()),
        f"anonymous memory {first['anon_mb']} → {last['anon_mb']} MiB; RSS {first['rss_mb']} → "
        f"{last['rss_mb']} MiB; views lag max {max(r['lag_max'] or 0 for r in rows)} events",
        "p50 first → last window: " + ", ".join(
            f"{op} {g['first_p50_ms']} → {g['last_p50_ms']} ms" for op, g in growth.items()),
    ]
    unsent = len(soak.unsent)
    first_cpu, last_cpu = soak.samples[0]["cpu_by_pid"], soak.samples[-1]["cpu_by_pid"]
    cpu_split = {pid: round(cpu - first_cpu.get(pid, 0.0), 1) for pid, cpu in last_cpu.items()}
    notes.append(
        f"server ({last['server_processes']} processes): CPU {first['server_cpu_pct']} % → "
        f"{last['server_cpu_pct']} % of a core, {first['server_cpu_ms_per_request']} → "
        f"{last['server_cpu_ms_per_request']} ms per answered request; machine 1-min load "
        f"{first['machine_load_1m']} → {last['machine_load_1m']} on {os.cpu_count()} cores; "
        f"CPU seconds by server process (pid: s): {cpu_split}")
    if unsent:
        notes.append(f"{unsent} requests fell due but were never sent (their client still "
                     f"waited for earlier answers): the server did not keep up with the "
                     f"offered rate")
    grew = [op for op, g in growth.items() if g["growth"] > 1.5]
    if grew:
        notes.append(f"p50 grew more than 1.5x from the first to the last window: "
                     f"{', '.join(grew)}")
    if exit_code != 0 or wal_after_close:
        notes.append(f"pdl serve exit code after SIGTERM: {exit_code}; WAL files left: "
                     f"{wal_after_close or 'none'}")
    return Result(
        name=NAME, row=ROW, mode=mode,
        title=(f"soak: pdl serve, {WRITERS} writers offering {OFFERED_COMMANDS_PER_S:g} "
               f"commands/s + {READERS} readers {_reads(soak.reads_per_s)}, "
               f"{soak.seconds / 60:g} min"),
        baseline=Measure("first window: commands + reads answered per s",
                         first["requests_per_s"], "req/s",
                         extra={"commands_per_s": first["commands_per_s"],
                                "reads_per_s": first["reads_per_s"],
                                "write_p99_ms": first["write"]["p99_ms"],
                                "read_p99_ms": first["read"]["p99_ms"]}),
        ours=Measure("last window: commands + reads answered per s", last["requests_per_s"],
                     "req/s", extra={"commands_per_s": last["commands_per_s"],
                                     "reads_per_s": last["reads_per_s"],
                                     "write_p99_ms": writes["p99_ms"],
                                     "read_p99_ms": last["read"]["p99_ms"]}),
        target=(f"last window ≥ {THROUGHPUT_FLOOR}x first; write p99 ≤ {WRITE_P99_MS:g} ms; "
                f"WAL ≤ {WAL_LIMIT_MB:g} MB; anon memory +≤ {ANON_GROWTH_MB:g} MiB over the "
                "2nd half; 0 errors"),
        met=all(ok for _, ok in aims.values()),
        params={"writers": WRITERS, "readers": READERS,
                "offered_commands_per_s": OFFERED_COMMANDS_PER_S,
                "offered_reads_per_s": soak.reads_per_s, "releases": RELEASES,
                "features": FEATURES, "read_mix": dict(READ_MIX), "seconds": soak.seconds,
                "window_s": rows[0]["to_s"], "diff_span_s": soak.diff_span,
                "seeded_events": soak.seeded.events, "aims": aims, "writes": writes,
                "op_growth": growth, "errors": errors, "unsent": unsent,
                "server_cpu_s_by_pid": cpu_split,
                "error_examples": soak.error_examples,
                "exit_code": exit_code, "wal_after_close": wal_after_close,
                "serve_log_tail": serve_log, "windows": rows},
        notes=notes,
    )


def _reads(per_s: float | None) -> str:
    return ("flat out" if per_s is None else "off" if per_s == 0
            else f"offering {per_s:g} reads/s")


def op_growth(first: dict[str, Any], last: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each operation's p50 in the first and the last window, and their ratio."""
    growth = {}
    for op, figures in last["ops"].items():
        before = first["ops"].get(op, {}).get("p50_ms", 0.0)
        if before and figures["samples"]:
            growth[op] = {"first_p50_ms": before, "last_p50_ms": figures["p50_ms"],
                          "growth": round(figures["p50_ms"] / before, 2)}
    return growth


def table(rows: list[dict[str, Any]]) -> str:
    """Per window: rates, latencies, server CPU, memory, lag and files, as a Markdown table."""
    lines = ["| window (s) | commands/s | reads/s | unsent | write p50 / p99 ms | "
             "read p50 / p99 ms | errors | server CPU % (ms/req) | load 1m | RSS / anon MiB | "
             "lag max / mean | events / views / service MB | WAL max MB (ev / views / svc) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f, w = r["files_mb"], r["wal_max_mb"]
        lines.append(
            f"| {r['from_s']:g}-{r['to_s']:g} | {r['commands_per_s']} | {r['reads_per_s']} | "
            f"{r['unsent_commands'] + r['unsent_reads']} | "
            f"{r['write']['p50_ms']} / {r['write']['p99_ms']} | "
            f"{r['read']['p50_ms']} / {r['read']['p99_ms']} | {r['errors']} | "
            f"{r['server_cpu_pct']} ({r['server_cpu_ms_per_request']}) | "
            f"{r['machine_load_1m']} | {r['rss_mb']} / {r['anon_mb']} | "
            f"{r['lag_max']} / {r['lag_mean']} | "
            f"{f['events.db']} / {f['views.db']} / {f['service.db']} | "
            f"{w['events.db-wal']} / {w['views.db-wal']} / {w['service.db-wal']} |")
    return "\n".join(lines)


def op_table(rows: list[dict[str, Any]]) -> str:
    """p50 / p99 (ms) of each operation in each window."""
    ops = sorted({op for r in rows for op in r["ops"]})
    lines = ["| window (s) | " + " | ".join(ops) + " |", "|---" * (len(ops) + 1) + "|"]
    for r in rows:
        cells = [f"{r['ops'][op]['p50_ms']} / {r['ops'][op]['p99_ms']}" if op in r["ops"]
                 else "—" for op in ops]
        lines.append(f"| {r['from_s']:g}-{r['to_s']:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = mode_parser("python -m benchmarks.soak", __doc__)
    readers = parser.add_mutually_exclusive_group()
    readers.add_argument("--readers-flat-out", action="store_true",
                         help="readers send their next read as soon as the last one answered")
    readers.add_argument("--reads-per-s", type=float, default=OFFERED_READS_PER_S,
                         help=f"reads offered per second in all (default: "
                              f"{OFFERED_READS_PER_S:g}; 0: no readers)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="run this long instead (30-s windows; smoke: 2-s)")
    args = parser.parse_args(argv)
    outcome = run(mode_of(args), None if args.readers_flat_out else args.reads_per_s,
                  args.seconds)
    path = write_json(outcome, args.out)
    print(table(outcome.params["windows"]))
    print()
    print(op_table(outcome.params["windows"]))
    print("\n".join(outcome.notes))
    print(f"met: {outcome.met}; written to {path}")
    print(json.dumps(outcome.params["aims"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
