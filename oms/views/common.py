"""Pieces every workflow view renders alike: times and the head of the Temporal UI details."""

from __future__ import annotations

from datetime import datetime

from oms.domain.lifecycle import Step


def when(moment: datetime | None) -> str:
    """A moment to the minute, as emails and details show it; ``-`` for none."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def to_the_second(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def heading(title: str, step: Step, since: str) -> list[str]:
    """The first lines of a workflow's details: its title line, then its stage, whom it waits
    for and since when (``since`` as the kind shows it: ``when`` or ``to_the_second``)."""
    return [title, "", f"- stage: `{step.stage}`, waiting for **{step.waiting_for}** since {since}"]


def intervention(by: str, action: str, reason: str) -> tuple[str, str]:
    """An operator's intervention (``POST /ops/...``) as a history line's note and author,
    worded the same in every kind and whether the workflow or the read model keeps it:
    who (as ``ops:<by>``), what and why."""
    return f"Operations ({by}): {action}: {reason}", f"ops:{by}"
