"""Models of the benchmark's floor: a bare workflow that only runs no-op activities."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from oms.models.common import Model


class FloorInput(Model):
    """How many no-op activities the floor workflow runs, one after another."""

    activities: int = Field(ge=0, le=1000)


class FloorStep(Model):
    """One no-op activity's input and output."""

    n: int


class FloorResult(Model):
    """What a floor (or trivial) workflow returns: its count and when it finished (server time)."""

    activities: int
    finished_at: datetime
