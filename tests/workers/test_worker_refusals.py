"""A worker that must not run stops before it polls anything, with one line naming the
setting and exit status 2: the sandbox payment provider outside development, or an
adapter (``OMS_PAYMENTS_PROVIDER``, ``OMS_CARRIER_ADAPTER``) that cannot be imported or
built. ``main`` runs in process: each case stops before Temporal is reached."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from oms.codec import new_key
from oms.settings import Settings
from workers import main as worker_main

REAL_KEYS = {"OMS_CODEC_KEYS": f"k1:{new_key()}", "OMS_CODEC_KEY_ID": "k1"}


@pytest.fixture(autouse=True)
def _no_logging_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``main`` points the root logger at stderr; the tests keep pytest's handlers. The store
    is this test's own, so nothing lands in the working copy."""
    monkeypatch.setattr(worker_main.logs, "configure", lambda *_a, **_k: None)
    monkeypatch.setenv("OMS_DATABASE_URL", f"sqlite:///{tmp_path / 'oms.db'}")


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``oms worker argv``; assert exit status 2 and return its one line on stderr."""
    with pytest.raises(SystemExit) as exit_:
        worker_main.main(argv)
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: "), line
    return line


def test_the_sandbox_provider_outside_development_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, value in REAL_KEYS.items():
        monkeypatch.setenv(name, value)
    line = refused(["--queues", "inventory,payments"], capsys)
    assert "sandbox provider" in line and "OMS_ALLOW_SANDBOX_PAYMENTS" in line
    assert "OMS_PAYMENTS_PROVIDER" in line
    # Refused before the sandbox was built: it made no ledger.
    assert not list(tmp_path.glob("*payments-sandbox*"))


def test_the_sandbox_runs_in_development_or_when_the_operator_says_so() -> None:
    real = {"codec_keys": REAL_KEYS["OMS_CODEC_KEYS"], "codec_key_id": "k1"}
    assert Settings(_env_file=None).sandbox_payments_problem() is None  # make run, tests
    assert Settings(_env_file=None, **real).sandbox_payments_problem() is not None
    allowed = Settings(_env_file=None, allow_sandbox_payments=True, **real)
    assert allowed.sandbox_payments_problem() is None
    own = Settings(_env_file=None, payments_provider="acme_pay.adapter:build", **real)
    assert own.sandbox_payments_problem() is None


def test_a_worker_without_the_payments_queue_is_not_refused_for_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the payments queue takes payments: a carrier worker with real keys gets past the
    check (and stops, here, at a carrier adapter that does not exist)."""
    for name, value in REAL_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMS_CARRIER_ADAPTER", "acme_nope.carrier:from_settings")
    assert refused(["--queues", "carrier"], capsys).startswith("error: OMS_CARRIER_ADAPTER: ")


async def test_a_worker_builds_only_the_adapters_its_queues_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A workflows worker needs no carrier package nor payment provider installed: with
    neither importable it gets as far as Temporal (here: a stop that is already set)."""
    monkeypatch.setenv("OMS_CARRIER_ADAPTER", "acme_nope.carrier:from_settings")
    monkeypatch.setenv("OMS_PAYMENTS_PROVIDER", "acme_nope.payments:from_settings")
    reached: list[str] = []

    async def no_temporal(*_args: object, **_kwargs: object) -> None:
        reached.append("connect")
        raise ConnectionError("no Temporal in this test")

    monkeypatch.setattr(worker_main, "connect", no_temporal)
    with pytest.raises(ConnectionError):
        await worker_main.run_workers(Settings(), ["workflows"], asyncio.Event())
    assert reached == ["connect"]


@pytest.mark.parametrize(
    ("variable", "value", "queues", "reason"),
    [
        (
            "OMS_PAYMENTS_PROVIDER",
            "acme_nope.adapter:from_settings",
            "payments",
            "cannot import acme_nope.adapter: ModuleNotFoundError: No module named 'acme_nope'",
        ),
        (
            "OMS_CARRIER_ADAPTER",
            "acme_nope.carrier:from_settings",
            "carrier",
            "cannot import acme_nope.carrier: ModuleNotFoundError",
        ),
        (
            "OMS_PAYMENTS_PROVIDER",
            "oms_test_adapters:missing",
            "payments",
            "oms_test_adapters has no callable missing",
        ),
        (
            "OMS_PAYMENTS_PROVIDER",
            "oms_test_adapters:broken",
            "payments",
            "oms_test_adapters:broken could not be built: RuntimeError: no key in the secret",
        ),
        (
            "OMS_CARRIER_ADAPTER",
            "oms_test_adapters:broken",
            "carrier",
            "oms_test_adapters:broken could not be built: RuntimeError: no key in the secret",
        ),
        (
            "OMS_PAYMENTS_PROVIDER",
            "oms_test_adapters_raising:build",
            "payments",
            "cannot import oms_test_adapters_raising: KeyError: 'ACME_KEY'",
        ),
    ],
)
def test_an_adapter_that_cannot_be_imported_or_built_is_one_line_and_exit_2(
    variable: str,
    value: str,
    queues: str,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    (tmp_path / "oms_test_adapters.py").write_text(
        "def broken(settings):\n    raise RuntimeError('no key in the secret\\nsecond line')\n"
    )
    (tmp_path / "oms_test_adapters_raising.py").write_text("import os\nos.environ['ACME_KEY']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("oms_test_adapters", "oms_test_adapters_raising"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setenv(variable, value)
    line = refused(["--queues", queues], capsys)
    assert line.startswith(f"error: {variable}: ") and reason in line, line
