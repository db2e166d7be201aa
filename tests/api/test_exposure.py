"""Exposure: public development secrets only on loopback, only the API's own host names,
and HTTP Basic only on the report page (real processes and real HTTP).

Each test is an attack the API used to let through: ``OMS_API_HOST=0.0.0.0`` on the
embedded default served ``dev-admin`` to the network; a rebound DNS name reached
``make run``'s API; Basic credentials a browser resends on its own worked on every route.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from oms.codec import new_key
from oms.settings import Settings
from starters.api.app import UnsafeExposure, create_app

from stack import ROOT, api_alone, order_body

pytestmark = [pytest.mark.timeout(120)]

REAL = {
    "codec_keys": f"k1:{new_key()}",
    "codec_key_id": "k1",
    "carrier_webhook_secret": "a-real-secret",
    "auth_dev_tokens": False,
}


def test_an_api_on_every_interface_with_dev_tokens_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env |= {
        "OMS_API_HOST": "0.0.0.0",
        "OMS_AUTH_DEV_TOKENS": "true",
        "OMS_API_PORT": "1",  # never reached: it must stop before it listens
        "OMS_DATABASE_URL": f"sqlite:///{tmp_path / 'oms.db'}",
    }
    started = subprocess.run(
        [sys.executable, "-m", "starters.api.app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "refusing to start" in started.stderr
    assert "dev tokens are on" in started.stderr
    assert "public development codec key" in started.stderr
    assert "public carrier webhook secret" in started.stderr


def test_each_public_secret_alone_is_refused_beyond_loopback_and_fine_on_it() -> None:
    with pytest.raises(UnsafeExposure, match="dev tokens"):
        create_app(
            Settings(_env_file=None, api_host="0.0.0.0", **(REAL | {"auth_dev_tokens": True}))
        )
    with pytest.raises(UnsafeExposure, match="codec key"):
        create_app(
            Settings(
                _env_file=None,
                api_host="10.0.0.5",
                **(REAL | {"codec_key_id": "dev-1", "codec_keys": Settings().codec_keys}),
            )
        )
    with pytest.raises(UnsafeExposure, match="webhook secret"):
        create_app(
            Settings(
                _env_file=None,
                api_host="0.0.0.0",
                **(REAL | {"carrier_webhook_secret": "dev-carrier-webhook-secret"}),
            )
        )
    create_app(Settings(_env_file=None, api_host="0.0.0.0", **REAL))
    # The embedded default on loopback: dev tokens on, public secrets fine.
    loopback = Settings(_env_file=None, api_host="127.0.0.1")
    assert loopback.dev_tokens_enabled()
    create_app(loopback)
    # Unset, dev tokens follow the exposure, not only the store.
    assert not Settings(
        _env_file=None, api_host="0.0.0.0", **(REAL | {"auth_dev_tokens": None})
    ).dev_tokens_enabled()


async def test_only_the_apis_own_host_names_are_answered(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(
        temporal_client, migrated_sqlite_url, tmp_path, api_allowed_hosts="oms.example"
    ) as (
        url,
        _,
    ):
        headers = {"Authorization": "Bearer dev-admin"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as admin:
            # DNS rebinding: a page on evil.example resolves its name to 127.0.0.1.
            rebound = await admin.get("/stock", headers={"host": "evil.example"})
            assert rebound.status_code == 400
            assert (await admin.get("/stock")).status_code == 200
            for host in ("localhost", "oms.example"):
                assert (await admin.get("/stock", headers={"host": host})).status_code == 200


async def test_the_health_probes_answer_whatever_the_host(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    """The kubelet probes a pod on its IP address (Host: 10.244.1.7:8000), which no setting
    can list in advance: /health/* answers any Host, every other path still checks it."""
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path, api_allowed_hosts="oms-api") as (
        url,
        _,
    ):
        headers = {"Authorization": "Bearer dev-admin"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
            for host in ("10.244.1.7:8000", "oms-api.oms.svc.cluster.local"):
                for path in ("/health/live", "/health/ready", "/health"):
                    answer = await client.get(path, headers={"host": host})
                    assert answer.status_code == 200, (host, path, answer.text)
                assert (await client.get("/stock", headers={"host": host})).status_code == 400
                # Only the health paths: not a path that merely starts with the same letters.
                healthy = await client.get("/healthz", headers={"host": host})
                assert healthy.status_code == 400
            assert (await client.get("/stock", headers={"host": "oms-api"})).status_code == 200


async def test_http_basic_works_on_the_report_page_only(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    with api_alone(temporal_client, migrated_sqlite_url, tmp_path) as (url, _):
        basic = "Basic " + base64.b64encode(b"ops:dev-admin").decode()
        async with httpx.AsyncClient(
            base_url=url, timeout=30, headers={"Authorization": basic}
        ) as browser:
            page = await browser.get("/reports")
            assert page.status_code == 200, page.text[:300]
            # A form another site posts carries the browser's Basic credentials too.
            posted = await browser.post("/orders", json=order_body("X-1", [("CAP-NVY", 1, "1")]))
            assert posted.status_code == 401
            assert "only for the report page" in posted.json()["detail"]
            stock = await browser.put("/warehouses/WH-STO/stock/CAP-NVY", json={"on_hand": 0})
            assert stock.status_code == 401
            assert (await browser.get("/reports/orders")).status_code == 401
