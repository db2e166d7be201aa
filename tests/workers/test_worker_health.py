"""A worker's health endpoint: live at once, ready only while its workers poll."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from oms.settings import Settings
from oms.store.migrate import upgrade
from workers.health import Health
from workers.main import run_workers

from smtp_fixtures import free_port

pytestmark = pytest.mark.timeout(60)


async def _get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"http://127.0.0.1:{port}{path}")


async def test_ready_follows_the_workers_from_start_to_shutdown(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'oms.db'}"
    upgrade(url)
    port = free_port()
    settings = Settings(
        database_url=url,
        health_bind=f"127.0.0.1:{port}",
        task_queue_prefix="health-",
        low_stock_scan_cron="",
        graceful_shutdown_s=1.0,
    )
    stop = asyncio.Event()
    run = asyncio.create_task(run_workers(settings, ["inventory"], stop, client=dev_server.client))
    try:
        for _ in range(200):
            try:
                ready = await _get(port, "/health/ready")
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
                continue
            if ready.status_code == 200:
                break
            assert ready.json()["status"] == "starting"
            await asyncio.sleep(0.05)
        assert ready.status_code == 200 and ready.json()["queues"] == ["inventory"]
        assert (await _get(port, "/health/live")).json() == {"status": "ok"}
        assert (await _get(port, "/nope")).status_code == 404
    finally:
        stop.set()
        await run
    with pytest.raises(httpx.ConnectError):  # closed with the worker
        await _get(port, "/health/live")


def test_a_stopping_worker_is_not_ready() -> None:
    health = Health(f"127.0.0.1:{free_port()}")
    health.start()
    try:
        health.queues, health.stopping = ["workflows"], True
        response = httpx.get(f"http://127.0.0.1:{health.port}/health/ready")
        assert response.status_code == 503 and response.json()["status"] == "stopping"
    finally:
        health.close()
