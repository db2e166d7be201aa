"""Models of the email adapter."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from oms.models.common import Locale, Model


class EmailAttachment(Model):
    """A file sent with an email (a purchase order as CSV); text content, UTF-8 on the wire."""

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    content_type: str = Field(default="text/csv", pattern=r"^[a-z]+/[a-z0-9.+-]+$")
    content: str


class EmailRequest(Model):
    """Send template ``template`` once per ``key`` (unique in the outbox)."""

    key: str = Field(min_length=1, max_length=200)
    to: str
    locale: Locale = "en"
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    attachments: list[EmailAttachment] = Field(default_factory=list)


class OrderEmailInput(Model):
    """Input of ``OrderEmailWorkflow``: one of an ended order's customer emails, again (or
    the operations alert of a late carrier scan)."""

    email: EmailRequest
    task_queue_prefix: str = ""


class EmailResult(Model):
    key: str
    message_id: str
    already_sent: bool
