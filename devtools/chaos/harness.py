"""Runs one scenario: its own store and stack, the fault, then the audit.

A scenario is a coroutine given a ``Run`` (the stack, the workload, the result
to fill in); the harness starts what it needs, counts every effect afterwards
and always stops every process, whatever the scenario raised.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devtools.chaos.audit import Auditor, StockKey, stock_snapshot
from devtools.chaos.databases import PostgresDatabase
from devtools.chaos.report import ScenarioResult
from devtools.chaos.stack import ChaosStack
from devtools.chaos.workload import Workload
from sandboxes.payments import ledger_database, ledger_url

SETTLE_S = 30.0


@dataclass
class Run:
    """What a scenario gets to work with."""

    stack: ChaosStack
    work: Workload
    result: ScenarioResult
    orders: int


Body = Callable[[Run], Awaitable[None]]


async def run_scenario(
    name: str,
    fault: str,
    body: Body,
    *,
    orders: int,
    tmp: Path,
    postgres_url: str | None,
    worker_database_url: Callable[[str], Awaitable[str]] | None = None,
    **overrides: Any,
) -> ScenarioResult:
    """Start a stack for ``name`` (on PostgreSQL when ``postgres_url`` is given, else
    SQLite), run ``body`` in it, audit, stop. Never raises: a failure is in the result."""
    started = time.monotonic()
    result = ScenarioResult(scenario=name, fault=fault)
    pg = PostgresDatabase(postgres_url) if postgres_url else None
    stack: ChaosStack | None = None
    try:
        url = await asyncio.to_thread(pg.create) if pg else f"sqlite:///{tmp / 'oms.db'}"
        worker_url = await worker_database_url(url) if worker_database_url else None
        stack = ChaosStack(tmp, url, worker_database_url=worker_url, **overrides)
        await asyncio.to_thread(stack.start)
        before = await asyncio.to_thread(stock_snapshot, stack.db)
        async with httpx.AsyncClient(
            base_url=stack.settings.api_url,
            timeout=60,
            headers={"Authorization": f"Bearer {stack.settings.token}"},
        ) as api:
            work = Workload(
                api,
                stack.db,
                stack.settings.carrier_url,
                _prefix(name),
                webhook_secret=stack.settings.carrier_webhook_secret,
            )
            try:
                await body(Run(stack, work, result, orders))
            finally:
                await _audit(stack, work, result, before)
    except Exception as err:  # a scenario that blew up is a FAIL with the reason, not a crash
        result.error = f"{type(err).__name__}: {err}"
        result.notes.append(traceback.format_exc(limit=3).strip().splitlines()[-1])
    finally:
        if stack is not None:
            await asyncio.to_thread(stack.stop)
            result.figures["worker_kills"] = stack.worker_kills
            result.figures["temporal_restarts"] = stack.temporal_restarts
        if pg is not None:
            await asyncio.to_thread(pg.drop)
        result.wall_s = round(time.monotonic() - started, 1)
    return result


async def _audit(
    stack: ChaosStack, work: Workload, result: ScenarioResult, before: dict[StockKey, int]
) -> None:
    payments = ledger_database(ledger_url(stack.settings))
    auditor = Auditor(
        stack.db, payments, Path(stack.settings.carrier_db_path), Path(stack.settings.mail_dir)
    )
    statuses = await asyncio.to_thread(work.statuses, work.placed)
    result.orders_placed = len(work.placed)
    result.orders_completed = sum(1 for s in statuses.values() if s == "completed")
    # The last emails of a completed order go out just after its status changes: give the
    # effects a moment to land before counting anything missing.
    deadline = time.monotonic() + SETTLE_S
    while True:
        result.effects = await asyncio.to_thread(auditor.effects, work.lines, work.returned_lines)
        if result.missing == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    result.ledger = await asyncio.to_thread(auditor.ledger, before)
    captured, refunded = await asyncio.to_thread(auditor.captured_and_refunded, work.placed)
    result.figures["captured"] = str(captured)
    result.figures["refunded"] = str(refunded)
    result.checks["refunded never more than captured"] = refunded <= captured
    if work.redelivered:
        result.figures["tracking_redelivered"] = work.redelivered
    if work.rejected:
        result.notes.append(
            f"{len(work.rejected)} requests refused, e.g. {next(iter(work.rejected.items()))}"
        )
    lost = sorted(set(work.placed) - {o for o, s in statuses.items() if s == "completed"})
    if lost:
        result.notes.append(
            f"not completed: {', '.join(f'{o} ({statuses.get(o)})' for o in lost[:5])}"
        )


def _prefix(name: str) -> str:
    return f"CH{name[:3].upper()}-{uuid.uuid4().hex[:5].upper()}"
