"""The email port: render a template for a locale, then send it (one ``Message-ID`` per key).

The SMTP adapter (``activities/adapters/email_smtp.py``) implements it; the outbox
activity (``activities/notifications.py``) uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
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
    ) -> str:
        """Send ``rendered`` as the message of ``key`` and return its ``Message-ID``
        (``message_id_for(key)``, the same on every attempt) once the server accepted it.

        Raises ``EmailRejected`` (refused for good) and ``EmailUnavailable`` (try later;
        the server may have accepted the message when its reply was lost).
        """
        ...
