"""Row 6 on PostgreSQL: ``view_lag`` with the event log on a durable server (views in SQLite,
as ``pdl serve`` keeps them); baseline raw psycopg commit → tailing thread reads it and copies
it into SQLite → waiter woken. The issue sets no separate aim: row 6's own."""

from benchmarks import view_lag
from benchmarks.harness import Mode, Result
from benchmarks.postgres import unavailable

__all__ = ["NAME", "P50_MS", "P99_MS", "run", "unavailable"]

NAME = "view_lag_pg"
P50_MS, P99_MS = view_lag.P50_MS, view_lag.P99_MS


def run(mode: Mode) -> Result:
    return view_lag.run(mode, "postgres")
