"""An invalid setting stops every process before it starts, with one line per problem naming
the environment variable (not the field, not a traceback) and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from oms.settings import Settings, load_settings


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("OMS_PICK_SLA_S", "abc", "Input should be a valid integer"),
        ("OMS_SMTP_PORT", "99999", "less than or equal to 65535"),
        ("OMS_API_PORT", "0", "greater than or equal to 1"),
        ("OMS_BASE_CURRENCY", "XYZ", "not a currency the OMS prices in"),
        ("OMS_MERCHANT_COUNTRY", "XX", "ISO 3166-1 alpha-2"),
        ("OMS_API_AUTH_FAILURES_PER_IP", "lots", "not a rate limit"),
        ("OMS_METRICS_BIND", "nonsense", "not host:port"),
        ("OMS_HEALTH_BIND", "0.0.0.0:http", "not host:port"),
        ("OMS_DATABASE_URL", "foo://", "not a SQLite or PostgreSQL URL"),
        ("OMS_LOG_FORMAT", "xml", "'text' or 'json'"),
    ],
)
def test_an_invalid_value_is_one_line_naming_its_variable_and_exit_2(
    variable: str,
    value: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_:
        load_settings()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {variable}: ") and reason in line, line
    assert value not in line.removeprefix(f"error: {variable}")  # values may be secrets


def test_every_problem_gets_its_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_PICK_SLA_S", "abc")
    monkeypatch.setenv("OMS_SMTP_PORT", "99999")
    with pytest.raises(SystemExit):
        load_settings()
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "OMS_PICK_SLA_S" in err and "OMS_SMTP_PORT" in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OMS_DATABASE_URL", "postgresql+psycopg://oms:secret@db:5432/oms"),
        ("OMS_DATABASE_URL", "sqlite:///:memory:"),
        ("OMS_METRICS_BIND", "0.0.0.0:9464"),
        ("OMS_HEALTH_BIND", "[::]:8081"),
        ("OMS_API_AUTH_FAILURES_PER_IP", "10/second"),
        ("OMS_BASE_CURRENCY", "EUR"),
        ("OMS_MERCHANT_COUNTRY", "DE"),
        ("OMS_SMTP_PORT", "587"),
    ],
)
def test_valid_values_still_pass(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    assert str(getattr(Settings(), variable.removeprefix("OMS_").lower())) == value


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "workers.main"],
        ["-m", "starters.api.app"],
        ["-m", "starters.cli", "dev"],
        ["-m", "starters.cli", "order", "list"],
    ],
    ids=["worker", "api", "oms dev", "oms order list"],
)
def test_each_entry_point_stops_with_the_line_not_a_traceback(argv: list[str]) -> None:
    env = dict(os.environ, OMS_PICK_SLA_S="abc")
    done = subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: OMS_PICK_SLA_S: Input should be a valid integer, unable to parse string as an "
        "integer\n"
    )
