"""A worker's own health endpoint (``OMS_HEALTH_BIND``, e.g. ``0.0.0.0:8081``), for probes.

``GET /health/live``: 200 while the process runs. ``GET /health/ready``: 200 with its task
queues once every worker polls, 503 while it starts (store, Temporal, schedules) or drains
on shutdown. Served by the standard library on a thread of its own, so a worker busy with
workflow tasks still answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Health:
    """The endpoint and the state it reports; set :attr:`queues` when polling starts."""

    def __init__(self, bind: str) -> None:
        host, _, port = bind.rpartition(":")
        self.queues: Sequence[str] | None = None
        self.stopping = False
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/health/live":
                    self._answer(200, {"status": "ok"})
                elif self.path == "/health/ready":
                    ready = health.queues is not None and not health.stopping
                    state = "ready" if ready else "stopping" if health.stopping else "starting"
                    self._answer(200 if ready else 503, {"status": state, "queues": health.queues})
                else:
                    self._answer(404, {"status": "unknown path"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # probes every few seconds are not news

        self._server = ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
