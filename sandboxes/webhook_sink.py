"""A local webhook receiver for development: every delivery becomes a readable JSON file.

``make run`` starts it beside the SMTP sink and registers an endpoint for it (all event
types), so placing an order shows its events arriving: each delivery is written to
``<webhook_sink_dir>/<n>-<type>-<event id>.json`` (its headers, whether the signature
verified, and the body, pretty-printed) and summarised on one line of ``index.txt``. The
signature is checked with the ``standardwebhooks`` library against the endpoint
secret(s) in ``OMS_WEBHOOK_SINK_SECRETS``; a bad one is kept too, answered 401.

Run it on its own with ``python -m sandboxes.webhook_sink``.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from oms.settings import Settings, load_settings

log = logging.getLogger(__name__)
PATH = "/webhooks"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def verified(secrets: list[str], body: bytes, headers: dict[str, str]) -> bool:
    """Whether any of ``secrets`` signed ``body`` as ``headers`` say (Standard Webhooks)."""
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
        return True
    return False


class WebhookSink:
    """Keeps every delivery to ``directory`` as a file; answers 204, or 401 when unsigned."""

    def __init__(self, directory: Path, secrets: list[str]) -> None:
        self.directory, self.secrets = directory, secrets
        directory.mkdir(parents=True, exist_ok=True)
        start = len(list(directory.glob("*.json")))
        self._numbers = itertools.count(start + 1)
        self._lock = threading.Lock()

    def keep(self, body: bytes, headers: dict[str, str]) -> tuple[bool, Path]:
        ok = verified(self.secrets, body, headers)
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        kind = parsed.get("type", "unknown") if isinstance(parsed, dict) else "unknown"
        event_id = headers.get("webhook-id", "no-id")
        record = {
            "received_at": datetime.now(UTC).isoformat(),
            "signature_verified": ok,
            "headers": {k: v for k, v in headers.items() if k.startswith("webhook-")},
            "body": parsed,
        }
        with self._lock:
            n = next(self._numbers)
            path = self.directory / _UNSAFE.sub("_", f"{n:05d}-{kind}-{event_id}.json")
            path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            with (self.directory / "index.txt").open("a") as index:
                verdict = "signed" if ok else "BAD SIGNATURE"
                index.write(f"{record['received_at']}  {kind:24} {event_id}  {verdict}\n")
        return ok, path

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok, path = sink.keep(body, headers)
                log.info("%s %s", "kept" if ok else "kept (bad signature)", path.name)
                self.send_response(204 if ok else 401)
                self.send_header("content-length", "0")
                self.end_headers()

        return ThreadingHTTPServer((host, port), Handler)


def sink_url(settings: Settings) -> str:
    return f"http://{settings.webhook_sink_host}:{settings.webhook_sink_port}{PATH}"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s webhook-sink %(message)s")
    settings = load_settings()
    secrets = [s.strip() for s in settings.webhook_sink_secrets.split(",") if s.strip()]
    sink = WebhookSink(Path(settings.webhook_sink_dir), secrets)
    server = sink.server(settings.webhook_sink_host, settings.webhook_sink_port)
    log.info("receiving webhooks on %s into %s/", sink_url(settings), settings.webhook_sink_dir)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
