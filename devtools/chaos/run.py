"""``oms chaos [--scenario NAME] [--orders N] [--json FILE] [--quick]``: run fault scenarios.

Prints, per scenario, orders placed / completed / lost, every effect counted
against its business keys (duplicates, missing), the stock ledger, the
scenario's own pass conditions and the wall time; exits 1 on any FAIL.
Scenarios about the database (and the worker kills) run on PostgreSQL:
``--postgres URL`` or ``OMS_CHAOS_POSTGRES_URL`` names a server on which each
creates, then drops, a database of its own. See docs/chaos.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.chaos.harness import Run, run_scenario
from devtools.chaos.report import ScenarioResult
from devtools.chaos.scenarios import (
    carrier_down,
    carrier_flaky,
    db_outage,
    temporal_restart,
    worker_kill,
)


@dataclass(frozen=True)
class Size:
    """How big one scenario runs: orders and the fault's own knobs."""

    orders: int
    knobs: dict[str, Any] = field(default_factory=dict)  # the scenario's own parameters
    settings: dict[str, Any] = field(default_factory=dict)  # OMS settings for its stack


@dataclass(frozen=True)
class Scenario:
    name: str
    needs_postgres: bool
    full: Size
    quick: Size


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            carrier_flaky.NAME,
            False,
            Size(200, settings=carrier_flaky.FAILURES),
            # Six orders: each rate quote and label still meets 503s and 429s at these rates.
            Size(6, settings=carrier_flaky.FAILURES),
        ),
        # An automatic step (buying the label) is overdue after 20 s, so the stuck finder lists
        # it well within the minute the pass condition allows (the default is 60 s).
        Scenario(
            carrier_down.NAME,
            False,
            Size(20, settings={"step_deadline_s": 20}),
            Size(3, settings={"step_deadline_s": 5}),
        ),
        Scenario(db_outage.NAME, True, Size(200, {"outage_s": 30.0}), Size(6, {"outage_s": 5.0})),
        Scenario(temporal_restart.NAME, False, Size(200), Size(6)),
        Scenario(
            worker_kill.NAME,
            True,
            Size(500, {"every_s": 10.0, "refund_every": 10}),
            Size(10, {"every_s": 3.0, "refund_every": 5, "max_kills": 3}),
        ),
    )
}


async def run_one(
    name: str,
    tmp: Path,
    *,
    postgres_url: str | None,
    quick: bool = False,
    orders: int | None = None,
) -> ScenarioResult:
    """Run scenario ``name`` at its full (or quick) size in ``tmp``; never raises."""
    spec = SCENARIOS[name]
    size = spec.quick if quick else spec.full
    n = orders or size.orders
    knobs = dict(size.knobs)
    if spec.needs_postgres and not postgres_url:
        result = ScenarioResult(scenario=name, fault="(not run)")
        result.error = "needs PostgreSQL: pass --postgres URL or set OMS_CHAOS_POSTGRES_URL"
        return result
    common: dict[str, Any] = {
        "orders": n,
        "tmp": tmp,
        "postgres_url": postgres_url,
        **size.settings,
    }
    if name == carrier_flaky.NAME:
        return await run_scenario(name, carrier_flaky.FAULT, carrier_flaky.run, **common)
    if name == carrier_down.NAME:
        return await run_scenario(name, carrier_down.FAULT, carrier_down.run, **common)
    if name == temporal_restart.NAME:
        return await run_scenario(name, temporal_restart.FAULT, temporal_restart.run, **common)
    if name == db_outage.NAME:
        outage = db_outage.Outage()

        async def body(r: Run) -> None:
            await db_outage.run(r, outage, knobs["outage_s"])

        fault = db_outage.FAULT.format(**knobs)
        return await run_scenario(
            name, fault, body, worker_database_url=outage.worker_url, **common
        )

    async def kill_body(r: Run) -> None:
        await worker_kill.run(r, **knobs)

    return await run_scenario(name, worker_kill.FAULT.format(**knobs), kill_body, **common)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms chaos", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="repeatable; default all"
    )
    parser.add_argument("--orders", type=int, help="orders per scenario (default: its own size)")
    parser.add_argument("--quick", action="store_true", help="the small sizes make test uses")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("OMS_CHAOS_POSTGRES_URL", ""),
        help="PostgreSQL server URL (a database is created and dropped per scenario)",
    )
    parser.add_argument("--workdir", type=Path, help="keep logs here (default: a temp folder)")
    return parser


async def run_all(args: argparse.Namespace) -> list[ScenarioResult]:
    names = args.scenario or list(SCENARIOS)
    results: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="oms-chaos-") as scratch:
        root = args.workdir or Path(scratch)
        for name in names:
            print(f"-- running {name} ...", file=sys.stderr, flush=True)
            result = await run_one(
                name,
                root / name,
                postgres_url=args.postgres or None,
                quick=args.quick,
                orders=args.orders,
            )
            print(result.render(), flush=True)
            results.append(result)
    return results


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so the scenario's processes are stopped too


def main(argv: Sequence[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    results = asyncio.run(run_all(args))
    failed = [r.scenario for r in results if not r.passed]
    print(
        f"\n{len(results) - len(failed)}/{len(results)} scenarios passed"
        + (f"; FAILED: {', '.join(failed)}" if failed else ""),
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps([r.summary() for r in results], indent=2, default=str))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
