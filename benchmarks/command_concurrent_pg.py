"""Row 2 on PostgreSQL: ``command_concurrent`` on a durable server; baseline raw psycopg
inserting the same bytes 100 rows per transaction (one ``INSERT … unnest``), one connection."""

from benchmarks import command_concurrent
from benchmarks.harness import Mode, Result
from benchmarks.postgres import unavailable

__all__ = ["NAME", "TARGET", "run", "unavailable"]

NAME = "command_concurrent_pg"
#: Decisions/s with 2 cores (the issue's aim).
TARGET = 5_000


def run(mode: Mode) -> Result:
    return command_concurrent.run(mode, "postgres", TARGET)
