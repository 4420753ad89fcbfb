"""Structured logs: one JSON object per line, each with the request id.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and
``request_id`` (``null`` outside a request), ``trace_id`` and ``span_id`` within a traced
span (:mod:`services.runtime.tracing`), then any ``extra=`` fields of the call and
``exception`` with the traceback when one was logged. Log shippers parse it without rules.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

from services.runtime.request_context import current_request_id
from services.runtime.tracing import current_trace_ids

#: Attributes every ``LogRecord`` has; anything else on a record came from ``extra=``.
_STANDARD: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn's ANSI-coloured copy of the message
)
#: Noisy libraries kept at WARNING whatever the configured level.
_QUIET: Final = ("httpx", "httpcore", "pymongo")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id(),
        }
        ids = current_trace_ids()
        if ids is not None:
            line["trace_id"], line["span_id"] = ids
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def send_logs_to(formatter: logging.Formatter, level: str, stream: TextIO | None) -> None:
    """Make ``formatter`` on ``stream`` (stderr) the one handler of every logger's records,
    at ``level``, the noisy libraries at WARNING."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Send every logger's records (uvicorn's too) as JSON lines to ``stream`` (stderr)."""
    send_logs_to(JsonFormatter(), level, stream)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
