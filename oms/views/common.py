"""Pieces every workflow view renders alike: times and the head of the Temporal UI details."""

from __future__ import annotations

from datetime import datetime

from oms.domain.lifecycle import Step
from oms.ids import business_id


def when(moment: datetime | None) -> str:
    """A moment to the minute, as emails and details show it; ``-`` for none."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def to_the_second(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def heading(title: str, step: Step, since: str) -> list[str]:
    """The first lines of a workflow's details: its title line, then its stage, whom it waits
    for and since when (``since`` as the kind shows it: ``when`` or ``to_the_second``)."""
    return [title, "", f"- stage: `{step.stage}`, waiting for **{step.waiting_for}** since {since}"]


def with_due(
    details: str, step: Step, deadline: datetime | None, workflow_id: str, waiting_for: str
) -> str:
    """``details`` with a line after its heading (title, blank line, stage) that says by when
    the step should be over (``OmsDeadline``) and what operations do once it is not (the
    step's declared action, as ``/ops/stuck`` words it); unchanged for a step without a
    deadline. The details are drawn when the step is entered, so the line names the time,
    not whether it has passed."""
    if deadline is None:
        return details
    line = f"- due by {to_the_second(deadline)}"
    if step.action:
        line += "; past it: " + step.advice(business_id(workflow_id), workflow_id, waiting_for)
    lines = details.split("\n")
    return "\n".join([*lines[:3], line, *lines[3:]])


def intervention(by: str, action: str, reason: str) -> tuple[str, str]:
    """An operator's intervention (``POST /ops/...``) as a history line's note and author,
    worded the same in every kind and whether the workflow or the read model keeps it:
    who (as ``ops:<by>``), what and why."""
    return f"Operations ({by}): {action}: {reason}", f"ops:{by}"


def span(seconds: int) -> str:
    """A configured duration as people say it: whole days, hours or minutes when it is one,
    else seconds ("30 days", "12 hours", "20 seconds"; never "0 days")."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
