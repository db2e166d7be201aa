"""A worker that must not run stops before it polls anything, with one line naming the
setting and exit status 2: an adapter (``OMS_PAYMENTS_PROVIDER``, ``OMS_CARRIER_ADAPTER``)
that cannot be imported or built. ``main`` runs in process: each case stops before
Temporal is reached."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workers import main as worker_main


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
            "workflows",
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
