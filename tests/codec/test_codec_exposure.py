"""The codec server refuses a placeholder bearer token beyond loopback, as the API refuses its
public secrets (tests/api/test_exposure.py).

Before: ``OMS_CODEC_HOST=0.0.0.0`` with ``OMS_CODEC_AUTH_TOKENS=change-me`` (a sample file's
value) started and decrypted customer data for anyone who sent that token.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from oms.settings import Settings

from stack import ROOT

pytestmark = [pytest.mark.timeout(120)]

PLACEHOLDERS = ["change-me", "CHANGEME-codec", "dev-codec-token", "a-real-token, change-me-too"]


def _settings(host: str, tokens: str) -> Settings:
    return Settings(_env_file=None, codec_host=host, codec_auth_tokens=tokens)


@pytest.mark.parametrize("tokens", PLACEHOLDERS)
def test_a_placeholder_token_is_refused_beyond_loopback_and_fine_on_it(tokens: str) -> None:
    for host in ("0.0.0.0", "10.0.0.5", "codec.example.internal", "::"):
        problem = _settings(host, tokens).codec_exposure_problem()
        assert problem is not None
        assert problem.startswith("OMS_CODEC_AUTH_TOKENS: a placeholder token")
        assert f"listens on {host}, beyond loopback" in problem
    for host in ("127.0.0.1", "localhost", "::1"):
        assert _settings(host, tokens).codec_exposure_problem() is None


def test_real_tokens_or_none_are_fine_beyond_loopback() -> None:
    # No token: it accepts none (compose and the k8s manifest refuse or allow that on purpose).
    for tokens in ("", "a-real-token", "3f9c0e2a,another-real-one", " , "):
        assert _settings("0.0.0.0", tokens).codec_exposure_problem() is None


def test_the_codec_server_stops_with_one_line_naming_the_variable_and_not_the_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_")}
    env |= {
        "OMS_CODEC_HOST": "0.0.0.0",
        "OMS_CODEC_PORT": "1",  # never reached: it must stop before it listens
        "OMS_CODEC_AUTH_TOKENS": "a-real-token,change-me-codec",
    }
    done = subprocess.run(
        [sys.executable, "-m", "starters.codec_server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: OMS_CODEC_AUTH_TOKENS: a placeholder token")
    assert done.stderr.count("\n") == 1
    assert "change-me-codec" not in done.stderr and "a-real-token" not in done.stderr
