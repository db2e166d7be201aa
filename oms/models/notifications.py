"""Models of the email adapter."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from oms.models.common import Locale, Model


class EmailRequest(Model):
    """Send template ``template`` once per ``key`` (unique in the outbox)."""

    key: str = Field(min_length=1, max_length=200)
    to: str
    locale: Locale = "en"
    template: str
    context: dict[str, Any] = Field(default_factory=dict)


class EmailResult(Model):
    key: str
    message_id: str
    already_sent: bool
