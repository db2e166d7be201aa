"""Business metrics emitted from workflows through the SDK's replay-safe metric meter.

Exported with the worker's own metrics on its Prometheus endpoint
(``OMS_METRICS_BIND``): ``oms_order_status_total{status}``, a counter of orders
entering each status, and ``oms_order_stage_seconds{status}``, a histogram of the
time orders spent in each status before leaving it (likewise ``oms_quote_*``).
During replay the meter records nothing, so a restarted worker never double counts.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


def status_entered(kind: str, status: str, previous: str | None, since: datetime | None) -> None:
    """Count ``status`` entered and time the ``previous`` status that just ended."""
    meter = workflow.metric_meter()
    meter.create_counter(f"oms_{kind}_status", f"{kind.capitalize()}s entering each status").add(
        1, {"status": status}
    )
    if previous is not None and since is not None:
        seconds = (workflow.now() - since).total_seconds()
        meter.create_histogram_float(
            f"oms_{kind}_stage_seconds", f"Time {kind}s spent in a status before leaving it", "s"
        ).record(max(seconds, 0.0), {"status": previous})
