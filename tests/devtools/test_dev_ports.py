"""``make run``'s ports (the defaults, or others so a second one fits on one machine) and
the codec token it gives the temporal CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.dev import DevPorts, codec_cli_token
from devtools.supervisor import free_port
from oms.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_keeps_its_documented_ports_by_default() -> None:
    ports = DevPorts.from_environment(Settings(), {})
    assert (ports.temporal, ports.temporal_ui, ports.codec) == (7233, 8233, 8234)
    assert ports.metrics_bind == "127.0.0.1:9464"


def test_every_server_of_make_run_can_move_to_other_ports() -> None:
    settings = Settings(codec_port=18234, metrics_bind="127.0.0.1:19464")
    environ = {"OMS_DEV_TEMPORAL_PORT": "17233", "OMS_DEV_TEMPORAL_UI_PORT": "18233"}
    ports = DevPorts.from_environment(settings, environ)
    assert (ports.temporal, ports.temporal_ui, ports.codec) == (17233, 18233, 18234)
    assert ports.metrics_bind == "127.0.0.1:19464"


@pytest.mark.parametrize("value", ["http", "0", "70000", "-1"])
def test_a_port_that_is_not_a_number_stops_make_run_naming_the_variable(value: str) -> None:
    with pytest.raises(SystemExit, match=f"OMS_DEV_TEMPORAL_UI_PORT={value!r} is not a port"):
        DevPorts.from_environment(Settings(), {"OMS_DEV_TEMPORAL_UI_PORT": value})


def test_a_taken_port_names_the_variable_that_moves_it(tmp_path: Path) -> None:
    """The check runs before anything starts: a second make run says what to set."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
        env |= {"OMS_ENV_FILE": "", "OMS_DEV_TEMPORAL_PORT": str(free_port())}
        env["OMS_DEV_TEMPORAL_UI_PORT"] = str(port)
        done = subprocess.run(
            [sys.executable, "-m", "devtools.dev"],
            cwd=tmp_path,
            env=env | {"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"port {port} for the Temporal UI is already in use" in done.stderr
    assert "OMS_DEV_TEMPORAL_UI_PORT" in done.stderr
    assert not (tmp_path / "var" / "oms.db").exists()  # nothing was started or migrated


def test_make_run_gives_the_temporal_cli_a_codec_token_of_this_machine(tmp_path: Path) -> None:
    """The UI is trusted by its origin; the temporal CLI needs a token to decrypt: made once,
    owner-only, and the same on the next make run (a command line written down still works)."""
    path = tmp_path / "var" / "codec-token"
    token = codec_cli_token(path)
    assert len(token) == 32 and token != codec_cli_token(tmp_path / "other")
    assert path.stat().st_mode & 0o777 == 0o600
    assert codec_cli_token(path) == token
