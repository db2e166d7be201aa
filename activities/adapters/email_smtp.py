"""Email over SMTP: Jinja2 templates per locale, one multipart message per business key.

Templates live next to this module in ``templates/`` as
``<name>.<locale>.subject.j2``, ``<name>.<locale>.txt.j2`` and, optionally,
``<name>.<locale>.html.j2``; a locale without its own files falls back to
``en``, and a template without HTML gets its text body wrapped in a plain
HTML layout. Each ``.txt.j2`` file of locale ``en`` starts with a comment
listing the context keys it needs. Missing keys are errors (``StrictUndefined``),
never blank lines in a customer's inbox.

Sending is plain ``smtplib``: no encryption (a local relay, the dev sink), STARTTLS
(port 587) or implicit TLS (SMTPS, port 465), certificates verified against the
system's roots or a CA file, and ``AUTH`` when a user is configured: what SES,
SendGrid, Postmark or Microsoft 365 ask for.

Every message carries ``Message-ID`` and ``X-OMS-Key`` derived from the
business key, the same on every attempt, so a message sent twice (a retry after
the server accepted it but before the outbox recorded it) is recognisably the
same message to the receiver.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from oms.domain.locales import language
from oms.ports.email import RenderedEmail, message_id_for
from oms.ports.errors import EmailRejected, EmailUnavailable, TemplateError

if TYPE_CHECKING:
    from oms.models.notifications import EmailAttachment
    from oms.settings import Settings

TEMPLATE_DIR = Path(__file__).with_name("templates")
DEFAULT_LOCALE = "en"
KEY_HEADER = "X-OMS-Key"

# How the connection is protected: none, STARTTLS after the greeting, or TLS from the start.
SECURITY_MODES = ("none", "starttls", "tls")

# Template and locale names become file names: no path separators, no dots.
_TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# RFC 4954: "530 5.7.0 Authentication required" (and 538, encryption required): the
# relay wants credentials or TLS this mailer was not configured with, whatever the message.
_NEEDS_CONFIGURATION = {530, 538}


def tls_context(ca_file: str = "", *, verify: bool = True) -> ssl.SSLContext:
    """The TLS context for an SMTP server: the system's roots (or ``ca_file``, a PEM bundle
    for a private relay), hostname checked; ``verify=False`` checks nothing (a test relay
    only: anyone on the path can then read the mail and the password)."""
    context = ssl.create_default_context(cafile=ca_file or None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpMailer:
    """Renders OMS email templates and sends them through one SMTP server.

    ``security`` is ``"none"``, ``"starttls"`` (upgrade the connection, refuse a server
    that cannot) or ``"tls"`` (implicit TLS); ``ssl_context`` defaults to
    ``tls_context()``. With a ``user`` the mailer logs in (``AUTH``) before sending.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        *,
        security: str = "none",
        user: str = "",
        password: str = "",
        ssl_context: ssl.SSLContext | None = None,
        template_dir: Path = TEMPLATE_DIR,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {SECURITY_MODES}, not {security!r}")
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.security = security
        self.user = user
        self._password = password
        self._ssl_context = ssl_context
        if ssl_context is None and security != "none":
            self._ssl_context = tls_context()
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
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        """The mailer ``OMS_SMTP_*`` describe; the password is read from
        ``OMS_SMTP_PASSWORD_FILE`` when that is set (raises ``OSError`` if it cannot be)."""
        password = settings.smtp_password
        if settings.smtp_password_file:
            password = Path(settings.smtp_password_file).read_text(encoding="utf-8").strip()
        context = None
        if settings.smtp_security != "none":
            context = tls_context(settings.smtp_ca_file, verify=settings.smtp_tls_verify)
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.mail_from,
            settings.smtp_timeout_s,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=password,
            ssl_context=context,
        )

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``template`` in the language closest to ``locale`` (a BCP 47 tag; English
        when the OMS has no such language or the template not in it) with ``context``.

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
    ) -> str:
        """Send ``rendered`` to ``to`` and return its ``Message-ID`` (derived from ``key``).

        Returns once the server has answered 250 to the end of DATA: the message is then
        the server's. Raises ``EmailUnavailable`` when it cannot be sent now: connection
        refused or dropped, timeout (also a timeout waiting for that last reply, when the
        server may well have accepted it: the retry then sends it again, with the same
        ``Message-ID``), 4xx, and every failure of the connection's set-up (TLS
        handshake or certificate, STARTTLS or AUTH not offered, credentials refused,
        "530 authentication required"), which is the configuration's fault, not the
        message's, and is retried so that nothing is lost while an operator fixes it.
        Raises ``EmailRejected`` when the server refuses this message for good (5xx
        for its sender, recipient or data, or non-ASCII addresses without SMTPUTF8).
        """
        message = self.build_message(key, to, rendered, attachments)
        smtp = self._connect()
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            # Codes only: the addresses would reach Temporal's (unencrypted) failure text.
            if codes and all(code >= 500 for code in codes):
                raise EmailRejected(f"recipient refused: SMTP {codes}") from exc
            raise EmailUnavailable(f"recipient deferred: SMTP {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and exc.smtp_code not in _NEEDS_CONFIGURATION:
                raise EmailRejected(f"SMTP {exc.smtp_code}: {_no_addresses(exc)}") from exc
            raise EmailUnavailable(f"SMTP {exc.smtp_code}: {_no_addresses(exc)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise EmailRejected(f"SMTP server cannot take this message: {exc}") from exc
        except OSError as exc:  # also every other SMTPException: disconnect, timeout
            raise EmailUnavailable(f"SMTP server {self.host}:{self.port}: {exc!r}") from exc
        finally:
            # The message is accepted (or not) by now: a failing QUIT changes nothing.
            with contextlib.suppress(OSError):  # SMTPException is an OSError
                smtp.quit()
            smtp.close()
        return message_id_for(key)

    def _connect(self) -> smtplib.SMTP:
        """A connection ready for MAIL FROM: greeted, encrypted as configured, logged in.

        Raises ``EmailUnavailable`` for whatever goes wrong on the way (see ``send``).
        """
        context = self._ssl_context
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                # Raises SMTPNotSupportedError when the server does not offer it: never
                # fall back to sending the message (and the password) in the clear.
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self._password)
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            raise EmailUnavailable(
                f"SMTP server {self.host}:{self.port} ({self.security}"
                f"{', AUTH' if self.user else ''}): {exc!r}"
            ) from exc
        return smtp

    def _resolve_locale(self, template: str, locale: str) -> str:
        lang = language(locale)
        if self._exists(f"{template}.{lang}.subject.j2"):
            return lang
        if self._exists(f"{template}.{DEFAULT_LOCALE}.subject.j2"):
            return DEFAULT_LOCALE
        raise TemplateError(f"unknown email template {template!r}")

    def _exists(self, name: str) -> bool:
        try:
            self._env.get_template(name)
        except jinja2.TemplateNotFound:
            return False
        return True


_ADDRESS = re.compile(r"[^\s<>@\[\]'\"]+@[^\s<>\[\]'\"]+")


def _no_addresses(exc: smtplib.SMTPResponseException) -> str:
    """The server's reply without email addresses (servers often quote the recipient)."""
    text = (
        exc.smtp_error.decode(errors="replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return _ADDRESS.sub("<address>", text)
