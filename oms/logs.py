"""How OMS processes log: plain lines for a terminal, or JSON lines with trace ids for a log
pipeline (``OMS_LOG_FORMAT=json``).

A JSON line carries ``time``, ``level``, ``logger``, ``process``, ``message``, the
OpenTelemetry ``trace_id``/``span_id`` of the span the line was logged in (when tracing is
on, see ``oms/telemetry.py``), the Temporal context the SDK attaches to workflow and
activity log records (``temporal_workflow``, ``temporal_activity``) and, for an error, the
``exception``. Only the standard library here; OpenTelemetry is asked only if loaded.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
# Attributes the SDK puts on log records from workflows and activities.
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")


class JsonFormatter(logging.Formatter):
    """One JSON object a line; ``process`` names the OMS process (``worker``, ``api``)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process,
            "message": record.getMessage(),
        }
        line.update(_trace_ids())
        for extra in _TEMPORAL_EXTRAS:
            value = getattr(record, extra, None)
            if isinstance(value, dict):
                line[extra] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _trace_ids() -> dict[str, str]:
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:  # tracing never configured: nothing to correlate with
        return {}
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def configure(process: str, log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send every log record of this process to stderr in ``log_format``."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(process))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {process} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
