"""A local SMTP server for development: every message becomes a readable ``.eml`` file.

``make run`` starts it so the OMS's email can be read without a mail
provider: each message is written to ``<mail_dir>/<timestamp>-<subject>.eml``
(text parts decoded to UTF-8, so the file reads as plain text and still opens
in a mail client) and summarised on one line of ``<mail_dir>/index.txt``: time,
sender, recipients, subject, ``X-OMS-Key``, file name and ``Message-ID``, tab-separated
(``-`` for a header the message lacks).

Run it on its own with ``python -m sandboxes.smtp_sink``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import re
import signal
import threading
import unicodedata
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import FrameType
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

# Headers as UTF-8, not RFC 2047 words (refolded, or the source's encoded form is kept):
# the file is for people to read.
_READABLE = email.policy.default.clone(utf8=True, refold_source="all")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MailDirHandler:
    """aiosmtpd handler storing each message in ``mail_dir`` and indexing it."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            path = self.store(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        except OSError:
            log.exception("could not store a message in %s", self.mail_dir)
            return "451 4.3.0 could not store the message"
        return f"250 OK stored as {path.name}"

    def store(self, mail_from: str, rcpt_tos: list[str], content: bytes | str) -> Path:
        """Write one message to the mail folder and index it; return the file's path."""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        subject = " ".join(str(message.get("Subject", "")).split())
        key = str(message.get("X-OMS-Key", ""))
        message_id = str(message.get("Message-ID", ""))
        now = datetime.now(UTC)
        with self._lock:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
            path = self._new_path(now, subject)
            try:
                body = _readable(message)
            except (ValueError, LookupError):
                # An odd charset or line length: keep the message exactly as it arrived.
                body = raw
            path.write_bytes(body)
            summary = "\t".join(
                _one_line(field)
                for field in (
                    now.isoformat(timespec="seconds"),
                    mail_from,
                    ", ".join(rcpt_tos),
                    subject,
                    key,
                    path.name,
                    message_id,
                )
            )
            with (self.mail_dir / "index.txt").open("a", encoding="utf-8") as index:
                index.write(summary + "\n")
        log.info("mail to %s: %s -> %s", ", ".join(rcpt_tos), subject, path)
        return path

    def _new_path(self, now: datetime, subject: str) -> Path:
        # "Åtgärd krävs" -> "Atgard-kravs": accents dropped, anything else unsafe -> "-".
        ascii_subject = unicodedata.normalize("NFKD", subject).encode("ascii", "ignore").decode()
        slug = _UNSAFE.sub("-", ascii_subject).strip("-")[:60] or "no-subject"
        stem = f"{now:%Y%m%dT%H%M%S.%f}Z-{slug}"
        path = self.mail_dir / f"{stem}.eml"
        n = 1
        while path.exists():
            n += 1
            path = self.mail_dir / f"{stem}-{n}.eml"
        return path


def _readable(message: EmailMessage) -> bytes:
    """The message with its text parts re-encoded as 8-bit UTF-8 instead of base64/QP."""
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_multipart():
            assert isinstance(part, EmailMessage)
            subtype = part.get_content_subtype()
            content = part.get_content()
            part.set_content(content, subtype=subtype, charset="utf-8", cte="8bit")
    return message.as_bytes(policy=_READABLE)


def _one_line(value: str) -> str:
    return " ".join(value.split()) or "-"


def start_sink(host: str, port: int, mail_dir: str | Path) -> Controller:
    """Start the sink on ``host:port`` in a background thread; ``.stop()`` the result to end it."""
    controller = Controller(MailDirHandler(Path(mail_dir)), hostname=host, port=port)
    controller.start()
    return controller


def parser() -> argparse.ArgumentParser:
    """The sink's command line (``oms smtp-sink``); unset options fall back to the settings."""
    parser = argparse.ArgumentParser(
        prog="oms smtp-sink", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--host", help="address to listen on (default: OMS_SMTP_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: OMS_SMTP_PORT)")
    parser.add_argument("--mail-dir", help="where messages are written (default: OMS_MAIL_DIR)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the sink in the foreground until Ctrl-C or SIGTERM."""
    from oms.settings import load_settings

    settings = load_settings()
    args = parser().parse_args(argv)
    args.host = args.host or settings.smtp_host
    args.port = args.port or settings.smtp_port
    args.mail_dir = args.mail_dir or settings.mail_dir
    logging.basicConfig(level=logging.INFO, format="%(asctime)s smtp-sink %(message)s")
    # aiosmtpd logs every SMTP command at INFO; one line per stored message is enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    controller = start_sink(args.host, args.port, args.mail_dir)
    log.info("listening on %s:%d, writing to %s", args.host, args.port, args.mail_dir)
    try:
        stop.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
