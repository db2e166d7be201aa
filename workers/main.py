"""Worker processes: the composition root that builds adapters and runs task queues.

``oms worker`` runs every queue in one process; ``--queues`` runs a subset so
the workflow worker and each adapter's activity worker scale apart, e.g.
``oms worker --queues workflows`` beside ``oms worker --queues carrier``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy.exc import DBAPIError
from temporalio.client import Client
from temporalio.worker import Worker

from activities.adapters.email_smtp import SmtpMailer
from activities.adapters.supplier_email import EmailSupplier
from activities.adapters.webhook_http import HttpWebhookSender
from activities.carrier import CarrierActivities
from activities.credit import CreditActivities
from activities.inventory import InventoryActivities
from activities.notifications import EmailActivities
from activities.orders import ReadModelActivities, RefundActivities, RiskActivities
from activities.payments import PaymentActivities
from activities.quotes import QuoteActivities
from activities.replenishment import LowStock, ReplenishmentActivities, ReplenishmentStarter
from activities.returns import ReturnActivities
from activities.subscriptions import SubscriptionActivities
from activities.suppliers import SupplierActivities
from activities.webhooks import WebhookActivities
from oms import logs, telemetry
from oms.client import connect, metrics_runtime
from oms.domain.webhooks import RetrySchedule
from oms.models.money import MoneyRules
from oms.models.replenishment import ReplenishmentOptions
from oms.ports.carrier import Carrier
from oms.ports.payments import PaymentProvider
from oms.queues import QUEUE_NAMES, WORKFLOW_QUEUE
from oms.rules import load_exchange_rates, load_risk_rules, load_vat_rates
from oms.settings import Settings, load_settings
from oms.store.credit import CreditLedger
from oms.store.db import Database
from oms.store.inventory import StockStore
from oms.store.labels import LabelStore
from oms.store.migrate import store_problem
from oms.store.orders import ReadModelStore
from oms.store.outbox import Outbox
from oms.store.quotes import QuoteStore
from oms.store.refunds import RefundStore
from oms.store.replenishment import ReplenishmentStore
from oms.store.returns import ReturnStore
from oms.store.subscriptions import SubscriptionStore
from oms.store.webhooks import WebhookStore
from workers import adapters
from workers.health import Health
from workers.liveness import HeartbeatWhileRunning
from workers.schedules import ensure_low_stock_schedule
from workflows.low_stock import LowStockScanWorkflow
from workflows.order import OrderWorkflow
from workflows.order_email import OrderEmailWorkflow
from workflows.order_refund import OrderRefundWorkflow
from workflows.quote import QuoteWorkflow
from workflows.replenishment import ReplenishmentWorkflow
from workflows.returns import ReturnWorkflow
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.webhooks import WebhookRelayWorkflow, ensure_relay

log = logging.getLogger("oms.worker")


def build_workers(
    client: Client,
    settings: Settings,
    queues: Sequence[str],
    db: Database,
    carrier: Carrier | None,
    executor: ThreadPoolExecutor,
    payments: PaymentProvider | None = None,
) -> list[Worker]:
    """One Worker per selected queue, each registering only its own activities; the carrier
    queue's with ``carrier`` (``ValueError`` without one), the payments queue's with
    ``payments``, else the provider the settings name (``AdapterError``)."""
    common: dict[str, Any] = {
        "graceful_shutdown_timeout": timedelta(seconds=settings.graceful_shutdown_s),
        "max_concurrent_activities": settings.max_concurrent_activities,
        # Heartbeats let the server retry a dead worker's attempts within seconds.
        "interceptors": [HeartbeatWhileRunning()],
    }
    activities: dict[str, list[Callable[..., Any]]] = {}
    if "inventory" in queues:
        # Reservations that take a SKU below its reorder point start its replenishment from
        # this worker's thread pool, through this worker's client and event loop.
        low_stock = LowStock(ReplenishmentStore(db), replenishment_starter(client, settings))
        inventory, read_model = (
            InventoryActivities(StockStore(db), low_stock),
            ReadModelActivities(ReadModelStore(db)),
        )
        quote_acts, return_acts = QuoteActivities(QuoteStore(db)), ReturnActivities(ReturnStore(db))
        replenish = ReplenishmentActivities(ReplenishmentStore(db), low_stock)
        risk = RiskActivities(ReadModelStore(db), load_risk_rules(settings.risk_rules_path))
        activities["inventory"] = [
            risk.review_risk,
            RefundActivities(RefundStore(db)).record_refund,
            replenish.purchase_order,
            replenish.confirm,
            replenish.receive,
            replenish.close,
            replenish.scan,
            quote_acts.price,
            quote_acts.record_quote,
            SubscriptionActivities(SubscriptionStore(db), money_rules(settings)).price_renewal,
            return_acts.check_eligibility,
            return_acts.refund_room,
            return_acts.record_return,
            inventory.allocate,
            inventory.release,
            inventory.consume,
            inventory.claim_backorders,
            inventory.trim,
            inventory.backorder,
            inventory.reallocate,
            inventory.restock,
            inventory.write_off,
            # Workflows started before the read-model-local patch still schedule these here.
            read_model.record_order,
            read_model.record_shipment,
        ]
    if "carrier" in queues:
        if carrier is None:
            raise ValueError("the carrier queue needs a carrier adapter")
        carrier_acts = CarrierActivities(
            carrier, LabelStore(db), catalogue=StockStore(db), incoterms=settings.customs_incoterms
        )
        activities["carrier"] = [
            carrier_acts.quote_rates,
            carrier_acts.buy_label,
            carrier_acts.buy_return_label,
            carrier_acts.void_label,
        ]
    if "email" in queues:
        mailer = SmtpMailer.from_settings(settings)
        email = EmailActivities(mailer, Outbox(db))
        supplier = SupplierActivities(EmailSupplier(email.send, settings.purchasing_buyer))
        activities["email"] = [email.send, supplier.send]
    if "payments" in queues:
        provider = payments or adapters.payment_provider(settings)
        payment_acts, credit = PaymentActivities(provider), CreditActivities(CreditLedger(db))
        activities["payments"] = [
            credit.reserve,
            credit.release,
            credit.consume,
            credit.credit_note,
            payment_acts.authorize,
            payment_acts.capture,
            payment_acts.void_authorization,
            payment_acts.refund,
        ]
    if "webhooks" in queues:
        sender = HttpWebhookSender(settings.webhooks_timeout_s)
        relay = WebhookActivities(
            WebhookStore(db),
            sender,
            retry_schedule(settings),
            poll_s=settings.webhooks_poll_s,
            idle_s=settings.webhooks_idle_s,
        )
        activities["webhooks"] = [relay.deliver]
    workers: list[Worker] = []
    if "workflows" in queues:
        # Workflows write the read model as local activities (workflows/tracker.py), so
        # the workflow worker needs the store too.
        local, quote_views, return_views = (
            ReadModelActivities(ReadModelStore(db)),
            QuoteActivities(QuoteStore(db)),
            ReturnActivities(ReturnStore(db)),
        )
        subscription_views = SubscriptionActivities(SubscriptionStore(db))
        workers.append(
            Worker(
                client,
                task_queue=settings.queue(WORKFLOW_QUEUE),
                workflows=[
                    OrderWorkflow,
                    OrderRefundWorkflow,
                    OrderEmailWorkflow,
                    ShipmentWorkflow,
                    QuoteWorkflow,
                    ReturnWorkflow,
                    SubscriptionWorkflow,
                    ReplenishmentWorkflow,
                    LowStockScanWorkflow,
                    WebhookRelayWorkflow,
                ],
                activities=[
                    local.record_order,
                    local.record_shipment,
                    local.record_views,
                    quote_views.record_quote,
                    return_views.record_return,
                    subscription_views.record_subscription,
                ],
                activity_executor=executor,
                workflow_runner=workflow_runner(),
                max_cached_workflows=settings.max_cached_workflows,
                **common,
            )
        )
    for name, acts in activities.items():
        workers.append(
            Worker(
                client,
                task_queue=settings.queue(QUEUE_NAMES[name]),
                activities=acts,
                activity_executor=executor,
                **common,
            )
        )
    return workers


def money_rules(settings: Settings) -> MoneyRules:
    """The VAT and exchange-rate tables and money settings renewals are priced with."""
    return MoneyRules(
        vat=load_vat_rates(settings.vat_rates_path),
        fx=load_exchange_rates(settings.exchange_rates_path),
        merchant_country=settings.merchant_country,
        base_currency=settings.base_currency,
        tax_exclusive_channels=[
            c.strip() for c in settings.tax_exclusive_channels.split(",") if c.strip()
        ],
    )


def retry_schedule(settings: Settings) -> RetrySchedule:
    return RetrySchedule(
        base_s=settings.webhooks_retry_base_s,
        max_s=settings.webhooks_retry_max_s,
        give_up_s=settings.webhooks_give_up_s,
    )


async def ensure_relays(client: Client, settings: Settings, db: Database) -> None:
    """(Re)start every endpoint's relay: idempotent, and a relay that ended is resumed.

    A store that cannot be read (not migrated yet, or down) is logged in one line, not
    raised: the worker must still run, and creating an endpoint starts its relay anyway.
    """
    problem = await asyncio.to_thread(store_problem, db.engine)
    if problem is not None:
        log.warning("webhook relays not (re)started: %s", problem)
        return
    try:
        endpoint_ids = await asyncio.to_thread(WebhookStore(db).endpoint_ids)
    except DBAPIError as exc:
        log.warning("webhook relays not (re)started: the store cannot be read: %s", exc)
        return
    for endpoint_id in endpoint_ids:
        await ensure_relay(client, settings, endpoint_id)


def replenishment_starter(client: Client, settings: Settings) -> ReplenishmentStarter:
    """Starts replenishment workflows with this deployment's queues and settings.

    Must be called from the worker's event loop (activities hand it their starts).
    """
    return ReplenishmentStarter(
        client,
        asyncio.get_running_loop(),
        settings.queue(WORKFLOW_QUEUE),
        ReplenishmentOptions.from_settings(settings),
    )


async def run_workers(
    settings: Settings, queues: Sequence[str], stop: asyncio.Event, client: Client | None = None
) -> None:
    """Run the selected queues until ``stop`` is set, then shut down gracefully.

    Raises ``AdapterError`` before it serves or connects to anything when the adapter of
    a selected queue (carrier, payments) cannot be imported or built; a worker builds only
    the adapters its queues use.
    """
    carrier = adapters.carrier(settings) if "carrier" in queues else None
    try:
        payments = adapters.payment_provider(settings) if "payments" in queues else None
    except adapters.AdapterError:
        if carrier is not None:
            await carrier.aclose()
        raise
    health = Health(settings.health_bind) if settings.health_bind else None
    if health is not None:
        health.start()
        log.info("worker health on http://%s/health/ready", settings.health_bind)
    db = Database(settings.database_url)
    # Each queue may run max_concurrent_activities at once (the workflow queue its local
    # read-model writes); size the shared pool to match.
    executor = ThreadPoolExecutor(
        max_workers=settings.max_concurrent_activities * max(1, len(queues))
    )
    try:
        if client is None:
            runtime = metrics_runtime(settings.metrics_bind) if settings.metrics_bind else None
            client = await connect(settings, runtime, wait_s=settings.temporal_connect_wait_s)
            if settings.metrics_bind:
                log.info("worker metrics on http://%s/metrics", settings.metrics_bind)
        if "workflows" in queues:
            await ensure_low_stock_schedule(client, settings)
            await ensure_relays(client, settings, db)
        async with AsyncExitStack() as stack:
            workers = build_workers(client, settings, queues, db, carrier, executor, payments)
            for worker in workers:
                await stack.enter_async_context(worker)
            log.info("worker running queues %s", ", ".join(queues))
            if health is not None:
                health.queues = list(queues)
            await stop.wait()
            log.info("worker stopping (graceful, up to %s s)", settings.graceful_shutdown_s)
            if health is not None:
                health.stopping = True
    finally:
        if health is not None:
            health.close()
        if carrier is not None:
            await carrier.aclose()
        executor.shutdown(wait=False, cancel_futures=True)
        db.dispose()


def _queue_list(text: str) -> list[str]:
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = set(queues) - set(QUEUE_NAMES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown queue(s): {', '.join(sorted(unknown))}")
    return queues


def _at_least_one(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return count


def parser() -> argparse.ArgumentParser:
    """The worker's command line (``oms worker``); a bad queue name or count is a usage error."""
    parser = argparse.ArgumentParser(prog="oms worker", description=__doc__)
    parser.add_argument(
        "--queues",
        type=_queue_list,
        default=list(QUEUE_NAMES),
        help=f"comma-separated subset of {', '.join(QUEUE_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--processes",
        type=_at_least_one,
        default=1,
        help="run this many worker processes (workflow tasks are CPU-bound Python: scale "
        "with processes, not threads)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """``oms worker``: an invalid setting, the sandbox payment provider outside development
    (``Settings.sandbox_payments_problem``) or an adapter that cannot be imported or built
    is one line on stderr and exit status 2, before the worker polls anything."""
    args = parser().parse_args(argv)
    queues: list[str] = args.queues
    settings = load_settings()
    logs.configure("worker", settings.log_format)
    if "payments" in queues and (problem := settings.sandbox_payments_problem()):
        _refuse(problem)
    if args.processes > 1:
        sys.exit(_run_processes(settings, args.processes, queues))
    # Before the store's engine and the Temporal client exist, so both are traced.
    telemetry.configure("oms-worker")
    try:
        asyncio.run(_main(settings, queues))
    except adapters.AdapterError as error:
        _refuse(str(error))


def _refuse(problem: str) -> NoReturn:
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(2)


def child_binds(settings: Settings, count: int) -> list[dict[str, str]]:
    """The ``OMS_METRICS_BIND`` and ``OMS_HEALTH_BIND`` of each of ``count`` worker processes:
    the first has the configured ports, each next one the next port up (one listener a
    port). Raises ``ValueError`` when the ports pass 65535 or the two ranges overlap."""
    binds: list[dict[str, str]] = [{} for _ in range(count)]
    taken: dict[int, str] = {}
    for variable, bind in (
        ("OMS_METRICS_BIND", settings.metrics_bind),
        ("OMS_HEALTH_BIND", settings.health_bind),
    ):
        if not bind:
            continue
        host, _, port = bind.rpartition(":")
        for n in range(count):
            if int(port) + n > 65535:
                raise ValueError(f"{variable} {bind}: {count} processes need ports up to 65535")
            if (other := taken.get(int(port) + n)) is not None:
                raise ValueError(
                    f"{variable} {bind} and {other} overlap with {count} processes (each takes "
                    f"the next {count} ports): set them at least {count} apart"
                )
            taken[int(port) + n] = variable
            binds[n][variable] = f"{host}:{int(port) + n}"
    return binds


def _run_processes(settings: Settings, count: int, queues: list[str]) -> int:
    """Supervise ``count`` single-process workers, each with its own metrics and health port
    (``child_binds``). SIGINT/SIGTERM stops them all gracefully (exit 0 when they stopped
    cleanly). A child that exits on its own stops the others and the supervisor exits
    non-zero (the child's status, else 1), so the process manager (Kubernetes, systemd,
    compose) restarts the whole worker rather than keep it running at less than its size."""
    try:
        binds = child_binds(settings, count)
    except ValueError as error:
        _refuse(str(error))
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "workers.main", "--queues", ",".join(queues)],
            env=os.environ | bind,
        )
        for bind in binds
    ]
    log.info("supervising %d worker processes", count)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        dead = next((child for child in children if child.poll() is not None), None)
        if dead is None:
            time.sleep(0.2)
            continue
        if stopping:  # it stopped on our signal, between the check and the poll
            break
        code = dead.returncode
        log.error("worker process %d exited with status %d: stopping the others", dead.pid, code)
        stop(signal.SIGTERM, None)
        for child in children:
            child.wait()
        return code if code > 0 else 1
    codes = [child.wait() for child in children]
    return max(codes, default=0)


async def _main(settings: Settings, queues: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_workers(settings, queues, stop)


if __name__ == "__main__":
    main()
