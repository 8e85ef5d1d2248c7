"""Run the benchmarks: ``.venv/bin/python -m benchmarks run [--quick | --smoke] [--only NAME]``.

Each benchmark runs in its own fresh process (so memory and threads of one never skew the
next), measures its raw baseline first and then our path, prints both with the ratio and writes
``benchmarks/results/<name>.json``; then ``benchmarks/results/summary.md`` is regenerated from
every result there. ``--smoke`` runs tiny sizes in seconds (the test suite uses it).
"""

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from benchmarks.harness import RESULTS_DIR, Mode, Result, describe, log, write_json, write_summary

#: Benchmark modules, in table order, then the PostgreSQL variants of rows 1, 2, 3 and 6
#: (``NAME_pg``: the same benchmark on PostgreSQL, in the row of its SQLite original). Each has
#: ``NAME`` and ``run(mode) -> Result``, and may have ``unavailable() -> str | None`` saying
#: why it cannot run here (then it is skipped).
BENCHMARKS = (
    "command_single",
    "command_concurrent",
    "http_command",
    "http_reads",
    "projection_rebuild",
    "view_lag",
    "relay_throughput",
    "as_of_reads",
    "soak",
    "history_length",
    "ui_roadmap",
    "search",
    "cross_replica",
    "relay_failover",
    "projector_group",
    "command_single_pg",
    "command_concurrent_pg",
    "http_command_pg",
    "view_lag_pg",
)


def load(name: str) -> ModuleType | None:
    """The benchmark module ``name``, or None if it does not exist (yet)."""
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as error:
        if error.name == f"benchmarks.{name}":
            return None
        raise


def run_one(name: str, mode: Mode, out: Path) -> Result | None:
    """Run benchmark ``name`` in this process and write its JSON; None if skipped."""
    module = load(name)
    if module is None:
        log(f"[skip] {name}: not written yet")
        return None
    reason = getattr(module, "unavailable", lambda: None)()
    if reason:
        log(f"[skip] {name}: {reason}")
        return None
    result: Result = module.run(mode)
    write_json(result, out)
    print(describe(result), flush=True)
    return result


def run_all(names: list[str], mode: Mode, out: Path) -> int:
    """Run each benchmark in a child process; regenerate the summary. Exit status 1 on failure."""
    failed = []
    for name in names:
        log(f"--- {name} ({mode})")
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks", "one", name, "--mode", mode, "--out", str(out)],
            check=False,
        )
        if child.returncode != 0:
            failed.append(name)
    summary = write_summary(out)
    log(f"summary: {summary}")
    print(summary.read_text())
    if failed:
        log(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run benchmarks (default: all, full size)")
    sizes = run.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes (seconds); for tests")
    run.add_argument("--only", action="append", choices=BENCHMARKS, metavar="NAME",
                     help=f"run only NAME (repeatable): {', '.join(BENCHMARKS)}")
    run.add_argument("--out", type=Path, default=None,
                     help="results folder (default: benchmarks/results; a temporary folder "
                          "for --smoke, so smoke runs never replace real results)")
    one = commands.add_parser("one", help="run one benchmark in this process")
    one.add_argument("name", choices=BENCHMARKS)
    one.add_argument("--mode", choices=("smoke", "quick", "full"), default="full")
    one.add_argument("--out", type=Path, default=RESULTS_DIR)
    commands.add_parser("summary", help="regenerate summary.md from the JSON results")
    args = parser.parse_args(argv)

    if args.command == "one":
        result = run_one(args.name, args.mode, args.out)
        if result is not None and args.mode == "smoke":
            json.dumps(result.to_dict(), default=str)  # well-formed, or fail loudly
        return 0
    if args.command == "summary":
        print(write_summary().read_text())
        return 0
    mode: Mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    out = args.out or (Path(tempfile.mkdtemp(prefix="pdl-bench-smoke-")) if args.smoke
                       else RESULTS_DIR)
    return run_all(args.only or list(BENCHMARKS), mode, out)


if __name__ == "__main__":
    sys.exit(main())
