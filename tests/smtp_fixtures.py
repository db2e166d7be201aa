"""A real SMTP server for tests that keeps what it receives in memory.

    from smtp_fixtures import SmtpRecorder, smtp_recorder_fixture

    smtp_recorder = smtp_recorder_fixture()          # in a test module or conftest.py

    def test_x(smtp_recorder: SmtpRecorder) -> None:
        mailer = SmtpMailer(smtp_recorder.host, smtp_recorder.port, "oms@test", 5)
        ...
        mail = smtp_recorder.wait_for(lambda m: m.key == "order-1:confirmed")
        assert mail.subject == "..."

``SmtpRecorder`` can also be started on a chosen port (to bring a "down"
server up mid-test), told to refuse recipients with a given SMTP reply, and
speak STARTTLS or implicit TLS with a throwaway certificate
(``throwaway_certificate``) and require ``AUTH`` with given logins.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for a server that is "down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``127.0.0.1`` and ``localhost``, valid for a day, and
    its key, written to ``folder`` as ``cert.pem`` and ``key.pem``. The certificate is its
    own CA: a client trusts it with ``tls_context(ca_file=cert.pem)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oms test relay")])
    now = datetime.datetime.now(datetime.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of ``throwaway_certificate``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass(frozen=True)
class ReceivedEmail:
    """One message as the server received it, parsed."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def key(self) -> str:
        return str(self.message.get("X-OMS-Key", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))

    @property
    def text(self) -> str:
        return self._body("plain")

    @property
    def html(self) -> str:
        return self._body("html")

    def _body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None:
            return ""
        assert isinstance(part, EmailMessage)
        # Lines arrive with the wire's CRLF endings; tests compare with rendered "\n" text.
        return str(part.get_content()).replace("\r\n", "\n")


class _RecordingHandler:
    def __init__(self, recorder: SmtpRecorder) -> None:
        self.recorder = recorder

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.recorder.refusals.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.recorder._add(ReceivedEmail(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpRecorder:
    """An aiosmtpd server on ``host:port`` (a free port by default) recording every message.

    ``refusals`` maps a recipient address to the SMTP reply its ``RCPT TO``
    gets, e.g. ``"550 5.1.1 no such user"`` or ``"451 4.3.0 try later"``.
    ``tls`` (a server context) offers STARTTLS, and requires it before anything
    is sent; with ``implicit_tls`` the connection is TLS from the start instead.
    ``logins`` (user -> password) requires ``AUTH`` (offered only over TLS);
    ``logged_in`` and ``failed_logins`` count the attempts.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        logins: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.refusals: dict[str, str] = {}
        self.logins = logins
        self.logged_in = 0
        self.failed_logins = 0
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._received: list[ReceivedEmail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> SmtpRecorder:
        options: dict[str, Any] = {}
        if self._tls is not None and self._implicit_tls:
            options["ssl_context"] = self._tls
        elif self._tls is not None:
            options.update(tls_context=self._tls, require_starttls=True)
        if self.logins is not None and self._implicit_tls:
            # aiosmtpd counts only STARTTLS as TLS (and warns about requiring AUTH without
            # it): over implicit TLS, AUTH is offered and checked but not required.
            options.update(authenticator=self._authenticate, auth_require_tls=False)
        elif self.logins is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        self._controller = Controller(
            _RecordingHandler(self), hostname=self.host, port=self.port, **options
        )
        self._controller.start()
        return self

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        logins = self.logins or {}
        ok = (
            isinstance(data, LoginPassword)
            and logins.get(data.login.decode()) == data.password.decode()
        )
        if ok:
            self.logged_in += 1
        else:
            self.failed_logins += 1
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[ReceivedEmail]:
        with self._changed:
            return list(self._received)

    def messages_for(self, key: str) -> list[ReceivedEmail]:
        """Every message received with header ``X-OMS-Key: key``."""
        return [m for m in self.messages if m.key == key]

    def wait_for(
        self, predicate: Callable[[ReceivedEmail], bool], timeout: float = 5.0
    ) -> ReceivedEmail:
        """The first received message matching ``predicate``, waiting up to ``timeout`` s for it.

        Raises ``AssertionError`` listing what did arrive when none matches in time.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for received in self._received:
                    if predicate(received):
                        return received
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(m.key, m.subject) for m in self._received]
                    raise AssertionError(f"no matching message within {timeout}s; got {seen}")
                self._changed.wait(remaining)

    def clear(self) -> None:
        with self._changed:
            self._received.clear()

    def _add(self, received: ReceivedEmail) -> None:
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()


def smtp_recorder_fixture(
    *,
    name: str = "smtp_recorder",
    scope: Literal["function", "module", "session"] = "function",
) -> Any:
    """A pytest fixture named ``name`` yielding a started ``SmtpRecorder``; assign it to a
    module-level name in a test module or conftest.py."""

    @pytest.fixture(name=name, scope=scope)
    def _smtp_recorder() -> Iterator[SmtpRecorder]:
        with SmtpRecorder() as recorder:
            yield recorder

    return _smtp_recorder
