"""Simulated warehouse for ``OMS_SIMULATE=1``: picks and packs every shipment on the pick list.

It works through the public HTTP API exactly as a warehouse's scanner app
would, after ``OMS_SIMULATE_DELAY_S`` seconds per step, so a newcomer sees
orders flow to ``completed`` without touching anything. The sandbox carrier
simulates the tracking side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime

import httpx

from oms.settings import Settings

log = logging.getLogger("oms.simulator")
POLL_S = 0.5
GRAMS_PER_UNIT = 500
MAX_PARCEL_GRAMS = 20_000


def packages_for(units: int) -> list[dict[str, int]]:
    """Parcels of at most 20 kg, as a packer would fill them."""
    grams = max(units * GRAMS_PER_UNIT, 1)
    full, rest = divmod(grams, MAX_PARCEL_GRAMS)
    weights = [MAX_PARCEL_GRAMS] * full + ([rest] if rest else [])
    return [{"weight_grams": w} for w in weights]


async def step(
    client: httpx.AsyncClient, delay_s: float, warehouses: frozenset[str] = frozenset()
) -> int:
    """Advance every shipment whose last change is older than ``delay_s``; returns how many.

    With ``warehouses`` given, only shipments from those warehouses are worked on.
    """
    response = await client.get("/shipments", params={"status": "picking"})
    response.raise_for_status()
    now = datetime.now(UTC)
    advanced = 0
    for shipment in response.json():
        if warehouses and shipment["warehouse_id"] not in warehouses:
            continue
        updated = datetime.fromisoformat(shipment["updated_at"])
        if (now - updated).total_seconds() < delay_s:
            continue
        sid = shipment["shipment_id"]
        if shipment.get("picked_by") is None:
            result = await client.post(f"/shipments/{sid}/pick", json={"picked_by": "simulator"})
        else:
            units = sum(line["quantity"] for line in shipment["lines"])
            result = await client.post(
                f"/shipments/{sid}/pack",
                json={"packages": packages_for(units), "packed_by": "simulator"},
            )
        if result.status_code < 300:
            advanced += 1
        elif result.status_code != 409:  # 409: someone else got there first
            log.warning("simulator: %s on %s: %s", result.status_code, sid, result.text)
    return advanced


async def run(settings: Settings, stop: asyncio.Event) -> None:
    warehouses = frozenset(w.strip() for w in settings.simulate_warehouses.split(",") if w.strip())
    # The simulated warehouse acts as a warehouse user, not as the operator running it.
    headers = {"Authorization": f"Bearer {settings.simulator_token}"}
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=30, headers=headers) as client:
        while not stop.is_set():
            try:
                await step(client, settings.simulate_delay_s, warehouses)
            except httpx.HTTPError as err:
                log.debug("simulator: API not reachable yet: %s", err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_S)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s simulator %(levelname)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll drowns the log

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(Settings(), stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
