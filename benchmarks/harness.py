"""What every benchmark shares: run sizes, the result record, the machine description, reports.

Each benchmark measures its raw baseline first, then our path, in the same run, and returns a
:class:`Result`. ``ratio`` is always "how fast we are relative to the baseline" (higher is
better): ours/baseline for throughputs, baseline/ours for latencies.
"""

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Mode = Literal["smoke", "quick", "full"]
RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Measure:
    """One side of a comparison: what was measured, its value and unit."""

    label: str
    value: float
    unit: str
    #: Higher is better for throughputs (``/s``); lower is better for latencies.
    higher_is_better: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """A benchmark's outcome: baseline, ours, their ratio and whether the target is met."""

    name: str
    row: int
    title: str
    mode: str
    baseline: Measure
    ours: Measure
    target: str
    met: bool | None
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        if self.ours.higher_is_better:
            return self.ours.value / self.baseline.value
        return self.baseline.value / self.ours.value

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "machine": machine()}


def sizes(mode: Mode, smoke: int, quick: int, full: int) -> int:
    """Pick the run size for ``mode``."""
    return {"smoke": smoke, "quick": quick, "full": full}[mode]


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms, default=0.0), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else 0.0,
        "samples": len(ms),
    }


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed:`` … ``elapsed()`` seconds since the block began."""
    started = time.perf_counter()
    yield lambda: time.perf_counter() - started


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples the memory of this process and of its child processes (a rebuild's loaders)
    in a background thread; ``growth`` is peak minus start.

    Memory is the proportional set size where Linux reports it (a page shared by a forked
    child and its parent counts once in all), else this process's resident set size.
    Reading it walks every mapping of each process, so it is sampled less often than RSS
    would be (every ``interval`` s).
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.start = self.peak = memory_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRSS":
        self.start = self.peak = memory_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, memory_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, memory_bytes())


def memory_bytes() -> int:
    """Proportional set size of this process and its live children (see :class:`PeakRSS`)."""
    own = _pss_bytes("self")
    if own is None:
        return rss_bytes()
    return own + sum(_pss_bytes(str(child)) or 0 for child in _children())


def _pss_bytes(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # no such file on this system, or the child has just exited
        return None
    return None


def _children() -> list[int]:
    children: list[int] = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as listed:
                children += map(int, listed.read().split())
    except OSError:
        pass
    return children


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python and SQLite versions of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # other work on the machine during the run
    }


def write_json(result: Result, out: Path = RESULTS_DIR) -> Path:
    """Write ``<out>/<name>.json``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.name}.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return path


def _fmt(measure: Measure) -> str:
    value = measure.value
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    return f"{text} {measure.unit}"


def describe(result: Result) -> str:
    """One line for the console: baseline, ours, ratio."""
    met = {True: "met", False: "NOT met", None: "n/a"}[result.met]
    return (
        f"[{result.row}] {result.name}: baseline {_fmt(result.baseline)} "
        f"({result.baseline.label}); ours {_fmt(result.ours)} ({result.ours.label}); "
        f"ratio {result.ratio:.2f}x; target {result.target}: {met}"
    )


def summary_markdown(results: list[dict[str, Any]]) -> str:
    """The README table, from result dicts (as written to JSON), with the machine description."""
    lines = [
        "| # | path | baseline (same run) | ours | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r["row"], r["name"])):
        base, ours = Measure(**r["baseline"]), Measure(**r["ours"])
        details = ", ".join(f"{k} {v}" for k, v in ours.extra.items() if k.endswith("_ms"))
        ours_text = _fmt(ours) + (f" ({details})" if details else "")
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append(
            f"| {r['row']} | {r['title']} | {_fmt(base)} — {base.label} | {ours_text} | "
            f"{r['ratio']:.2f}x | {r['target']} | {met} |"
        )
    modes = sorted({r["mode"] for r in results})
    m = results[0]["machine"] if results else machine()
    loads = [r["machine"]["load_avg_1m"] for r in results if "load_avg_1m" in r["machine"]]
    load = f" 1-min load average after the runs: {min(loads)} to {max(loads)}." if loads else ""
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; "
        f"Python {m['python']}; SQLite {m['sqlite']}; {m['platform']}. "
        f"Mode: {', '.join(modes)}. Ratio = ours relative to the baseline (higher is better)."
        + load,
    ]
    notes = [f"- [{r['row']}] {n}" for r in sorted(results, key=lambda r: r["row"])
             for n in r.get("notes", [])]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def write_summary(out: Path = RESULTS_DIR) -> Path:
    """Regenerate ``summary.md`` from every ``*.json`` result in ``out``."""
    rank = {"smoke": 0, "quick": 1, "full": 2}
    best: dict[str, tuple[tuple[int, float], dict[str, Any]]] = {}
    for p in out.glob("*.json"):  # one row per benchmark: its largest mode, then latest run
        result = json.loads(p.read_text())
        key = (rank.get(result["mode"], 0), p.stat().st_mtime)
        if result["name"] not in best or key > best[result["name"]][0]:
            best[result["name"]] = (key, result)
    results = [result for _, result in best.values()]
    path = out / "summary.md"
    path.write_text(summary_markdown(results))
    return path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mode_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The command line of one benchmark run on its own (``python -m benchmarks.NAME``):
    ``--quick`` or ``--smoke`` (else full sizes) and ``--out``."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    return parser


def mode_of(args: argparse.Namespace) -> Mode:
    return "smoke" if args.smoke else "quick" if args.quick else "full"


def standalone(prog: str, doc: str | None, run: Callable[[Mode], Result],
               report: Callable[[Result], str], argv: list[str] | None = None) -> int:
    """Run one benchmark from its own command line: its result written as JSON, its
    ``report`` (a table) and notes printed."""
    args = mode_parser(prog, doc).parse_args(argv)
    outcome = run(mode_of(args))
    path = write_json(outcome, args.out)
    print(report(outcome))
    print("\n".join(outcome.notes))
    print(f"met: {outcome.met}; written to {path}")
    return 0

