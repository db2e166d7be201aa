"""Run the sandbox carrier for tests over real HTTP, and record the webhooks it posts.

Reusable by any test module::

    from carrier_fixtures import WebhookRecorder, running_sandbox_carrier

    with running_sandbox_carrier(SandboxConfig(db_path=str(tmp_path / "c.db"))) as carrier:
        httpx.post(f"{carrier.url}/v1/rates", json=...)
        carrier.configure(failure_rate_503=1.0)

The carrier runs under uvicorn in a background thread (its own event loop) on a
free port; leaving the ``with`` block stops it, so a second block on the same
``db_path`` is a restart of the service.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from activities.adapters.tls import client_context
from sandboxes.carrier import SandboxConfig, create_app


@dataclass
class RunningCarrier:
    """A sandbox carrier serving at ``url``."""

    url: str

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change the carrier's behaviour at runtime (``PUT /v1/sandbox/config``)."""
        response = httpx.put(f"{self.url}/v1/sandbox/config", json=changes, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    async def aconfigure(self, **changes: Any) -> dict[str, Any]:
        """``configure`` for async tests."""
        async with httpx.AsyncClient(timeout=10, verify=client_context()) as client:
            response = await client.put(f"{self.url}/v1/sandbox/config", json=changes)
        response.raise_for_status()
        return dict(response.json())


@contextmanager
def running_sandbox_carrier(
    config: SandboxConfig, *, host: str = "127.0.0.1", startup_timeout_s: float = 10.0
) -> Iterator[RunningCarrier]:
    """Serve a sandbox carrier built from ``config`` on a free port until the block ends."""
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-carrier", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox carrier did not start")
            time.sleep(0.01)
        yield RunningCarrier(url=f"http://{host}:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class WebhookRecorder:
    """A tiny HTTP server that records JSON bodies posted to it.

    The first ``fail_first`` requests are answered 500, to exercise retries.
    """

    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    # Per received body: the raw bytes and the signature header that came with them.
    signed: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    attempts: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> WebhookRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recorder._lock:
                    recorder.attempts += 1
                    failing = recorder.attempts <= recorder.fail_first
                    if not failing:
                        recorder.received.append(json.loads(body))
                        recorder.signed.append(
                            (body, {k.lower(): v for k, v in self.headers.items()})
                        )
                self.send_response(500 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/carrier/events"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Block until ``count`` bodies have arrived; return them (fails after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook posts, got {self.received}")
