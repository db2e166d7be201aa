"""Rate limits over real HTTP (uvicorn, a real SQLite store): failed authentications per
address and per token, and the carrier webhook per address.

The attacks: an anonymous caller could guess tokens, or one token's secret, as fast as the
API answered (each guess a store read), and flood the webhook with events (each an HMAC and
a store write). Each test sends the guesses or the flood and shows the 429 with
``Retry-After``, given before the credentials are checked.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from limits import parse
from temporalio.client import Client

from oms.domain.auth import event_headers
from oms.settings import Settings
from oms.store import tokens
from oms.store.db import Database
from starters.api.ratelimit import RateLimits, token_key

from stack import api_alone

pytestmark = [pytest.mark.timeout(120)]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_too_many(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "TooManyRequests"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_guessing_tokens_from_one_address_is_refused_before_the_check(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(
        temporal_client, migrated_sqlite_url, tmp_path, api_auth_failures_per_ip="5/minute"
    ) as (
        url,
        _,
    ):
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            for _ in range(5):
                guess = await api.get("/stock", headers=_bearer(f"oms_{uuid.uuid4().hex}_x"))
                assert guess.status_code == 401, guess.text
            _assert_too_many(await api.get("/stock", headers=_bearer("oms_another_guess")))
            # Refused before the check: even a right token learns nothing from here.
            _assert_too_many(await api.get("/stock", headers=_bearer("dev-admin")))
            # No credentials at all costs nothing and is not counted: still a 401.
            assert (await api.get("/stock")).status_code == 401


async def test_guessing_one_tokens_secret_is_refused_from_any_address(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(
        temporal_client, migrated_sqlite_url, tmp_path, api_auth_failures_per_token="3/minute"
    ) as (url, settings):
        db = Database(settings.database_url)
        try:
            with db.session() as session:
                real, info = tokens.create_token(session, "warehouse", "kim")
        finally:
            db.dispose()
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            assert (await api.get("/stock", headers=_bearer(real))).status_code == 200
            for n in range(3):
                wrong = f"oms_{info.token_id}_guess{n}"
                assert (await api.get("/stock", headers=_bearer(wrong))).status_code == 401
            # The id is spent for the window: the right secret is not confirmed either ...
            _assert_too_many(await api.get("/stock", headers=_bearer(real)))
            # ... while other tokens from the same address still work.
            assert (await api.get("/stock", headers=_bearer("dev-admin"))).status_code == 200


async def test_forged_carrier_events_spend_the_addresss_failures(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(
        temporal_client,
        migrated_sqlite_url,
        tmp_path,
        api_auth_failures_per_ip="2/minute",
    ) as (url, settings):
        async with httpx.AsyncClient(base_url=url, timeout=30) as carrier:
            body = json.dumps({"tracking_number": "NOPE-1", "status": "delivered"}).encode()
            unsigned = {
                "content-type": "application/json",
                "webhook-id": "e",
                "webhook-timestamp": "1",
                "webhook-signature": "v1,x",
            }
            for _ in range(2):
                bad = await carrier.post("/carrier/events", content=body, headers=unsigned)
                assert bad.status_code == 401, bad.text
            # Two bad signatures spend the address's failures: a signed event is refused too.
            signed = {"content-type": "application/json"} | event_headers(
                settings.carrier_webhook_secret, body, "evt-1", datetime.now(UTC)
            )
            _assert_too_many(await carrier.post("/carrier/events", content=body, headers=signed))


async def test_signed_events_up_to_the_limit_are_answered_then_429(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(
        temporal_client, migrated_sqlite_url, tmp_path, carrier_webhook_rate_per_ip="3/minute"
    ) as (url, settings):
        async with httpx.AsyncClient(base_url=url, timeout=30) as carrier:
            body = json.dumps({"tracking_number": "NOPE-2", "status": "delivered"}).encode()
            for n in range(3):
                signed = {"content-type": "application/json"} | event_headers(
                    settings.carrier_webhook_secret, body, f"evt-{n}", datetime.now(UTC)
                )
                answer = await carrier.post("/carrier/events", content=body, headers=signed)
                assert answer.status_code == 404, answer.text  # signed, but no such parcel
            _assert_too_many(await carrier.post("/carrier/events", content=body, headers=signed))


def test_a_stored_token_is_counted_by_its_id_and_anything_else_by_its_digest() -> None:
    assert token_key("oms_abc123_secret1") == token_key("oms_abc123_other") == "id:abc123"
    assert token_key("dev-admin") != token_key("dev-sales")
    assert token_key("dev-admin").startswith("sha256:")


def test_defaults_leave_room_for_the_whole_auth_table_and_malformed_limits_refuse() -> None:
    """The defaults never bite make run, the bench or the suite: the auth test sends one
    unknown token to each of ~80 routes from one address within a minute."""
    settings = Settings(_env_file=None)
    assert parse(settings.api_auth_failures_per_token).amount >= 100
    assert parse(settings.api_auth_failures_per_ip).amount >= 300
    assert parse(settings.carrier_webhook_rate_per_ip).amount >= 1000
    with pytest.raises(ValueError):
        RateLimits(Settings(_env_file=None, api_auth_failures_per_ip="often"))
