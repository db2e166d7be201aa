"""The benchmark floor's activity: does nothing, so only Temporal's own cost is measured.

Synchronous like the OMS's store activities, so it takes the same thread-pool hop.
"""

from __future__ import annotations

from temporalio import activity

from devtools.floor.models import FloorStep


class FloorActivities:
    """No-op activities for ``FloorWorkflow``."""

    @activity.defn(name="bench.noop")
    def noop(self, step: FloorStep) -> FloorStep:
        return step
