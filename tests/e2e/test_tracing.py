"""OpenTelemetry: one order's trace, from ``POST /orders`` to completed, reaches an OTLP/HTTP
collector: the API's request, the Temporal client call, the workflow, its activities and the
SQL under them, in one trace. The collector is an HTTP server in this process that decodes
what it receives with opentelemetry-proto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from temporalio.client import Client

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    attributes: dict[str, str]


class _Collector(BaseHTTPRequestHandler):
    spans: list[Span]
    paths: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.paths.append(self.path)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        Span(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            service=resource.get("service.name", ""),
                            attributes={a.key: str(a.value.string_value) for a in span.attributes},
                        )
                    )
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, type[_Collector]]]:
    handler = type("Collector", (_Collector,), {"spans": [], "paths": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def test_one_orders_trace_runs_from_post_to_its_last_activity(
    temporal_client: Client,
    migrated_sqlite_url: str,
    tmp_path: Path,
    collector: tuple[str, type[_Collector]],
) -> None:
    endpoint, received = collector
    env = dict(os.environ)
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="oms-trace-test",
        # Export as it goes: the test waits for no batch timer.
        OTEL_BSP_SCHEDULE_DELAY="200",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
    )
    address = temporal_client.service_client.config.target_host
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/e2e/trace_one_order.py"),
            address,
            migrated_sqlite_url,
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    order_id = result["order_id"]

    assert set(received.paths) == {"/v1/traces"}
    spans = list(received.spans)
    assert {s.service for s in spans} == {"oms-trace-test"}
    [start] = [
        s
        for s in spans
        if s.name == "StartWorkflow:OrderWorkflow"
        and s.attributes.get("temporalWorkflowID", "").endswith(order_id)
    ]
    trace = [s for s in spans if s.trace_id == start.trace_id]
    by_id = {s.span_id: s for s in trace}
    names = [s.name for s in trace]

    # The trace starts at the API's request: the client call sits under POST /orders.
    assert "POST /orders" in [s.name for s in _ancestors(start, by_id)], names
    # The workflow runs in it, and so does every activity it scheduled.
    [workflow] = [s for s in trace if s.name == "RunWorkflow:OrderWorkflow"]
    assert start in _ancestors(workflow, by_id)
    activities = [s for s in trace if s.name.startswith("RunActivity:")]
    assert len(activities) >= 5, names
    for activity in activities:
        assert start in _ancestors(activity, by_id), activity.name
    # The SQL of the activities is traced under them.
    sql = [
        s
        for s in trace
        if s.attributes.get("db.system")
        and any(a.name.startswith("RunActivity:") for a in _ancestors(s, by_id))
    ]
    assert sql, names
    # ... and the carrier's HTTP calls (httpx) under the activity that made them.
    [label_call] = [s for s in trace if s.name == "POST /v1/labels"]
    assert "RunActivity:carrier.buy_label" in [a.name for a in _ancestors(label_call, by_id)]
    # The shipment (a child workflow) and the order's completion are in the same trace.
    assert {"RunWorkflow:ShipmentWorkflow", "CompleteWorkflow:OrderWorkflow"} <= set(names)
