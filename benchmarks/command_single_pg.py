"""Row 1 on PostgreSQL: ``command_single`` on a durable server; baseline raw psycopg
``INSERT`` + ``COMMIT`` per row of the same bytes, one connection."""

from benchmarks import command_single
from benchmarks.harness import Mode, Result
from benchmarks.postgres import unavailable

__all__ = ["NAME", "TARGET", "run", "unavailable"]

NAME = "command_single_pg"
TARGET = 0.5


def run(mode: Mode) -> Result:
    return command_single.run(mode, "postgres", TARGET)
