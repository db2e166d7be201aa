"""`make run` wires the codec server into the dev server's Web UI, and the CLI runs it."""

from __future__ import annotations

import base64
import subprocess
import sys

from devtools.dev import CODEC_PORT, codec_endpoint
from oms.devserver import dev_server_command, temporal_cli
from starters.cli import cli


def test_dev_server_command_points_the_ui_at_the_codec_server() -> None:
    cmd = dev_server_command("var/t.db", codec_endpoint=codec_endpoint(CODEC_PORT))
    at = cmd.index("--ui-codec-endpoint")
    assert cmd[at + 1] == "http://127.0.0.1:8234/codec"
    # A headless server has no UI to point anywhere.
    headless = dev_server_command(None, ui=False, codec_endpoint=codec_endpoint(CODEC_PORT))
    assert "--ui-codec-endpoint" not in headless


def test_the_bundled_temporal_cli_knows_the_flag() -> None:
    help_text = subprocess.run(
        [temporal_cli(), "server", "start-dev", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert "--ui-codec-endpoint" in help_text


def test_cli_has_codec_server_and_codec_key_commands() -> None:
    assert "codec-server" in cli.commands
    key = subprocess.run(
        [sys.executable, "-m", "starters.cli", "codec-key"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert len(base64.b64decode(key, validate=True)) == 32
