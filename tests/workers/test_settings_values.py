"""An invalid setting stops every process before it starts, with one line per problem naming
the environment variable (not the field, not a traceback) and exit status 2."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import pytest
from pydantic import ValidationError
from temporalio.client import Schedule, ScheduleActionStartWorkflow, ScheduleSpec
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from oms.settings import Settings, load_settings, settings_problems
from oms.store.db import make_engine


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
        ("OMS_DATABASE_URL", "var/store.sqlite", "not a SQLite or PostgreSQL URL"),
        ("OMS_DATABASE_URL", "postgresql+psycopg2://oms:pw@db/oms", "'psycopg2' is not installed"),
        ("OMS_DATABASE_URL", "postgres+asyncpg://oms:pw@db/oms", "'asyncpg' is not installed"),
        ("OMS_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("OMS_LOW_STOCK_SCAN_CRON", "0 24 * * *", "hour '24' is not *, a value (0-23)"),
        ("OMS_TEMPORAL_UI_URL", "localhost:8233", "not an absolute http:// or https:// URL"),
        ("OMS_CARRIER_URL", "/carrier", "not an absolute http:// or https:// URL with a host"),
        ("OMS_CARRIER_URL", "http:///v1", "not an absolute http:// or https:// URL with a host"),
        ("OMS_API_URL", "ftp://oms.example", "URL with a host, nor empty"),
        ("OMS_API_URL", "http://oms.example:99999", "URL with a host, nor empty"),
        ("OMS_PAYMENTS_SANDBOX_URL", "http://ledger", "not a SQLite or PostgreSQL URL"),
        ("OMS_PAYMENTS_PROVIDER", "acme", "not 'sandbox' nor '<module>:<factory>'"),
        ("OMS_PAYMENTS_PROVIDER", "acme.pay:", "not 'sandbox' nor '<module>:<factory>'"),
        ("OMS_PAYMENTS_PROVIDER", "acme pay:build", "not 'sandbox' nor '<module>:<factory>'"),
        ("OMS_CARRIER_ADAPTER", "acme", "not 'http' nor '<module>:<factory>'"),
        ("OMS_CARRIER_ADAPTER", ":build", "not 'http' nor '<module>:<factory>'"),
        ("OMS_PAYMENTS_DECLINE_OVER", "-1", "not an amount (a number, 0 or more"),
        ("OMS_PAYMENTS_REFUND_DECLINE_OVER", "Infinity", "not an amount"),
        ("OMS_RETURN_AUTO_AUTHORIZE_UNDER", "NaN", "not an amount"),
        ("OMS_RETURN_AUTO_AUTHORIZE_UNDER", "2 000", "not an amount"),
        ("OMS_SUBSCRIPTION_DUNNING_S", "1d,3d", "not whole seconds above 0, comma-separated"),
        ("OMS_SUBSCRIPTION_DUNNING_S", "86400,,0", "not whole seconds above 0"),
        ("OMS_CARRIER_FAILURE_RATE_503", "1.5", "less than or equal to 1"),
        ("OMS_SMTP_TIMEOUT_S", "-1", "greater than 0"),
        ("OMS_WEBHOOKS_TIMEOUT_S", "inf", "finite number"),
        ("OMS_GRACEFUL_SHUTDOWN_S", "-5", "greater than or equal to 0"),
        ("OMS_API_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379", "needs the 'redis' package"),
        ("OMS_API_RATE_LIMIT_STORAGE", "postgres://db", "not a rate-limit storage URI"),
        ("OMS_API_RATE_LIMIT_STORAGE", "async+redis://db:6379", "not a rate-limit storage URI"),
        ("OMS_CODEC_KEYS", "k1:notbase64", "codec key 'k1' is not valid base64"),
        (
            "OMS_CODEC_KEYS",
            "dev-1:" + base64.b64encode(b"16-byte-key-abcd").decode(),
            "is 16 bytes",
        ),
        # A key pasted without its "id:": the line must not carry it (it goes to the logs).
        ("OMS_CODEC_KEYS", base64.b64encode(b"k" * 32).decode(), "entry 1 of 1 must look like id:"),
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


def test_a_codec_key_id_not_among_the_keys_is_one_line_naming_both_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OMS_CODEC_KEY_ID", "k9")
    with pytest.raises(SystemExit) as exit_:
        load_settings()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == "error: OMS_CODEC_KEY_ID: 'k9' is not among the ids in OMS_CODEC_KEYS (dev-1)"


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
        ("OMS_LOW_STOCK_SCAN_CRON", "CRON_TZ=Europe/Stockholm 30 5 * * MON-FRI"),
        ("OMS_LOW_STOCK_SCAN_CRON", ""),
        ("OMS_API_URL", "https://oms.example/api"),
        ("OMS_CARRIER_URL", "http://[::1]:8100"),
        ("OMS_TEMPORAL_UI_URL", "https://cloud.temporal.io"),
        ("OMS_PAYMENTS_SANDBOX_URL", "postgresql+psycopg://oms@db/ledger"),
        ("OMS_PAYMENTS_SANDBOX_URL", ""),
        ("OMS_PAYMENTS_PROVIDER", "sandbox"),
        ("OMS_PAYMENTS_PROVIDER", "acme_payments.oms_adapter:from_settings"),
        ("OMS_CARRIER_ADAPTER", "http"),
        ("OMS_CARRIER_ADAPTER", "acme_carrier:build"),
        ("OMS_PAYMENTS_DECLINE_OVER", "0"),
        ("OMS_RETURN_AUTO_AUTHORIZE_UNDER", "1500.50"),
        ("OMS_SUBSCRIPTION_DUNNING_S", "3600"),
        ("OMS_SUBSCRIPTION_DUNNING_S", "86400, 259200"),
        ("OMS_API_RATE_LIMIT_STORAGE", "memory://"),
    ],
)
def test_valid_values_still_pass(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    assert str(getattr(Settings(), variable.removeprefix("OMS_").lower())) == value


@pytest.mark.parametrize(
    "pasted",
    [
        "postgresql://oms:s3cret@db.internal:5432/oms?sslmode=require",
        "postgres://oms:s3cret@db.internal:5432/oms?sslmode=require",
        "postgres+psycopg://oms:s3cret@db.internal:5432/oms?sslmode=require",
    ],
)
def test_a_pasted_postgresql_url_gets_the_installed_driver(
    pasted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLAlchemy reads postgresql:// as psycopg2, which is not installed: the process passed
    # the settings check, then crashed with ModuleNotFoundError at its first query.
    url = "postgresql+psycopg://oms:s3cret@db.internal:5432/oms?sslmode=require"
    monkeypatch.setenv("OMS_DATABASE_URL", pasted)
    monkeypatch.setenv("OMS_PAYMENTS_SANDBOX_URL", pasted.replace("/oms?", "/ledger?"))
    settings = load_settings()
    assert settings.database_url == url
    assert settings.payments_sandbox_url == url.replace("/oms?", "/ledger?")
    # The engine is built with the driver that is there (no connection is made).
    engine = make_engine(settings.database_url)
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    finally:
        engine.dispose()


# What a Temporal schedule's cron string takes and refuses; test_temporal_agrees_on_the_crons
# checks both lists against the server.
GOOD_CRONS = [
    "0 6 * * *",
    "*/15 * * * *",
    "0 6 1-5/2,8 JAN-mar sun",
    "0 6 * * 7",
    "5/10 * * * *",
    "0 6 * * tu # a comment",
    "0 0 6 * * * 2030",  # 7 fields: second ... year
    "0 0 1 1 * 2100",  # 6 fields: ... year
    "@daily",
    "@midnight",
    "@annually",
    "@every 6h",
    "@every 1d/6h",
    "@every 1h30m",
    "TZ=UTC 0 6 * * *",
    "CRON_TZ=Europe/Stockholm 0 6 * * MON-FRI",
]
BAD_CRONS = [
    ("0 6 * *", "4 field(s), not 5"),
    ("0 6 * * * * * *", "8 field(s), not 5"),
    ("# only a comment", "0 field(s), not 5"),
    ("60 * * * *", "minute '60' is not *, a value (0-59)"),
    ("0 24 * * *", "hour '24'"),
    ("0 6 0 * *", "day-of-month '0' is not *, a value (1-31)"),
    ("0 6 * 13 *", "month '13' is not *, a value (1-12 or a name)"),
    ("0 6 * ja *", "month 'ja'"),
    ("0 6 * * 8", "day-of-week '8' is not *, a value (0-7 or a name)"),
    ("0 6 * * M", "day-of-week 'M'"),
    ("0 6 * * * 1999", "year '1999' is not *, a value (2000-2100)"),
    ("*/0 * * * *", "minute '*/0'"),
    ("5-1 * * * *", "minute '5-1'"),
    ("1,,2 * * * *", "minute '1,,2'"),
    ("0 6 * * 1-2-3", "day-of-week '1-2-3'"),
    ("0 6 * * 1/2/3", "day-of-week '1/2/3'"),
    ("0 6 ? * *", "day-of-month '?'"),
    ("0 6 L * *", "day-of-month 'L'"),
    ("@dayly", "'@dayly' is none of @hourly, @daily"),
    ("@every", "not @every <n><s|m|h|d>"),
    ("@every6h", "not @every"),
    ("@every 6x", "not @every"),
    ("@every 0s", "not @every"),
    ("CRON_TZ=Nowhere/Land 0 6 * * *", "'Nowhere/Land' is not an IANA time zone"),
]


@pytest.mark.parametrize("cron", GOOD_CRONS)
def test_a_cron_string_temporal_takes_passes(cron: str) -> None:
    assert Settings(low_stock_scan_cron=cron).low_stock_scan_cron == cron


@pytest.mark.parametrize(("cron", "reason"), BAD_CRONS)
def test_a_cron_string_temporal_refuses_stops_the_start_not_the_schedule(
    cron: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(low_stock_scan_cron=cron)
    [line] = settings_problems(error.value)
    assert line.startswith("OMS_LOW_STOCK_SCAN_CRON: ") and reason in line, line


async def test_temporal_agrees_on_the_crons(dev_server: WorkflowEnvironment) -> None:
    """The lists above are Temporal's own answers, not a guess at its syntax."""
    refused = set()
    run = uuid.uuid4().hex[:8]
    for n, cron in enumerate([*GOOD_CRONS, *(bad for bad, _ in BAD_CRONS)]):
        try:
            handle = await dev_server.client.create_schedule(
                f"cron-check-{run}-{n}",
                Schedule(
                    action=ScheduleActionStartWorkflow("Nothing", id=f"never-{n}", task_queue=run),
                    spec=ScheduleSpec(cron_expressions=[cron]),
                ),
            )
        except RPCError as error:
            assert error.status == RPCStatusCode.INVALID_ARGUMENT, error
            refused.add(cron)
        else:
            await handle.delete()
    assert refused == {bad for bad, _ in BAD_CRONS}


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


# The codec server: the worker and the API turn any settings error into that one line the
# same way (test_each_entry_point_stops_with_the_line_not_a_traceback), each ~5 s to start.
@pytest.mark.parametrize("module", ["starters.codec_server"])
def test_a_bad_codec_key_stops_each_process_with_one_line_that_hides_the_key(module: str) -> None:
    """It used to be a ValueError traceback (exit 1, or 3 from the API) carrying the key."""
    key = base64.b64encode(b"s" * 32).decode()
    env = dict(os.environ, OMS_CODEC_KEYS=key)
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "error: OMS_CODEC_KEYS: codec key entry 1 of 1 must look like id:base64key\n"
    )
