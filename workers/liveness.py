"""Heartbeats that tell the Temporal server a worker is still running an activity.

Without heartbeats the server learns that a worker died (SIGKILL, OOM, a lost host) only
when the attempt's ``start_to_close`` runs out: 30 s for a store or remote call, during
which the order waits. The workflows give those activities a ``heartbeat_timeout``
(``workflows/policies.py``); this interceptor heartbeats for every attempt that has one,
from the worker's event loop, for as long as the attempt runs, so a dead worker's attempt
is retried elsewhere after the heartbeat timeout instead.

It proves the process is alive, not that the activity makes progress: a call that hangs
is still bounded by its client's timeout and ``start_to_close``. An activity that
heartbeats itself (the webhook relay, which reports progress through its long poll) is
left to do so: the interceptor stops at its first own heartbeat.

A heartbeat also carries the server's cancellation of the activity back to the worker; the
OMS's workflows never cancel an activity, so only a cancel of the whole workflow (from the
Temporal UI or CLI) reaches a running attempt, as it does for any heartbeating activity.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

# Heartbeats per heartbeat timeout: three leaves room for a busy event loop (the SDK also
# throttles what it sends to the server to at most one per 0.8 x the timeout).
BEATS_PER_TIMEOUT = 3


class HeartbeatWhileRunning(Interceptor):
    """Worker interceptor: heartbeat every activity attempt that has a heartbeat timeout."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)


class _Outbound(ActivityOutboundInterceptor):
    """Notices the activity's own heartbeats, so the automatic ones stop."""

    def __init__(self, next: ActivityOutboundInterceptor) -> None:
        super().__init__(next)
        self.own_heartbeat = asyncio.Event()

    def heartbeat(self, *details: Any) -> None:
        self.own_heartbeat.set()
        super().heartbeat(*details)

    def beat(self) -> None:
        """An automatic heartbeat (no details), not counted as the activity's own."""
        super().heartbeat()


class _Inbound(ActivityInboundInterceptor):
    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        self._outbound = _Outbound(outbound)
        super().init(self._outbound)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.is_local or not info.heartbeat_timeout:
            return await super().execute_activity(input)
        interval = info.heartbeat_timeout.total_seconds() / BEATS_PER_TIMEOUT
        beating = asyncio.create_task(self._beat(interval))
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _beat(self, interval: float) -> None:
        # The first beat only after an interval: most attempts end in milliseconds, and a
        # heartbeat is a call to the server that they do not need.
        own = self._outbound.own_heartbeat
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(own.wait(), timeout=interval)
            if own.is_set():
                return
            self._outbound.beat()
