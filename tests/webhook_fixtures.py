"""A real HTTP webhook receiver on loopback for the tests, with failures to inject.

Signatures are checked with the ``standardwebhooks`` library (never with the OMS's own
code). Every request is kept: its headers, body, whether it verified and what was
answered; ``fail_first`` answers 500 to each event's first attempts, ``delay_s`` holds
each answer (a timeout for the sender), and ``stop``/``start`` take the receiver down
and bring it back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from smtp_fixtures import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    verified: bool
    answered: int

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    secret: str = ""
    fail_first: int = 0
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _tries: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in the order they came."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(raw, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    key = headers.get("webhook-id", "")
                    receiver._tries[key] = tries = receiver._tries.get(key, 0) + 1
                    code = 401 if not verified else 500 if tries <= receiver.fail_first else 204
                    receiver.requests.append(Received(headers, json.loads(raw), verified, code))
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
