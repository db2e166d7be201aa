"""Timeouts and retry policies for every activity the workflows call, declared once by name.

Transient failures (database busy, carrier 503/429, SMTP down) retry with
backoff and no attempt limit: an order must not be lost because a system was
down for an hour; operations see the retrying call instead. Business
rejections are raised non-retryable by the activities and fail fast.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

# How soon the server retries an attempt whose worker died (killed, out of memory, host
# lost) elsewhere, instead of waiting out its 30 s ``start_to_close``: the workers
# heartbeat every running attempt that has this timeout (workers/liveness.py).
HEARTBEAT = timedelta(seconds=10)


@dataclass(frozen=True)
class ActivityOptions:
    start_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta = HEARTBEAT

    def kwargs(self, task_queue: str, summary: str) -> dict[str, Any]:
        return {
            "task_queue": task_queue,
            "start_to_close_timeout": self.start_to_close,
            "heartbeat_timeout": self.heartbeat,
            "retry_policy": self.retry,
            "summary": summary,
        }


STORE = ActivityOptions(
    start_to_close=timedelta(seconds=30),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=["UnknownSku", "UnknownWarehouse", "StockBelowReserved"],
    ),
)


def _remote(max_interval: timedelta, *non_retryable: str) -> ActivityOptions:
    """A call to an external party: 30 s an attempt, from 1 s apart up to ``max_interval``."""
    return ActivityOptions(
        start_to_close=timedelta(seconds=30),
        retry=RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=max_interval,
            non_retryable_error_types=list(non_retryable),
        ),
    )


CARRIER = _remote(timedelta(minutes=2), "InvalidAddress", "CarrierRejected")
EMAIL = _remote(timedelta(minutes=5), "EmailRejected", "TemplateError")
PAYMENTS = _remote(timedelta(minutes=1), "PaymentRejected", "AuthorizationExpired")


def cause(err: ActivityError) -> str:
    """What an activity failure says, with the business error's type when it has one
    (``PaymentRejected: ...``), for a history line or an error the workflow raises."""
    inner = err.cause
    if isinstance(inner, ApplicationError):
        return f"{inner.type}: {inner.message}"
    return str(inner or err)


# A read-model write is a local activity: the workflow task waits for it, so an attempt
# is short; it retries like any other store call.
LOCAL_WRITE = timedelta(seconds=10)


def local_write(summary: str) -> dict[str, Any]:
    """The options of a read-model write, for ``workflow.execute_local_activity_method``."""
    return {"start_to_close_timeout": LOCAL_WRITE, "retry_policy": STORE.retry, "summary": summary}


class _Recorded(Protocol):
    status: Any


R = TypeVar("R", bound=_Recorded)


def recorder(write: Callable[[Any, R], Any]) -> Callable[[R], Awaitable[None]]:
    """The tracker's ``record`` for a view the read model takes as it is: the activity
    method ``write`` run as a local read-model write, summarised by the view's status."""

    async def record(view: R) -> None:
        await workflow.execute_local_activity_method(
            write, view, **local_write(f"record {view.status}")
        )

    return record
