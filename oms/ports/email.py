"""The email port: render a template for a locale, then send it with a two-phase end.

The SMTP adapter (``activities/adapters/email_smtp.py``) implements it; the outbox
activity (``activities/notifications.py``) uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from oms.models.notifications import EmailAttachment


def message_id_for(key: str) -> str:
    """The ``Message-ID`` of the email for business key ``key``: the same on every attempt."""
    digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"<{digest}@oms>"


@dataclass(frozen=True)
class RenderedEmail:
    """A rendered message: one-line subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


class Mailer(Protocol):
    """Renders the OMS's templates and delivers one message per business key."""

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``template`` in ``locale``; raises ``TemplateError`` for an unknown
        template or a missing context key."""
        ...

    def send(
        self,
        key: str,
        to: str,
        rendered: RenderedEmail,
        attachments: Sequence[EmailAttachment] = (),
        *,
        at_final_dot: Callable[[Callable[[], None]], None] | None = None,
    ) -> str:
        """Send ``rendered`` and return its ``Message-ID``; ``at_final_dot`` gets the
        function that makes the server accept the message, once it holds the rest.

        Raises ``EmailRejected`` (for good), ``EmailUnavailable`` (try later) and
        ``FinalDotUnanswered`` (the end went out, no reply came).
        """
        ...
