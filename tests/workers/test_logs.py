"""Log lines: plain for a terminal; with OMS_LOG_FORMAT=json one JSON object a line that a
log pipeline can join to its trace (trace and span ids) and to its workflow or activity."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from oms import logs
from oms.settings import Settings


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("oms.test", logging.WARNING, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_json_line_carries_the_trace_and_the_temporal_context() -> None:
    formatter = logs.JsonFormatter("worker")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("capture") as span:
        line = formatter.format(
            _record("captured %s", temporal_activity={"activity_type": "payments.capture"})
        )
    body = json.loads(line)
    ids = span.get_span_context()
    assert body["trace_id"] == f"{ids.trace_id:032x}" and body["span_id"] == f"{ids.span_id:016x}"
    assert body["temporal_activity"] == {"activity_type": "payments.capture"}
    assert (body["level"], body["logger"], body["process"]) == ("WARNING", "oms.test", "worker")
    assert body["message"] == "captured %s"


def test_outside_a_span_and_with_an_error_the_line_says_so() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    body = json.loads(logs.JsonFormatter("api").format(record))
    assert "trace_id" not in body
    assert "ValueError: boom" in body["exception"]


def test_the_setting_chooses_the_format(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_LOG_FORMAT", "json")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("worker", Settings().log_format)
        logging.getLogger("oms.x").info("hello")
        assert json.loads(capsys.readouterr().err)["message"] == "hello"
        logs.configure("worker", "text")
        logging.getLogger("oms.x").info("hello")
        assert capsys.readouterr().err.rstrip().endswith("worker INFO hello")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    monkeypatch.setenv("OMS_LOG_FORMAT", "xml")
    with pytest.raises(ValueError):
        Settings()
