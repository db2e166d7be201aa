"""The codec server over real HTTP: what the Temporal UI calls to read encrypted payloads."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from temporalio.api.common.v1 import Payload

from oms.client import payload_codec
from oms.codec import new_key
from oms.settings import Settings
from starters.codec_server import create_app

UI = "http://localhost:8233"
TOKEN = "codec-test-token"
EMAIL = b"karin.ek@example.com"


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "codec_keys": f"k1:{new_key()}",
        "codec_key_id": "k1",
        "codec_ui_origins": f"{UI},http://127.0.0.1:8233",
        "codec_auth_tokens": f"other-token,{TOKEN}",
        "temporal_namespace": "default",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings() -> Settings:
    return _settings()


def _serve(settings: Settings) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "codec server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def url(settings: Settings) -> Iterator[str]:
    yield from _serve(settings)


def _json(payload: Payload) -> dict[str, object]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def _plain() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=b'{"email":"' + EMAIL + b'"}')


async def _encrypted(settings: Settings) -> Payload:
    [payload] = await payload_codec(settings).encode([_plain()])
    return payload


def _auth(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "x-namespace": "default"}


async def test_decode_with_a_token_returns_the_plain_payload(url: str, settings: Settings) -> None:
    body = {"payloads": [_json(await _encrypted(settings)), _json(_plain())]}
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{url}/codec/decode", json=body, headers=_auth())
    assert response.status_code == 200, response.text
    decoded = response.json()["payloads"]
    assert len(decoded) == 2
    for item in decoded:
        assert base64.b64decode(item["data"]) == _plain().data
        assert base64.b64decode(item["metadata"]["encoding"]) == b"json/plain"


async def test_encode_then_decode_round_trips_and_encode_hides_the_data(url: str) -> None:
    async with httpx.AsyncClient() as http:
        encoded = await http.post(
            f"{url}/codec/encode", json={"payloads": [_json(_plain())]}, headers=_auth()
        )
        assert encoded.status_code == 200, encoded.text
        [item] = encoded.json()["payloads"]
        assert EMAIL not in base64.b64decode(item["data"])
        assert base64.b64decode(item["metadata"]["encoding"]) == b"binary/encrypted"
        decoded = await http.post(f"{url}/codec/decode", json=encoded.json(), headers=_auth())
    assert base64.b64decode(decoded.json()["payloads"][0]["data"]) == _plain().data


async def test_preflight_from_the_ui_origin_is_allowed_with_credentials(url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.options(
            f"{url}/codec/decode",
            headers={
                "origin": UI,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,x-namespace,authorization",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"content-type", "x-namespace", "authorization"} <= {
        h.strip() for h in allowed.split(",")
    }


async def test_post_from_the_ui_origin_carries_the_cors_header(
    url: str, settings: Settings
) -> None:
    body = {"payloads": [_json(await _encrypted(settings))]}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/codec/decode", json=body, headers={**_auth(), "origin": UI}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == UI


async def test_other_origin_is_refused_preflight_and_post_even_with_a_token(
    url: str, settings: Settings
) -> None:
    evil = "http://evil.example"
    body = {"payloads": [_json(await _encrypted(settings))]}
    async with httpx.AsyncClient() as http:
        preflight = await http.options(
            f"{url}/codec/decode",
            headers={"origin": evil, "access-control-request-method": "POST"},
        )
        post = await http.post(
            f"{url}/codec/decode", json=body, headers={**_auth(), "origin": evil}
        )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert post.status_code == 403
    assert EMAIL.decode() not in post.text


async def test_missing_or_unknown_token_is_refused(url: str, settings: Settings) -> None:
    body = {"payloads": [_json(await _encrypted(settings))]}
    async with httpx.AsyncClient() as http:
        missing = await http.post(f"{url}/codec/decode", json=body)
        from_ui = await http.post(f"{url}/codec/decode", json=body, headers={"origin": UI})
        wrong = await http.post(f"{url}/codec/decode", json=body, headers=_auth("guess"))
    for response in (missing, from_ui, wrong):
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert EMAIL.decode() not in response.text


async def test_dev_trust_of_the_ui_origin_lets_the_tokenless_ui_decode(
    settings: Settings,
) -> None:
    trusting = _settings(codec_trust_ui_origin=True, codec_auth_tokens="")
    body = {"payloads": [_json(await _encrypted(trusting))]}
    for url in _serve(trusting):
        async with httpx.AsyncClient() as http:
            from_ui = await http.post(f"{url}/codec/decode", json=body, headers={"origin": UI})
            no_origin = await http.post(f"{url}/codec/decode", json=body)
        assert from_ui.status_code == 200
        assert base64.b64decode(from_ui.json()["payloads"][0]["data"]) == _plain().data
        # Outside a browser (no Origin) a token is still required.
        assert no_origin.status_code == 401


async def test_other_namespace_is_refused(url: str, settings: Settings) -> None:
    body = {"payloads": [_json(await _encrypted(settings))]}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{url}/codec/decode", json=body, headers={**_auth(), "x-namespace": "billing"}
        )
    assert response.status_code == 403
    assert "billing" in response.json()["detail"]


async def test_unknown_key_tampering_and_bad_body_are_400s_naming_the_problem(
    url: str, settings: Settings
) -> None:
    foreign = _settings(codec_keys=f"old-7:{new_key()}", codec_key_id="old-7")
    body = {"payloads": [_json(await _encrypted(foreign))]}
    tampered = await _encrypted(settings)
    tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
    async with httpx.AsyncClient() as http:
        unknown = await http.post(f"{url}/codec/decode", json=body, headers=_auth())
        forged = await http.post(
            f"{url}/codec/decode", json={"payloads": [_json(tampered)]}, headers=_auth()
        )
        bad = await http.post(f"{url}/codec/decode", json={"payload": 1}, headers=_auth())
    assert unknown.status_code == 400
    assert "old-7" in unknown.json()["detail"]
    assert forged.status_code == 400
    assert "authentication" in forged.json()["detail"]
    assert bad.status_code == 400
