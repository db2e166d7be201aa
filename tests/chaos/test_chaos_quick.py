"""The fault suite, small (``make chaos`` runs it full-size): each scenario must PASS.

Each test runs the same scenario code as ``oms chaos --quick``: its own Temporal
dev server, worker, API, carrier, SMTP sink and simulated warehouse, one fault,
then every effect counted per business key and the stock ledger checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.chaos.run import run_one

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]


async def test_a_flaky_carrier_still_ships_every_order_with_one_label_each(tmp_path: Path) -> None:
    result = await run_one("carrier-flaky", tmp_path, postgres_url=None, quick=True)
    assert result.passed, result.render()
    assert result.effects["labels"].expected == result.effects["labels"].counted > 0


async def test_an_order_the_carrier_fails_is_listed_stuck_then_completes_after_a_retry(
    tmp_path: Path,
) -> None:
    result = await run_one("carrier-down", tmp_path, postgres_url=None, quick=True)
    assert result.passed, result.render()
    assert result.checks["stuck item shows the carrier's 503 as last error"]


@pytest.mark.postgres
async def test_a_database_outage_loses_and_doubles_nothing(
    tmp_path: Path, postgres_server_url: str
) -> None:
    result = await run_one("db-outage", tmp_path, postgres_url=postgres_server_url, quick=True)
    assert result.passed, result.render()
    assert int(result.figures["connections_dropped"]) > 0


async def test_every_order_resumes_after_the_temporal_server_restarts(tmp_path: Path) -> None:
    result = await run_one("temporal-restart", tmp_path, postgres_url=None, quick=True)
    assert result.passed, result.render()
    assert result.figures["temporal_restarts"] == 1


@pytest.mark.postgres
async def test_killing_the_worker_repeatedly_loses_and_doubles_nothing(
    tmp_path: Path, postgres_server_url: str
) -> None:
    result = await run_one("worker-kill", tmp_path, postgres_url=postgres_server_url, quick=True)
    assert result.passed, result.render()
    assert result.figures["worker_kills"] >= 2
    emails = result.effects["emails"]
    # Every email arrived; a resent one (killed between the SMTP reply and the outbox's
    # mark) arrived again with its own Message-ID, which the audit counts apart.
    assert emails.expected == emails.counted - emails.resent > 0
    assert result.effects["refunds"].expected == result.effects["refunds"].counted > 0
