"""A worker SIGKILLed around a renewal: each subscription still places exactly one order
for that period, authorized once, and goes on to the next period."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from oms.store.tables import OrderRow
from sandboxes.payments import LedgerRow
from tests.e2e.test_subscriptions import _body

from stack import running_stack, wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

SUBSCRIPTIONS = 3


async def test_a_worker_killed_around_renewals_places_one_order_per_period(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(
        temporal_client, migrated_sqlite_url, tmp_path, worker_in_process=False
    ) as (
        stack,
        worker,
    ):
        assert worker is not None
        ids = [f"SK{uuid.uuid4().hex[:6].upper()}" for _ in range(SUBSCRIPTIONS)]
        # The first renewal falls a few seconds out, while the worker is being killed.
        start_at = datetime.now(UTC) + timedelta(seconds=4)
        for n, sid in enumerate(ids):
            body = {**_body(sid, f"C-{sid}"), "start_at": start_at.isoformat()}
            created = await stack.as_token(f"dev-buyer-C-{sid}").post("/subscriptions", json=body)
            assert created.status_code == 202, (n, created.text)
        for _ in range(3):
            await asyncio.sleep(1.5)
            worker.kill()
            await asyncio.sleep(0.5)
            worker.start()

        orders = {f"SUB-{sid}-1" for sid in ids}

        def placed() -> dict[str, str]:
            with stack.db.session() as session:
                rows = session.execute(
                    select(OrderRow.order_id, OrderRow.status).where(
                        OrderRow.order_id.like("SUB-SK%")
                    )
                )
                return dict(rows.tuples().all())

        async def every_period_placed() -> bool:
            return orders <= set(placed())

        await wait_until(every_period_placed, 180, "a renewal order was never placed", interval=1.0)
        ours = {o for o in placed() if any(o.startswith(f"SUB-{sid}-") for sid in ids)}
        assert ours == orders  # exactly one order each, for period 1 only

        for sid in ids:
            # The subscription lists its order once the child's start is confirmed, in a task
            # of its own, while the order writes its row itself: the listing can come later.
            async def listed(sid: str = sid) -> dict[str, Any] | None:
                view = dict((await stack.api.get(f"/subscriptions/{sid}")).json())
                return view if view["orders"] else None

            view = await wait_until(listed, 30, f"subscription {sid} never listed its order")
            assert [o["order_id"] for o in view["orders"]] == [f"SUB-{sid}-1"]
            assert view["next_renewal_at"] is not None
            renewal = datetime.fromisoformat(view["next_renewal_at"])
            assert renewal - start_at >= timedelta(days=6, hours=23)
        with stack.payments.session() as session:
            authorizations = session.scalars(
                select(LedgerRow.order_id).where(
                    LedgerRow.kind == "authorize", LedgerRow.order_id.in_(orders)
                )
            ).all()
        assert sorted(authorizations) == sorted(orders)  # one authorization per period
