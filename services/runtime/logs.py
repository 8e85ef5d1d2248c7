"""What the ``pdl`` processes log, and how: text a person reads, or one JSON object a line.

Every line says when (``timestamp``), how bad (``level``) and where from (``logger``); a
line written while a request is served also carries its ``request_id``
(:data:`request_id`, set by :mod:`services.http.observability`). The JSON lines are made by
python-json-logger, a formatter for the standard ``logging`` module: every logger already in
use (ours, uvicorn's, kafka-python's) writes JSON without changing a call. Lines at WARNING
and above are also counted for ``/metrics`` (``pdl_log_messages_total``).
"""

import logging
import sys
from contextvars import ContextVar
from typing import TextIO

from prometheus_client import Counter
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from services.runtime.settings import LogSettings

#: The id of the request being served (None outside a request).
request_id: ContextVar[str | None] = ContextVar("pdl_request_id", default=None)

LOG_MESSAGES = Counter("pdl_log_messages", "Log lines at WARNING and above, by level and logger.",
                       ["level", "logger"])

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers that say too much at INFO: only their warnings are kept.
CHATTY = ("kafka",)


class RequestContext(logging.Filter):
    """Gives each record the id of the request it was written in, and counts warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            current = request_id.get()
            if current is not None:
                record.request_id = current
        if record.levelno >= logging.WARNING:
            LOG_MESSAGES.labels(record.levelname.lower(), record.name).inc()
        return True


class TextFormatter(logging.Formatter):
    """The classic line, with the request id at its end when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        current = getattr(record, "request_id", None)
        return line if current is None else f"{line} [request {current}]"


def json_formatter() -> logging.Formatter:
    """``{"timestamp", "level", "logger", "message", ...extra fields}`` on one line."""
    return OrjsonFormatter(
        ["levelname", "name", "message"], timestamp=True,
        rename_fields={"levelname": "level", "name": "logger"},
        # uvicorn repeats each message with terminal colours in ``color_message``.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"])


def configure(settings: LogSettings | None = None, stream: TextIO | None = None) -> None:
    """Send every log line of this process to ``stream`` (stderr), formatted as ``settings``
    say; replaces whatever was configured before (uvicorn must run with ``log_config=None``)."""
    settings = settings or LogSettings()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if settings.format == "json"
                         else TextFormatter(TEXT_FORMAT))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error"):  # through our handler, not uvicorn's own
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
