"""``oms codec-server``: the Temporal remote codec endpoint, so the Web UI shows orders readably.

Every payload in Temporal is encrypted (``oms/codec.py``). The Temporal Web UI decodes them
by calling this server from the browser: ``POST /codec/decode`` (and ``/codec/encode``) with
``{"payloads": [...]}`` in protobuf JSON form (base64 ``data`` and metadata values) and an
``X-Namespace`` header. Point the UI at ``http://<host>:<port>/codec``
(``--ui-codec-endpoint`` on the dev server, ``TEMPORAL_CODEC_ENDPOINT`` for the UI image).

Because anyone who can call it can read customer PII, it is guarded:

- CORS: only the UI's origins (``OMS_CODEC_UI_ORIGINS``) may call it from a browser, with
  credentials; a request carrying any other ``Origin`` is refused with 403.
- Authentication: ``Authorization: Bearer <token>`` checked against ``OMS_CODEC_AUTH_TOKENS``
  (the UI sends the user's token when it runs with auth and "pass access token").
  ``OMS_CODEC_TRUST_UI_ORIGIN=1`` (development only, set by ``make run``) also accepts a
  request whose ``Origin`` is a UI origin without a token: the embedded dev UI has no login.
  A missing or wrong token is a 401. Listening beyond loopback (``OMS_CODEC_HOST``), it
  refuses to start with a placeholder token (``change-me...``, ``dev-...``), as the API does
  with its public secrets.
- Namespace: only the OMS's namespace (``TEMPORAL_NAMESPACE``); another is a 403.
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from oms.client import payload_codec
from oms.codec import EncryptionCodec
from oms.settings import Settings, load_settings

PREFIX = "/codec"
ALLOWED_HEADERS = ["authorization", "content-type", "x-namespace"]


def _split(value: str) -> frozenset[str]:
    return frozenset(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class CodecAccess:
    """Who may use the codec server: a small verifier, kept apart so it can later be pointed
    at the API's shared token store."""

    tokens: frozenset[str]
    ui_origins: frozenset[str]
    trust_ui_origin: bool
    namespace: str

    @classmethod
    def from_settings(cls, settings: Settings) -> CodecAccess:
        return cls(
            tokens=_split(settings.codec_auth_tokens),
            ui_origins=_split(settings.codec_ui_origins),
            trust_ui_origin=settings.codec_trust_ui_origin,
            namespace=settings.temporal_namespace,
        )

    def origin_allowed(self, origin: str | None) -> bool:
        """No Origin (not a browser) or one of the UI's origins."""
        return origin is None or origin in self.ui_origins

    def check(self, authorization: str | None, origin: str | None, namespace: str | None) -> None:
        """Allow the request or raise ``HTTPException``: 403 for a foreign origin or
        namespace, 401 for a missing or unknown bearer token."""
        if not self.origin_allowed(origin):
            raise HTTPException(403, f"origin {origin!r} may not use the codec server")
        if namespace and namespace != self.namespace:
            raise HTTPException(403, f"namespace {namespace!r} is not served by this codec")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            # Constant-time comparison against every token: no early exit to time.
            matches = [hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens]
            if any(matches):
                return
            raise HTTPException(401, "unknown bearer token", {"WWW-Authenticate": "Bearer"})
        if self.trust_ui_origin and origin is not None and origin in self.ui_origins:
            return
        raise HTTPException(401, "bearer token required", {"WWW-Authenticate": "Bearer"})


def create_app(settings: Settings | None = None, codec: EncryptionCodec | None = None) -> FastAPI:
    """Build the codec server. Raises ``ValueError`` if the codec keys are malformed."""
    settings = settings or Settings()
    codec = codec or payload_codec(settings)
    access = CodecAccess.from_settings(settings)
    app = FastAPI(title="Temporal OMS codec server", docs_url=None, redoc_url=None)

    async def run(request: Request, transform: Callable[[Any], Awaitable[Any]]) -> Response:
        access.check(
            request.headers.get("authorization"),
            request.headers.get("origin"),
            request.headers.get("x-namespace"),
        )
        try:
            body = await request.json()
            payloads = json_format.ParseDict(body, Payloads()).payloads
        except (ValueError, json_format.ParseError) as err:
            raise HTTPException(400, f"body must be {{'payloads': [...]}}: {err}") from err
        try:
            result = await transform(payloads)
        except ValueError as err:  # a payload under a key that is not loaded
            raise HTTPException(400, str(err)) from err
        except InvalidTag as err:  # tampered with, or another key under the same id
            raise HTTPException(400, "a payload failed authentication") from err
        return JSONResponse(json_format.MessageToDict(Payloads(payloads=result)))

    @app.post(f"{PREFIX}/decode")
    async def decode(request: Request) -> Response:
        return await run(request, codec.decode)

    @app.post(f"{PREFIX}/encode")
    async def encode(request: Request) -> Response:
        return await run(request, codec.encode)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        CORSMiddleware,
        allow_origins=sorted(access.ui_origins),
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=ALLOWED_HEADERS,
        max_age=600,
    )

    # Outermost: a browser on any other origin gets a 403, preflight included, before CORS.
    @app.middleware("http")
    async def refuse_foreign_origins(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        origin = request.headers.get("origin")
        if not access.origin_allowed(origin):
            return JSONResponse(
                {"detail": f"origin {origin!r} may not use the codec server"}, status_code=403
            )
        return await call_next(request)

    return app


def main() -> None:
    import uvicorn

    settings = load_settings()
    if problem := settings.codec_exposure_problem():
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    uvicorn.run(
        create_app(settings), host=settings.codec_host, port=settings.codec_port, log_level="info"
    )


if __name__ == "__main__":
    main()
