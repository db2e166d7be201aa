"""The sandbox carrier: a small HTTP service standing in for a real parcel carrier.

It has its own REST API (rates, labels, return labels, voids, tracking), its own SQLite label
store (so labels survive a restart, one per ``Idempotency-Key``), injected
latency and failures (503, 429 with ``Retry-After``) that can be changed at
runtime through ``PUT /v1/sandbox/config``, and a delivery simulation that
posts tracking events to the OMS webhook, either on a timer (``simulate``) or
one at a time through ``POST /v1/sandbox/advance/{tracking_number}``.

Run it with ``python -m sandboxes.carrier`` or ``oms carrier``
(settings from ``OMS_*``), ``run(settings)``, or ``create_app(config)`` under
any ASGI server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import random
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from activities.adapters.tls import client_context
from oms.domain.auth import event_headers
from oms.domain.shipping import address_problems, crosses_customs_border, zone
from oms.models.common import Address
from oms.models.customs import CustomsDeclaration
from oms.models.shipments import Package
from oms.settings import Settings, load_settings

log = logging.getLogger(__name__)

CARRIER = "sandbox"
CURRENCY = "SEK"
# The journey of a parcel after its label is bought, in order.
JOURNEY = (
    ("in_transit", "Parcel received at the sandbox terminal"),
    ("out_for_delivery", "Parcel is out for delivery"),
    ("delivered", "Parcel delivered"),
)
# service: (base price, price per started kg, speed, transit days by band). A band is a
# zone of oms.domain.shipping.zone, or "local" (domestic, same postcode area).
SERVICES: dict[str, tuple[Decimal, Decimal, str, dict[str, int]]] = {
    "economy": (
        Decimal(39),
        Decimal(6),
        "standard",
        {"local": 5, "domestic": 5, "nordic": 5, "eu": 7, "europe": 8, "world": 12},
    ),
    "standard": (
        Decimal(59),
        Decimal(9),
        "standard",
        {"local": 2, "domestic": 2, "nordic": 3, "eu": 4, "europe": 5, "world": 7},
    ),
    "express": (
        Decimal(129),
        Decimal(15),
        "express",
        {"local": 1, "domestic": 1, "nordic": 1, "eu": 2, "europe": 2, "world": 3},
    ),
}
BAND_FACTOR = {
    "local": Decimal("1.0"),
    "domestic": Decimal("1.3"),
    "nordic": Decimal("1.8"),
    "eu": Decimal("2.4"),
    "europe": Decimal("2.8"),
    "world": Decimal("4.5"),
}
WEBHOOK_ATTEMPTS = 5
RETURN_PREFIX = "SBR"


class SandboxConfig(BaseModel):
    """How the sandbox carrier behaves; every field but ``db_path`` can change at runtime."""

    latency_ms: int = Field(default=0, ge=0)
    failure_rate_503: float = Field(default=0.0, ge=0.0, le=1.0)
    failure_rate_429: float = Field(default=0.0, ge=0.0, le=1.0)
    retry_after_s: int = Field(default=1, ge=0)
    # A flaky carrier, not a down one: the same request (method, path, Idempotency-Key)
    # is failed at most this many times in a row, so a retrying caller waits seconds, not
    # the minutes a long unlucky streak under exponential backoff costs (0: no limit). A
    # failure rate of 1 (503 and 429 together) is a carrier that is down: no limit either.
    max_failures_in_a_row: int = Field(default=3, ge=0)
    simulate: bool = False
    simulate_delay_s: float = Field(default=2.0, ge=0.0)
    webhook_url: str = "http://127.0.0.1:8000/carrier/events"
    # A failed webhook post is retried after this, doubling each time (capped at 5 s).
    webhook_backoff_s: float = Field(default=0.2, ge=0.0)
    # Every webhook body is signed with this (HMAC SHA-256), as a real carrier does.
    webhook_secret: str = "dev-carrier-webhook-secret"
    db_path: str = "var/carrier.db"
    seed: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxConfig:
        return cls(
            latency_ms=settings.carrier_latency_ms,
            failure_rate_503=settings.carrier_failure_rate_503,
            failure_rate_429=settings.carrier_failure_rate_429,
            simulate=settings.simulate,
            simulate_delay_s=settings.simulate_delay_s,
            webhook_url=settings.api_url.rstrip("/") + "/carrier/events",
            webhook_secret=settings.carrier_webhook_secret,
            db_path=settings.carrier_db_path,
        )


class SandboxConfigPatch(BaseModel):
    """Body of ``PUT /v1/sandbox/config``: only the fields given change."""

    latency_ms: int | None = Field(default=None, ge=0)
    failure_rate_503: float | None = Field(default=None, ge=0.0, le=1.0)
    failure_rate_429: float | None = Field(default=None, ge=0.0, le=1.0)
    retry_after_s: int | None = Field(default=None, ge=0)
    max_failures_in_a_row: int | None = Field(default=None, ge=0)
    simulate: bool | None = None
    simulate_delay_s: float | None = Field(default=None, ge=0.0)
    webhook_url: str | None = None
    webhook_backoff_s: float | None = Field(default=None, ge=0.0)


class RatesBody(BaseModel):
    ship_from: Address
    ship_to: Address
    packages: list[Package] = Field(min_length=1)


class LabelBody(RatesBody):
    shipment_id: str = Field(min_length=1, max_length=80)
    service: str
    # Required for a parcel that crosses a customs border (a real carrier's electronic
    # customs data); the sandbox checks it declares the parcel's destination. Left out of
    # the request's hash when absent, so labels bought before it existed keep their key.
    customs: CustomsDeclaration | None = Field(default=None, exclude_if=lambda v: v is None)


class ReturnLabelBody(BaseModel):
    """Body of ``POST /v1/return-labels``: a prepaid label from the customer to a warehouse."""

    rma_id: str = Field(min_length=1, max_length=80)
    ship_from: Address
    ship_to: Address
    packages: list[Package] = Field(min_length=1)
    service: str = "standard"


def address_problem(address: Address, *, customs: bool = False) -> str | None:
    """Why the carrier cannot serve ``address``, or None when it can (``customs``: the
    parcel crosses a customs border, so the receiver's phone is needed too)."""
    problems = address_problems(address, customs=customs)
    if not problems:
        return None
    # Only rules, never the values: the reason travels in clear (Temporal failures, /ops/stuck).
    return "; ".join(reason for _field, reason in problems)


def customs_problem(body: LabelBody) -> str | None:
    """Why the label's customs data does not do, or None (also when none is needed)."""
    if not crosses_customs_border(body.ship_from.country, body.ship_to.country):
        return None
    if body.customs is None:
        return (
            f"a parcel from {body.ship_from.country} to {body.ship_to.country} "
            "needs customs data (items with HS codes, origin and value)"
        )
    if body.customs.import_country != body.ship_to.country:
        return "the customs data declares another destination country"
    return None


def distance_band(ship_from: Address, ship_to: Address) -> str:
    band = zone(ship_from.country, ship_to.country)
    if band == "domestic" and ship_from.postal_code.strip()[:2] == ship_to.postal_code.strip()[:2]:
        return "local"
    return band


def price_of(service: str, band: str, packages: list[Package]) -> Decimal:
    base, per_kg, _speed, _days = SERVICES[service]
    kilos = sum(math.ceil(p.weight_grams / 1000) for p in packages)
    total = (base * len(packages) + per_kg * kilos) * BAND_FACTOR[band]
    return total.quantize(Decimal("0.01"))


def quote(body: RatesBody) -> list[dict[str, Any]]:
    band = distance_band(body.ship_from, body.ship_to)
    return [
        {
            "carrier": CARRIER,
            "service": service,
            "price": str(price_of(service, band, body.packages)),
            "currency": CURRENCY,
            "transit_days": days[band],
            "speed": speed,
        }
        for service, (_base, _per_kg, speed, days) in SERVICES.items()
    ]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class LabelStore:
    """The carrier's own ledger of labels and scans, in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # executescript() commits on its own, so the schema is made outside _tx().
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS labels (
                    label_id TEXT PRIMARY KEY,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    request_hash TEXT NOT NULL,
                    shipment_id TEXT NOT NULL,
                    service TEXT NOT NULL,
                    tracking_number TEXT NOT NULL UNIQUE,
                    price TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    voided INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS tracking_events (
                    tracking_number TEXT NOT NULL REFERENCES labels (tracking_number),
                    seq INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    at TEXT NOT NULL,
                    description TEXT NOT NULL,
                    PRIMARY KEY (tracking_number, seq)
                );
                """
            )

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def create_label(
        self,
        key: str,
        request_hash: str,
        body: LabelBody | ReturnLabelBody,
        price: Decimal,
    ) -> tuple[dict[str, Any], bool]:
        """Insert a label for ``key``; return it and whether it is new (else the stored one).

        Return labels get tracking numbers starting ``SBR``: the sandbox never
        simulates their journey (no shipment of the OMS follows them).
        """
        is_return = isinstance(body, ReturnLabelBody)
        row = {
            "label_id": f"{'rlb' if is_return else 'lbl'}_{uuid.uuid4().hex[:20]}",
            "idempotency_key": key,
            "request_hash": request_hash,
            "shipment_id": body.rma_id if isinstance(body, ReturnLabelBody) else body.shipment_id,
            "service": body.service,
            "tracking_number": f"{RETURN_PREFIX if is_return else 'SBX'}"
            f"{uuid.uuid4().int % 10**12:012d}",
            "price": str(price),
            "currency": CURRENCY,
            "created_at": _now(),
        }
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO labels (label_id, idempotency_key, request_hash, shipment_id,"
                    " service, tracking_number, price, currency, created_at) VALUES (:label_id,"
                    " :idempotency_key, :request_hash, :shipment_id, :service, :tracking_number,"
                    " :price, :currency, :created_at)",
                    row,
                )
        except sqlite3.IntegrityError:
            existing = self._one("SELECT * FROM labels WHERE idempotency_key = ?", key)
            if existing is None:  # the collision was not on the key: a retry is safe
                raise
            return existing, False
        return {**row, "voided": 0}, True

    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        with self._tx() as conn:
            found = conn.execute(sql, args).fetchone()
        return dict(found) if found else None

    def label(self, label_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM labels WHERE label_id = ?", label_id)

    def label_by_tracking(self, tracking_number: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM labels WHERE tracking_number = ?", tracking_number)

    def void(self, label_id: str) -> str:
        """Void a label: "voided", "scanned" (too late: the parcel is moving) or "unknown"."""
        with self._tx() as conn:
            found = conn.execute(
                "SELECT tracking_number FROM labels WHERE label_id = ?", (label_id,)
            ).fetchone()
            if found is None:
                return "unknown"
            scans = conn.execute(
                "SELECT count(*) FROM tracking_events WHERE tracking_number = ?", (found[0],)
            ).fetchone()[0]
            if scans:
                return "scanned"
            conn.execute("UPDATE labels SET voided = 1 WHERE label_id = ?", (label_id,))
            return "voided"

    def events(self, tracking_number: str) -> list[dict[str, Any]]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT tracking_number, status, at, description FROM tracking_events"
                " WHERE tracking_number = ? ORDER BY seq",
                (tracking_number,),
            ).fetchall()
        return [dict(r) for r in rows]

    def scan_next(self, tracking_number: str) -> dict[str, Any] | None:
        """Record the parcel's next event; None when voided, delivered or unknown."""
        with self._tx() as conn:
            label = conn.execute(
                "SELECT voided FROM labels WHERE tracking_number = ?", (tracking_number,)
            ).fetchone()
            if label is None or label[0]:
                return None
            seq = conn.execute(
                "SELECT count(*) FROM tracking_events WHERE tracking_number = ?",
                (tracking_number,),
            ).fetchone()[0]
            if seq >= len(JOURNEY):
                return None
            status, description = JOURNEY[seq]
            event = {
                "tracking_number": tracking_number,
                "status": status,
                "at": _now(),
                "description": description,
            }
            conn.execute(
                "INSERT INTO tracking_events (tracking_number, seq, status, at, description)"
                " VALUES (:tracking_number, :seq, :status, :at, :description)",
                {**event, "seq": seq},
            )
            return event

    def unfinished(self) -> list[str]:
        """Tracking numbers of live labels whose parcel is not delivered yet."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT l.tracking_number FROM labels l WHERE l.voided = 0"
                " AND l.tracking_number NOT LIKE ? AND (SELECT count(*)"
                " FROM tracking_events e WHERE e.tracking_number = l.tracking_number) < ?",
                (f"{RETURN_PREFIX}%", len(JOURNEY)),
            ).fetchall()
        return [r[0] for r in rows]


def _label_json(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("label_id", "tracking_number", "service", "price", "currency")
    return {"carrier": CARRIER, **{k: row[k] for k in keys}}


def _error(status: int, error: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


class Sandbox:
    """State of one running sandbox carrier: config, label store, webhook poster, simulations."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = LabelStore(config.db_path)
        self.rng = random.Random(config.seed)
        # Failures injected in a row, per request (see ``max_failures_in_a_row``).
        self.streaks: dict[tuple[str, str, str], int] = {}
        self.http: httpx.AsyncClient | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def simulate(self, tracking_number: str) -> None:
        task = asyncio.create_task(self._simulate(tracking_number))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _simulate(self, tracking_number: str) -> None:
        while self.config.simulate:
            await asyncio.sleep(self.config.simulate_delay_s)
            event = await asyncio.to_thread(self.store.scan_next, tracking_number)
            if event is None:
                return
            await self.post_event(event)

    async def post_event(self, event: dict[str, Any]) -> bool:
        """Post ``event`` to the OMS webhook, retrying a few times; True once it is accepted."""
        assert self.http is not None, "the app's lifespan has not started"
        body = json.dumps(event).encode()
        # One id per event, the same on every retry: the OMS applies it once.
        message_id = f"{event['tracking_number']}:{event['status']}:{event.get('at', '')}"
        for attempt in range(WEBHOOK_ATTEMPTS):
            # Signed afresh for each attempt: the timestamp must be recent when it arrives.
            headers = {"content-type": "application/json"} | event_headers(
                self.config.webhook_secret, body, message_id, datetime.now(UTC)
            )
            try:
                response = await self.http.post(
                    self.config.webhook_url, content=body, headers=headers
                )
                if response.is_success:
                    return True
                log.warning("webhook answered %s for %s", response.status_code, event)
            except httpx.HTTPError as exc:
                log.warning("webhook failed for %s: %r", event, exc)
            if attempt + 1 < WEBHOOK_ATTEMPTS:
                await asyncio.sleep(min(self.config.webhook_backoff_s * 2**attempt, 5.0))
        return False

    def injected_failure(self, request: tuple[str, str, str]) -> JSONResponse | None:
        """A failure to answer ``request`` (method, path, Idempotency-Key) with, at the
        configured rates, or None; never more than ``max_failures_in_a_row`` in a row."""
        roll = self.rng.random()
        limit = self.config.max_failures_in_a_row
        streak = self.streaks.pop(request, 0)
        rate = self.config.failure_rate_503 + self.config.failure_rate_429
        if limit and streak >= limit and rate < 1.0:  # a rate of 1 is a carrier that is down
            return None
        failure = None
        if roll < self.config.failure_rate_503:
            failure = _error(503, "unavailable", "sandbox carrier injected 503")
        elif roll < self.config.failure_rate_503 + self.config.failure_rate_429:
            failure = _error(
                429,
                "rate_limited",
                "sandbox carrier injected 429",
                **{"Retry-After": str(self.config.retry_after_s)},
            )
        if failure is not None:
            self.streaks[request] = streak + 1
        return failure


def create_app(config: SandboxConfig) -> FastAPI:
    """Build the sandbox carrier's ASGI app (its label store opens here, not at import)."""
    sandbox = Sandbox(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=5.0, verify=client_context()) as http:
            sandbox.http = http
            if sandbox.config.simulate:
                for tracking_number in await asyncio.to_thread(sandbox.store.unfinished):
                    sandbox.simulate(tracking_number)
            try:
                yield
            finally:
                for task in list(sandbox.tasks):
                    task.cancel()
                await asyncio.gather(*sandbox.tasks, return_exceptions=True)

    app = FastAPI(title="Sandbox carrier", lifespan=lifespan)
    app.state.sandbox = sandbox

    @app.middleware("http")
    async def chaos(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith("/v1/") or request.url.path.startswith("/v1/sandbox/"):
            return await call_next(request)
        if sandbox.config.latency_ms:
            await asyncio.sleep(sandbox.config.latency_ms / 1000)
        key = (request.method, request.url.path, request.headers.get("Idempotency-Key", ""))
        failure = sandbox.injected_failure(key)
        return failure or await call_next(request)

    @app.post("/v1/rates")
    async def rates(body: RatesBody) -> Response:
        for address in (body.ship_from, body.ship_to):
            if problem := address_problem(address):
                return _error(422, "invalid_address", problem)
        return JSONResponse({"rates": quote(body)})

    @app.post("/v1/labels")
    async def buy_label(
        body: LabelBody,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        if not idempotency_key:
            return _error(400, "missing_idempotency_key", "send an Idempotency-Key header")
        through_customs = crosses_customs_border(body.ship_from.country, body.ship_to.country)
        # The receiver's phone, for customs brokers; the sender is the carrier's customer.
        problem = address_problem(body.ship_from) or address_problem(
            body.ship_to, customs=through_customs
        )
        if problem:
            return _error(422, "invalid_address", problem)
        if body.service not in SERVICES:
            return _error(422, "unknown_service", f"services: {sorted(SERVICES)}")
        if problem := customs_problem(body):
            return _error(422, "customs_data_required", problem)
        canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        request_hash = hashlib.sha256(canonical.encode()).hexdigest()
        price = price_of(body.service, distance_band(body.ship_from, body.ship_to), body.packages)
        row, created = await asyncio.to_thread(
            sandbox.store.create_label, idempotency_key, request_hash, body, price
        )
        if not created:
            if row["request_hash"] != request_hash:
                return _error(409, "idempotency_key_reused", "key was used for another label")
            return JSONResponse(_label_json(row), status_code=200)
        if sandbox.config.simulate:
            sandbox.simulate(row["tracking_number"])
        return JSONResponse(_label_json(row), status_code=201)

    @app.post("/v1/return-labels")
    async def buy_return_label(
        body: ReturnLabelBody,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        """A prepaid return label; like labels, one per ``Idempotency-Key``."""
        if not idempotency_key:
            return _error(400, "missing_idempotency_key", "send an Idempotency-Key header")
        for address in (body.ship_from, body.ship_to):
            if problem := address_problem(address):
                return _error(422, "invalid_address", problem)
        if body.service not in SERVICES:
            return _error(422, "unknown_service", f"services: {sorted(SERVICES)}")
        canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        request_hash = hashlib.sha256(canonical.encode()).hexdigest()
        price = price_of(body.service, distance_band(body.ship_from, body.ship_to), body.packages)
        row, created = await asyncio.to_thread(
            sandbox.store.create_label, idempotency_key, request_hash, body, price
        )
        if not created and row["request_hash"] != request_hash:
            return _error(409, "idempotency_key_reused", "key was used for another label")
        return JSONResponse(_label_json(row), status_code=201 if created else 200)

    @app.post("/v1/labels/{label_id}/void")
    async def void_label(label_id: str) -> Response:
        outcome = await asyncio.to_thread(sandbox.store.void, label_id)
        if outcome == "unknown":
            return _error(404, "unknown_label", f"no label {label_id}")
        if outcome == "scanned":
            return _error(409, "already_scanned", "the parcel has been scanned; too late to void")
        return JSONResponse({"label_id": label_id, "voided": True})

    @app.get("/v1/tracking/{tracking_number}")
    async def tracking(tracking_number: str) -> Response:
        label = await asyncio.to_thread(sandbox.store.label_by_tracking, tracking_number)
        if label is None:
            return _error(404, "unknown_tracking_number", tracking_number)
        events = await asyncio.to_thread(sandbox.store.events, tracking_number)
        status = "voided" if label["voided"] else events[-1]["status"] if events else "created"
        return JSONResponse(
            {"tracking_number": tracking_number, "status": status, "events": events}
        )

    @app.get("/v1/sandbox/config")
    async def get_config() -> SandboxConfig:
        return sandbox.config

    @app.put("/v1/sandbox/config")
    async def put_config(patch: SandboxConfigPatch) -> SandboxConfig:
        sandbox.config = sandbox.config.model_copy(update=patch.model_dump(exclude_unset=True))
        return sandbox.config

    @app.post("/v1/sandbox/advance/{tracking_number}")
    async def advance(tracking_number: str) -> Response:
        """Scan the parcel's next event now and post it to the webhook (waits for the post)."""
        if await asyncio.to_thread(sandbox.store.label_by_tracking, tracking_number) is None:
            return _error(404, "unknown_tracking_number", tracking_number)
        event = await asyncio.to_thread(sandbox.store.scan_next, tracking_number)
        if event is None:
            return _error(409, "no_next_event", "the parcel is delivered or its label voided")
        delivered = await sandbox.post_event(event)
        return JSONResponse({"event": event, "webhook_delivered": delivered})

    return app


def build_server(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 8100
) -> uvicorn.Server:
    """A uvicorn server for the sandbox carrier; ``await server.serve()`` runs it in a loop."""
    return uvicorn.Server(
        uvicorn.Config(create_app(config), host=host, port=port, log_level="warning")
    )


def run(settings: Settings) -> None:
    """Run the sandbox carrier in the foreground on ``carrier_host:carrier_port``."""
    config = SandboxConfig.from_settings(settings)
    build_server(config, settings.carrier_host, settings.carrier_port).run()


def main() -> None:
    """Entry point of ``python -m sandboxes.carrier`` and ``oms carrier``.

    Configured by ``OMS_*`` settings only: ``OMS_CARRIER_HOST``/``OMS_CARRIER_PORT``,
    ``OMS_CARRIER_DB_PATH``, ``OMS_CARRIER_LATENCY_MS``, ``OMS_CARRIER_FAILURE_RATE_503``/``_429``,
    ``OMS_SIMULATE``, ``OMS_SIMULATE_DELAY_S`` and ``OMS_API_URL`` (webhook target).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s carrier %(levelname)s %(message)s")
    run(load_settings())


if __name__ == "__main__":
    main()
