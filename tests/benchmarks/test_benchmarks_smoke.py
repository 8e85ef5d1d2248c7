"""Every benchmark still runs and reports well-formed results (tiny sizes; no timing checks)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import BENCHMARKS, load
from benchmarks.harness import summary_markdown

ROOT = Path(__file__).resolve().parents[2]


def skip_reason(name: str) -> str | None:
    """Why the benchmark cannot run on this machine (only the Kafka one can say so: no
    broker and no Java to start one); a benchmark that fails to import fails the test."""
    module = load(name)
    assert module is not None, f"benchmarks/{name}.py is listed but missing"
    reason: str | None = getattr(module, "unavailable", lambda: None)()
    return reason


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_measures_its_baseline_and_our_path(name: str, tmp_path: Path) -> None:
    if reason := skip_reason(name):
        pytest.skip(reason)

    subprocess.run([sys.executable, "-m", "benchmarks", "one", name, "--mode", "smoke",
                    "--out", str(tmp_path)], cwd=ROOT, check=True, timeout=300)

    result = json.loads((tmp_path / f"{name}.json").read_text())
    assert result["name"] == name and result["mode"] == "smoke"
    assert result["baseline"]["value"] > 0 and result["ours"]["value"] > 0
    assert result["ratio"] > 0 and result["met"] in (True, False, None)
    assert {"cpu", "cores", "python", "sqlite"} <= result["machine"].keys()
    assert f"| {result['row']} |" in summary_markdown([result])
