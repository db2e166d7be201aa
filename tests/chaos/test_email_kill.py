"""The email-kill reproduction: a sender SIGKILLed mid-send, every email received once."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.chaos.email_kill import main


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_sender_killed_again_and_again_delivers_every_email_once(
    tmp_path: Path, postgres_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "--kills",
            "3",
            "--threads",
            "4",
            "--postgres",
            postgres_server_url,
            "--workdir",
            str(tmp_path),
        ]
    )

    out = capsys.readouterr().out
    assert rc == 0, out
    assert "lost 0, doubled 0, not sent 0" in out
    index = (tmp_path / "mail" / "index.txt").read_text(encoding="utf-8").splitlines()
    keys = [line.split("\t")[4] for line in index]
    # Emails from every sender that was killed, each key once.
    assert {key.split("-")[1] for key in keys} >= {"0", "1", "2"}
    assert len(keys) == len(set(keys)) > 0
