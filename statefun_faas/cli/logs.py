"""How ``run`` and ``dev`` log: ``--log-format text`` (lines for people) or ``json`` (one object per line, for log
shippers), at ``--log-level``.

A JSON line carries ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, the fields the call passed
with ``extra=`` (the runtime's lines about one address carry ``address``, ``function_type`` and, where there is
one, ``reason``), and ``exception`` with the traceback when there is one, in the same line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "statefun-faas: %(message)s"
#: what every LogRecord has; anything else on a record came with ``extra=``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a field, not more lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in record.__dict__.items() if key not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def handler(log_format: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) as ``log_format`` says."""
    written = logging.StreamHandler(sys.stderr if stream is None else stream)
    written.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return written


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Send the process's log records at ``level`` or above to stderr, as ``log_format`` says (as it starts: a
    process that has a handler already keeps it)."""
    logging.basicConfig(level=level.upper(), handlers=[handler(log_format)])
