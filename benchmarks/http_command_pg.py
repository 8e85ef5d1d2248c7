"""Row 3 on PostgreSQL: ``http_command`` with ``pdl``'s app on a durable server; baseline the
same bare FastAPI route, same load, same uvicorn options."""

from benchmarks import http_command
from benchmarks.harness import Mode, Result
from benchmarks.postgres import unavailable

__all__ = ["NAME", "TARGET", "run", "unavailable"]

NAME = "http_command_pg"
TARGET = 0.25


def run(mode: Mode) -> Result:
    return http_command.run(mode, "postgres", TARGET)
