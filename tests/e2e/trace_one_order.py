"""One order from POST to completed on a real stack, traced to the OTLP endpoint the
environment names (``OTEL_EXPORTER_OTLP_ENDPOINT``). Run by tests/e2e/test_tracing.py in a
process of its own, so the tracer provider it installs stays out of the test session.

    python tests/e2e/trace_one_order.py <temporal address> <database url> <tmp dir>

Prints ``{"order_id": ..., "status": ...}`` once the order is done and its spans flushed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

from oms import telemetry
from oms.client import connect
from oms.settings import Settings

from stack import order_body, running_stack


async def main(address: str, database_url: str, tmp: Path) -> None:
    assert telemetry.configure("oms"), "no OTLP endpoint in the environment"
    client = await connect(Settings(temporal_address=address))
    async with running_stack(client, database_url, tmp) as (stack, _):
        order_id = f"TRACE-{uuid.uuid4().hex[:8].upper()}"
        response = await stack.place(order_body(order_id, [("SOCKS-3PK", 1, "149.00")]))
        assert response.status_code == 202, response.text
        order = await stack.fulfil(order_id)
    assert telemetry.flush(), "spans were not exported"
    print(json.dumps({"order_id": order_id, "status": order["status"]}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
