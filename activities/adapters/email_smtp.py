"""Email over SMTP: Jinja2 templates per locale, one multipart message per business key.

Templates live next to this module in ``templates/`` as
``<name>.<locale>.subject.j2``, ``<name>.<locale>.txt.j2`` and, optionally,
``<name>.<locale>.html.j2``; a locale without its own files falls back to
``en``, and a template without HTML gets its text body wrapped in a plain
HTML layout. Each ``.txt.j2`` file of locale ``en`` starts with a comment
listing the context keys it needs. Missing keys are errors (``StrictUndefined``),
never blank lines in a customer's inbox.

Every message carries ``Message-ID`` and ``X-OMS-Key`` derived from the
business key, so a message sent twice (a retry after a crash) is recognisably
the same message to the receiver.
"""

from __future__ import annotations

import contextlib
import ctypes
import email.policy
import errno
import io
import os
import re
import smtplib
import socket
from collections.abc import Callable, Mapping, Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from oms.ports.email import RenderedEmail, message_id_for
from oms.ports.errors import EmailRejected, EmailUnavailable, FinalDotUnanswered, TemplateError

if TYPE_CHECKING:
    from oms.models.notifications import EmailAttachment
    from oms.settings import Settings

TEMPLATE_DIR = Path(__file__).with_name("templates")
DEFAULT_LOCALE = "en"
KEY_HEADER = "X-OMS-Key"

# Template and locale names become file names: no path separators, no dots.
_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_LOCALE_NAME = re.compile(r"[a-z]{2}")


class Mailer:
    """Renders OMS email templates and sends them through one SMTP server (no auth, no TLS:
    a local relay or the dev sink)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        *,
        template_dir: Path = TEMPLATE_DIR,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dir),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer:
        return cls(
            settings.smtp_host, settings.smtp_port, settings.mail_from, settings.smtp_timeout_s
        )

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``template`` in ``locale`` (falling back to ``en``) with ``context``.

        Raises ``TemplateError`` for an unknown template, a variable missing
        from ``context`` or a broken template file.
        """
        if not _TEMPLATE_NAME.fullmatch(template):
            raise TemplateError(f"invalid template name {template!r}")
        prefix = f"{template}.{locale}"
        try:
            lang = self._resolve_locale(template, locale)
            prefix = f"{template}.{lang}"
            subject_raw = self._env.get_template(f"{prefix}.subject.j2").render(context)
            # A subject is one header line, whatever the template or context contains.
            subject = " ".join(subject_raw.split())
            text = self._env.get_template(f"{prefix}.txt.j2").render(context).strip() + "\n"
            page = {**context, "lang": lang, "subject": subject}
            if self._exists(f"{prefix}.html.j2"):
                html = self._env.get_template(f"{prefix}.html.j2").render(page)
            else:
                html = self._env.get_template("_text.html.j2").render({**page, "text": text})
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {prefix}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {prefix}: {exc}") from exc
        return RenderedEmail(subject=subject, text=text, html=html)

    def build_message(
        self,
        key: str,
        to: str,
        rendered: RenderedEmail,
        attachments: Sequence[EmailAttachment] = (),
    ) -> EmailMessage:
        """The multipart (text + HTML, then any attachments) message for ``key``; raises
        ``EmailRejected`` on a recipient or key that cannot be a header."""
        if any(c in value for value in (key, to) for c in "\r\n"):
            raise EmailRejected(f"line break in recipient or key of {key!r}")
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = self.sender
        message["To"] = to
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id_for(key)
        message[KEY_HEADER] = key
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.content.encode("utf-8"),
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
            )
        return message

    def send(
        self,
        key: str,
        to: str,
        rendered: RenderedEmail,
        attachments: Sequence[EmailAttachment] = (),
        *,
        at_final_dot: Callable[[Callable[[], None]], None] | None = None,
    ) -> str:
        """Send ``rendered`` to ``to`` and return its ``Message-ID`` (derived from ``key``).

        ``at_final_dot`` is called once the server holds the whole message but
        not the ``.`` line that makes it accept it (an SMTP server discards a
        message whose connection drops before that line), with the function
        that writes that line (without giving the GIL to another thread): the
        outbox writes it and commits its "sending" mark right behind it (see
        ``activities/notifications.py``). That function writes the line once;
        called again it does nothing. What the callback raises before writing
        the line propagates and the message is not delivered; what it raises
        after propagates too, and the message is delivered. A callback that
        returns without writing the line has it written after it.

        Raises ``EmailUnavailable`` when the server cannot take the message now
        (connection refused, timeout, disconnect, 4xx) and ``EmailRejected``
        when it refuses it for good (5xx for sender, recipient or data).
        ``FinalDotUnanswered`` (an ``EmailUnavailable``) means the line was
        written but the reply never came: the server has most likely accepted.
        """
        message = self.build_message(key, to, rendered, attachments)
        smtp = smtplib.SMTP(timeout=self.timeout)
        try:
            smtp.connect(self.host, self.port)
            _send_two_phase(smtp, message, at_final_dot)
        except _CallbackFailed as exc:
            if not exc.after_dot:
                # Drop the connection mid-DATA, without QUIT (which the server would read
                # as a line of the message): the server discards what it has.
                smtp.close()
            # The callback's own error, even when it is an OSError of its database driver:
            # after the "." it must not read as "not delivered".
            raise exc.error from exc.error.__cause__
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise EmailRejected(f"recipient refused: {exc.recipients}") from exc
            raise EmailUnavailable(f"recipient deferred: {exc.recipients}") from exc
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as exc:
            # The server, not this message, is the problem: worth trying again later.
            raise EmailUnavailable(f"SMTP server {self.host}:{self.port}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise EmailRejected(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise EmailUnavailable(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise EmailRejected(f"SMTP server cannot take this message: {exc}") from exc
        except OSError as exc:  # also every other SMTPException, refused, timeout, DNS
            raise EmailUnavailable(f"SMTP server {self.host}:{self.port}: {exc!r}") from exc
        finally:
            # The message is already accepted (or not) by now: a failing QUIT changes nothing.
            with contextlib.suppress(OSError):
                smtp.quit()
            smtp.close()
        return message_id_for(key)

    def _resolve_locale(self, template: str, locale: str) -> str:
        if _LOCALE_NAME.fullmatch(locale) and self._exists(f"{template}.{locale}.subject.j2"):
            return locale
        if self._exists(f"{template}.{DEFAULT_LOCALE}.subject.j2"):
            return DEFAULT_LOCALE
        raise TemplateError(f"unknown email template {template!r}")

    def _exists(self, name: str) -> bool:
        try:
            self._env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


class _CallbackFailed(Exception):
    """Carries what ``at_final_dot`` raised past the SMTP error handling, and whether the
    final ``.`` had gone out by then."""

    def __init__(self, error: Exception, after_dot: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.after_dot = after_dot


_LINE_START_DOT = re.compile(rb"(?m)^\.")


def _send_two_phase(
    smtp: smtplib.SMTP,
    message: EmailMessage,
    at_final_dot: Callable[[Callable[[], None]], None] | None,
) -> None:
    """``smtp.send_message(message)`` with ``at_final_dot`` writing the ``.`` line that
    ends DATA (``smtplib`` writes the body and that line in one call).

    Raises what ``smtplib`` raises for a refused sender, recipient or DATA (an
    ``OSError`` when writing the ``.`` line fails), ``FinalDotUnanswered`` when the
    line went out and no reply came, ``_CallbackFailed`` for what ``at_final_dot``
    raised (before or after writing the line).
    """
    sender = str(message["From"])
    recipient = str(message["To"])
    smtp.ehlo_or_helo_if_needed()
    options: list[str] = []
    if not (sender + recipient).isascii():
        # Non-ASCII addresses need SMTPUTF8; smtplib raises SMTPNotSupportedError without it.
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the server does not support SMTPUTF8")
        options = ["SMTPUTF8", "BODY=8BITMIME"]
    buffer = io.BytesIO()
    wire = email.policy.SMTPUTF8 if options else email.policy.SMTP
    BytesGenerator(buffer, policy=wire).flatten(message, linesep="\r\n")
    code, reply = smtp.mail(sender, options)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    body = _LINE_START_DOT.sub(b"..", buffer.getvalue())
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body)
    dot: list[BaseException | None] = []  # one entry once the line was tried: its error

    def write_dot() -> None:
        if dot:
            return
        try:
            _send_holding_gil(smtp, b".\r\n")
        except BaseException as exc:
            dot.append(exc)
            raise
        dot.append(None)

    if at_final_dot is not None:
        try:
            at_final_dot(write_dot)
        except Exception as exc:
            if dot and dot[0] is not None:
                raise dot[0] from None  # writing the line failed: the server discards it
            raise _CallbackFailed(exc, after_dot=bool(dot)) from exc
    write_dot()
    try:
        code, reply = smtp.getreply()
    except smtplib.SMTPServerDisconnected as exc:
        raise FinalDotUnanswered(f"no reply to the end of DATA: {exc}") from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def _libc_send() -> Any:
    """libc's ``send`` called through ``ctypes.PyDLL``, which keeps the GIL during the call
    (``socket.send`` releases it, and getting it back can take milliseconds on a busy
    worker); None where there is no such libc."""
    try:
        send = ctypes.PyDLL(None, use_errno=True).send
    except (OSError, AttributeError, TypeError):
        return None
    send.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    send.restype = ctypes.c_ssize_t
    return send


_SEND = _libc_send()
_NO_SIGPIPE = getattr(socket, "MSG_NOSIGNAL", 0)


def _send_holding_gil(smtp: smtplib.SMTP, data: bytes) -> None:
    """Write ``data`` to the SMTP connection without letting another thread run between
    this write and the caller's next one (the outbox's COMMIT follows it at once).

    Falls back to ``smtp.send`` when the socket's buffer cannot take the bytes at once
    (or there is no libc). Raises ``OSError`` (``SMTPServerDisconnected``) when the write
    fails.
    """
    sock = smtp.sock
    if sock is None:
        raise smtplib.SMTPServerDisconnected("please run connect() first")
    written = _SEND(sock.fileno(), data, len(data), _NO_SIGPIPE) if _SEND is not None else -1
    if written == len(data):
        return
    if written < 0 and ctypes.get_errno() not in (0, errno.EAGAIN, errno.EWOULDBLOCK):
        raise smtplib.SMTPServerDisconnected(f"write failed: {os.strerror(ctypes.get_errno())}")
    smtp.send(data[max(written, 0) :])
