"""The development SMTP sink writes every message it receives to a readable file."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from activities.adapters.email_smtp import SmtpMailer
from oms.ports.email import message_id_for
from sandboxes.smtp_sink import start_sink

from smtp_fixtures import free_port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    mail_dir = tmp_path / "mail"  # does not exist yet: the sink creates it
    controller = start_sink("127.0.0.1", port, mail_dir)
    yield port, mail_dir
    controller.stop()


def test_message_sent_with_smtplib_appears_as_eml_named_after_its_subject(
    sink: tuple[int, Path],
) -> None:
    port, mail_dir = sink
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.sendmail(
            "a@example.com",
            ["b@example.com"],
            b"From: a@example.com\r\nTo: b@example.com\r\nSubject: Hello sink / test\r\n"
            b"\r\nplain body\r\n",
        )

    files = list(mail_dir.glob("*.eml"))
    assert len(files) == 1
    assert files[0].name.endswith("-Hello-sink-test.eml")
    stored = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert stored["Subject"] == "Hello sink / test"
    index = (mail_dir / "index.txt").read_text(encoding="utf-8").splitlines()
    assert len(index) == 1
    assert index[0].endswith("\tb@example.com\tHello sink / test\t-\t" + files[0].name + "\t-")


def test_mailer_output_is_stored_readable_in_utf8_and_indexed_with_its_key(
    sink: tuple[int, Path],
) -> None:
    port, mail_dir = sink
    mailer = SmtpMailer("127.0.0.1", port, "orders@oms.example", timeout=5)
    context = {
        "customer_name": "Åsa",
        "order_id": "A-7",
        "reason": "kunden ångrade sig",
        "customer_note": "kunden ångrade sig",
    }
    for key in ("A-7:cancelled", "A-8:cancelled"):
        mailer.send(key, "asa@example.com", mailer.render("order_cancelled", "sv", context))
    context = {"customer_name": "Åsa", "order_id": "A-9", "total": "10 kr", "reason": "nekad"}
    mailer.send("A-9:on_hold", "asa@example.com", mailer.render("order_on_hold", "sv", context))

    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == 3
    assert files[2].name.endswith("-Atgard-kravs-betalningen-for-order-A-9-nekades.eml")
    # Headers and body readable as they are, no base64 or =?utf-8?...?= words.
    assert "Subject: Åtgärd krävs: betalningen för order A-9 nekades\n" in files[2].read_text(
        encoding="utf-8"
    )
    text = files[0].read_text(encoding="utf-8")
    assert "Subject: Order A-7 har avbrutits" in text
    assert "Orsak: kunden ångrade sig" in text
    assert "X-OMS-Key: A-7:cancelled" in text
    stored = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    body = stored.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Din order A-7 har avbrutits." in body.get_content()
    index = (mail_dir / "index.txt").read_text(encoding="utf-8").splitlines()
    keys = [line.split("\t")[4] for line in index]
    assert keys == ["A-7:cancelled", "A-8:cancelled", "A-9:on_hold"]
    assert [line.split("\t")[6] for line in index] == [message_id_for(key) for key in keys]
