"""The benchmark floor's worker: the floor workflows and their no-op activity on ``bench-floor``.

Built with the same settings as the OMS worker (workflow sandbox, cache size,
activity slots, a thread pool for synchronous activities), so the floor and the
order pipeline differ only in what the workflows do. ``oms bench`` runs it as
``python -m devtools.floor.worker``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.worker import Worker

from devtools.floor.activities import FloorActivities
from devtools.floor.workflow import FLOOR_QUEUE, FloorWorkflow, ParkedFloorWorkflow
from oms.client import connect
from oms.settings import Settings
from workflows.sandbox import workflow_runner


async def run_floor_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run the floor queue until ``stop`` is set."""
    client = await connect(settings)
    with ThreadPoolExecutor(max_workers=settings.max_concurrent_activities) as executor:
        worker = Worker(
            client,
            task_queue=settings.queue(FLOOR_QUEUE),
            workflows=[FloorWorkflow, ParkedFloorWorkflow],
            activities=[FloorActivities().noop],
            activity_executor=executor,
            workflow_runner=workflow_runner(),
            max_cached_workflows=settings.max_cached_workflows,
            max_concurrent_activities=settings.max_concurrent_activities,
            graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_s),
        )
        async with worker:
            await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s floor %(levelname)s %(message)s")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_floor_worker(Settings(), stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
