"""Every benchmark still runs and reports well-formed, self-consistent results (tiny sizes;
no timing checks: whether a target is met is the benchmark's finding, not the test's)."""

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks.__main__ import BENCHMARKS, load
from benchmarks.harness import summary_markdown

ROOT = Path(__file__).resolve().parents[2]

#: A figure of a result, a comparison ("≥" or "≤") and the bound its target names.
Check = tuple[float, str, float]


def skip_reason(name: str) -> str | None:
    """Why the benchmark cannot run on this machine (only the Kafka one, with no broker and
    no Java to start one, and the PostgreSQL ones, with no server and none to start, can say
    so); a benchmark that fails to import fails the test."""
    module = load(name)
    assert module is not None, f"benchmarks/{name}.py is listed but missing"
    reason: str | None = getattr(module, "unavailable", lambda: None)()
    return reason


def as_of_checks(r: dict[str, Any], m: ModuleType) -> list[Check]:
    """The slowest as-of read within ``TARGET_RATIO`` of the current read at the largest
    history, and grown at most ``FLAT`` times from the smallest."""
    first, last = r["params"]["sizes"][0], r["params"]["sizes"][-1]

    def slowest(size: dict[str, Any]) -> float:
        return max(float(a["read"]["p50_ms"]) for a in size["as_of"].values())

    return [(slowest(last), "≤", m.TARGET_RATIO * last["current"]["p50_ms"]),
            (slowest(last) / slowest(first), "≤", m.FLAT)]


#: What each benchmark's target compares, from the figures its result reports and the bounds
#: its module defines: its ``met`` must be all of them holding.
TARGETS: dict[str, Callable[[dict[str, Any], ModuleType], list[Check]]] = {
    "command_single": lambda r, m: [(r["ratio"], "≥", m.TARGET)],
    "command_concurrent": lambda r, m: [(r["ours"]["value"], "≥", m.TARGET)],
    "http_command": lambda r, m: [(r["ratio"], "≥", m.TARGET)],
    "http_reads": lambda r, m: [(r["ratio"], "≥", m.TARGET)],
    "projection_rebuild": lambda r, m: [
        (r["ratio"], "≥", m.TARGET),
        (r["ours"]["extra"]["rss_growth_mb_per_million"], "≤", m.TARGET_MB_PER_MILLION)],
    "view_lag": lambda r, m: [(r["ours"]["value"], "≤", m.P50_MS),
                              (r["ours"]["extra"]["p99_ms"], "≤", m.P99_MS)],
    "relay_throughput": lambda r, m: [(r["ratio"], "≥", m.TARGET_RATIO)],
    "as_of_reads": as_of_checks,
    "soak": lambda r, m: [(r["ratio"], "≥", m.THROUGHPUT_FLOOR),
                          (r["ours"]["extra"]["write_p99_ms"], "≤", m.WRITE_P99_MS),
                          (r["params"]["aims"]["wal_max_mb"][0], "≤", m.WAL_LIMIT_MB),
                          (r["params"]["aims"]["anon_growth_second_half_mb"][0], "≤",
                           m.ANON_GROWTH_MB),
                          (r["params"]["errors"], "≤", 0.5)],  # 0 errors (0 ≤ 0 is too close)
    "history_length": lambda r, m: [(r["params"]["growth"][op], "≤", m.FLAT) for op in m.AIMED],
    "ui_roadmap": lambda r, m: [(r["ours"]["value"], "≤",
                                 m.TARGET_RATIO * r["baseline"]["value"])],
    "search": lambda r, m: [(r["ours"]["value"], "≤", m.TARGET_P50_MS)],
    "cross_replica": lambda r, m: [(r["ours"]["value"], "≤", m.P50_MS),
                                   (r["ours"]["extra"]["p99_ms"], "≤", m.P99_MS)],
    "relay_failover": lambda r, m: [(r["ratio"], "≥", m.TARGET_RATIO)] + [
        (max(seconds), "≤", float(lease) + m.MARGIN_S)
        for lease, seconds in r["params"]["failovers_s"].items()],
    "projector_group": lambda r, m: [],  # no aim: the figure is reported
}
#: The PostgreSQL variants (``NAME_pg``) check what their SQLite originals check, against
#: the bounds their own modules define.
TARGETS |= {f"{name}_pg": TARGETS[name] for name in
            ("command_single", "command_concurrent", "http_command", "view_lag")}


def table_row(name: str) -> int:
    """The row of the README table: the place in the list, or a PostgreSQL variant's
    original's."""
    return BENCHMARKS.index(name.removesuffix("_pg")) + 1


def expected_met(checks: list[Check]) -> bool | None:
    """Whether every check holds; ``None`` when a figure is too close to its bound to tell
    from the rounded figures of the JSON."""
    if any(math.isclose(figure, bound, rel_tol=1e-3) for figure, _, bound in checks):
        return None
    return all(figure >= bound if op == "≥" else figure <= bound
               for figure, op, bound in checks)


def assert_well_formed(measure: dict[str, Any]) -> None:
    """A measured figure: positive and finite; ``/s`` (a throughput) exactly when higher is
    better; its latency summary, if any, ordered."""
    assert math.isfinite(measure["value"]) and measure["value"] > 0, measure
    assert measure["unit"].endswith("/s") == measure["higher_is_better"], measure
    extra = measure["extra"]
    if {"p50_ms", "p99_ms", "max_ms"} <= extra.keys():
        assert 0 <= extra["p50_ms"] <= extra["p99_ms"] <= extra["max_ms"], extra


def test_every_listed_benchmark_has_its_target_checked_here() -> None:
    assert set(TARGETS) == set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_measures_its_baseline_and_our_path(name: str, tmp_path: Path) -> None:
    if reason := skip_reason(name):
        pytest.skip(reason)

    subprocess.run([sys.executable, "-m", "benchmarks", "one", name, "--mode", "smoke",
                    "--out", str(tmp_path)], cwd=ROOT, check=True, timeout=300)

    result = json.loads((tmp_path / f"{name}.json").read_text())
    module = load(name)
    assert module is not None
    baseline, ours = result["baseline"], result["ours"]
    assert result["name"] == name and result["mode"] == "smoke"
    assert result["row"] == table_row(name)  # the table's order
    assert_well_formed(baseline)
    assert_well_formed(ours)
    assert baseline["higher_is_better"] == ours["higher_is_better"]  # the same kind of figure
    assert result["ratio"] == pytest.approx(
        ours["value"] / baseline["value"] if ours["higher_is_better"]
        else baseline["value"] / ours["value"])
    assert isinstance(result["met"], bool)
    expected = expected_met(TARGETS[name](result, module))
    assert expected is None or result["met"] is expected, (result["target"], result["met"])
    assert {"cpu", "cores", "python", "sqlite"} <= result["machine"].keys()
    row = next(line for line in summary_markdown([result]).splitlines()
               if line.startswith(f"| {result['row']} |"))
    assert f"| {result['ratio']:.2f}x | {result['target']} |" in row
