"""Simulated warehouse for ``OMS_SIMULATE=1``: picks and packs every shipment on the pick list.

It works through the public HTTP API exactly as a warehouse's scanner app
would, after ``OMS_SIMULATE_DELAY_S`` seconds per step, so a newcomer sees
orders flow to ``completed`` without touching anything. The sandbox carrier
simulates the tracking side.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from datetime import UTC, datetime
from typing import Any

import httpx

from activities.adapters.tls import client_context
from oms.settings import Settings, load_settings

log = logging.getLogger("oms.simulator")
POLL_S = 0.5
GRAMS_PER_UNIT = 500
MAX_PARCEL_GRAMS = 20_000
# Packers working at once: enough to keep up with a burst, few enough not to flood the API.
CONCURRENCY = 16


def packages_for(units: int) -> list[dict[str, int]]:
    """Parcels of at most 20 kg, as a packer would fill them."""
    grams = max(units * GRAMS_PER_UNIT, 1)
    full, rest = divmod(grams, MAX_PARCEL_GRAMS)
    weights = [MAX_PARCEL_GRAMS] * full + ([rest] if rest else [])
    return [{"weight_grams": w} for w in weights]


class Warehouse:
    """Packers working the pick list: each due shipment gets a packer of its own (at most
    ``concurrency`` at once), and the list is read again without waiting for the slowest.

    With ``delay_s`` 0 a shipment is picked and packed in one go, otherwise its pack
    waits ``delay_s`` after the pick. With ``warehouses`` given, only shipments from
    those warehouses are worked on.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        delay_s: float,
        warehouses: frozenset[str] = frozenset(),
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.client = client
        self.delay_s = delay_s
        self.warehouses = warehouses
        self._packers = asyncio.Semaphore(concurrency)
        self._working: dict[str, asyncio.Task[int]] = {}

    async def _pick_list(self) -> list[dict[str, Any]]:
        """Every shipment waiting to be picked, page after page (the API pages every list)."""
        shipments: list[dict[str, Any]] = []
        query: dict[str, Any] = {"status": "picking", "limit": 500}
        while True:
            response = await self.client.get("/shipments", params=query)
            _loud_if_refused(response)
            response.raise_for_status()
            page = response.json()
            shipments += page["items"]
            if not page["next_cursor"]:
                return shipments
            query["cursor"] = page["next_cursor"]

    async def poll(self) -> list[asyncio.Task[int]]:
        """Read the pick list and set a packer on every due shipment nobody works on yet;
        returns the new packers' tasks. Raises ``httpx.HTTPError`` when the list fails."""
        now = datetime.now(UTC)
        started = []
        for shipment in await self._pick_list():
            sid = shipment["shipment_id"]
            if sid in self._working:
                continue
            if self.warehouses and shipment["warehouse_id"] not in self.warehouses:
                continue
            if (
                now - datetime.fromisoformat(shipment["updated_at"])
            ).total_seconds() < self.delay_s:
                continue
            task = asyncio.create_task(self._work(shipment))
            self._working[sid] = task
            task.add_done_callback(functools.partial(self._done, sid))
            started.append(task)
        return started

    def _done(self, sid: str, _task: asyncio.Task[int]) -> None:
        self._working.pop(sid, None)

    async def close(self) -> None:
        """Stop every packer still at work."""
        for task in list(self._working.values()):
            task.cancel()
        await asyncio.gather(*self._working.values(), return_exceptions=True)

    async def _work(self, shipment: dict[str, Any]) -> int:
        async with self._packers:
            try:
                return await _advance(self.client, shipment, pack_now=self.delay_s <= 0)
            except httpx.HTTPError as err:
                # A call that timed out (the worker died with its task) is tried on a later poll.
                log.warning("simulator: %s on %s", err.__class__.__name__, shipment["shipment_id"])
                return 0


async def step(
    client: httpx.AsyncClient,
    delay_s: float,
    warehouses: frozenset[str] = frozenset(),
    concurrency: int = CONCURRENCY,
) -> int:
    """One pass of a ``Warehouse`` over the pick list, waited for; returns how many picks
    and packs were accepted."""
    warehouse = Warehouse(client, delay_s, warehouses, concurrency)
    return sum(await asyncio.gather(*await warehouse.poll()))


async def _advance(client: httpx.AsyncClient, shipment: dict[str, Any], *, pack_now: bool) -> int:
    """Pick ``shipment`` if it is not picked yet, then pack it if it was or ``pack_now``."""
    sid = shipment["shipment_id"]
    done = 0
    if shipment.get("picked_by") is None:
        if not _accepted(await client.post(f"/shipments/{sid}/pick", json={}), sid):
            return 0
        done += 1
        if not pack_now:
            return done
    units = sum(line["quantity"] for line in shipment["lines"])
    packed = await client.post(f"/shipments/{sid}/pack", json={"packages": packages_for(units)})
    return done + _accepted(packed, sid)


def _loud_if_refused(response: httpx.Response) -> None:
    """An error in the log when the API refuses the simulator's token: otherwise every
    order would wait at ``picking`` with nothing saying why."""
    if response.status_code in (401, 403):
        log.error(
            "simulator: the API answered %s to %s %s: the simulated warehouse cannot pick or"
            " pack. Give it a warehouse token (OMS_SIMULATOR_TOKEN; make run provisions one,"
            " or: oms token create --role warehouse). %s",
            response.status_code,
            response.request.method,
            response.request.url.path,
            response.text[:200],
        )


def _accepted(result: httpx.Response, sid: str) -> bool:
    _loud_if_refused(result)
    if result.status_code < 300:
        return True
    if result.status_code == 409:  # someone else got there first, or not ready yet: next pass
        log.info("simulator: 409 on %s: %s", sid, result.text[:200])
    elif result.status_code not in (401, 403):
        log.warning("simulator: %s on %s: %s", result.status_code, sid, result.text[:300])
    return False


async def run(settings: Settings, stop: asyncio.Event) -> None:
    warehouses = frozenset(w.strip() for w in settings.simulate_warehouses.split(",") if w.strip())
    # The simulated warehouse acts as a warehouse user, not as the operator running it.
    headers = {"Authorization": f"Bearer {settings.simulator_token}"}
    async with httpx.AsyncClient(
        base_url=settings.api_url, timeout=30, headers=headers, verify=client_context()
    ) as client:
        warehouse = Warehouse(client, settings.simulate_delay_s, warehouses)
        unreachable = False  # in a streak of failed polls: warned once, quiet until it ends
        try:
            while not stop.is_set():
                try:
                    await warehouse.poll()
                except httpx.HTTPError as err:
                    # Loud: a wrong OMS_API_URL (or port) otherwise leaves every order at
                    # picking with nothing in the log to say why.
                    if not unreachable:
                        log.warning(
                            "simulator: cannot reach the OMS API at %s (%s); nothing is "
                            "picked until it answers (check OMS_API_URL / OMS_API_PORT)",
                            settings.api_url,
                            str(err) or type(err).__name__,
                        )
                    unreachable = True
                else:
                    if unreachable:
                        log.info("simulator: the OMS API at %s answers again", settings.api_url)
                    unreachable = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=POLL_S)
        finally:
            await warehouse.close()


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
        await run(load_settings(), stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
