"""A real SMTP server for tests that keeps what it receives in memory.

    from smtp_fixtures import SmtpRecorder, smtp_recorder_fixture

    smtp_recorder = smtp_recorder_fixture()          # in a test module or conftest.py

    def test_x(smtp_recorder: SmtpRecorder) -> None:
        mailer = Mailer(smtp_recorder.host, smtp_recorder.port, "oms@test", 5)
        ...
        mail = smtp_recorder.wait_for(lambda m: m.key == "order-1:confirmed")
        assert mail.subject == "..."

``SmtpRecorder`` can also be started on a chosen port (to bring a "down"
server up mid-test) and told to refuse recipients with a given SMTP reply.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for a server that is "down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.refusals: dict[str, str] = {}
        self._received: list[ReceivedEmail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> SmtpRecorder:
        self._controller = Controller(_RecordingHandler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

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
