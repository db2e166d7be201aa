"""The email-kill reproduction: a sender SIGKILLed mid-send, every email received, at least once."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from devtools.chaos.email_kill import main
from oms.ports.email import message_id_for


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_sender_killed_again_and_again_loses_no_email_and_repeats_only_the_same_message_id(
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
    assert re.search(r"lost 0, duplicates \d+ \(of \d+ keys, each the same Message-ID again\)", out)
    assert "other Message-ID 0, not sent 0" in out
    index = (tmp_path / "mail" / "index.txt").read_text(encoding="utf-8").splitlines()
    copies: defaultdict[str, list[str]] = defaultdict(list)
    for line in index:
        fields = line.split("\t")
        copies[fields[4]].append(fields[6])
    # Emails from every sender that was killed; a key that arrived twice (killed between
    # the server's reply and the outbox's mark) arrived as the same message both times.
    assert {key.split("-")[1] for key in copies} >= {"0", "1", "2"}
    assert all(set(ids) == {message_id_for(key)} for key, ids in copies.items())
    duplicates = sum(len(ids) - 1 for ids in copies.values())
    assert f"duplicates {duplicates} " in out
