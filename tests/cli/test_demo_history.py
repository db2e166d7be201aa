"""``oms demo --history`` (part of ``make demo``) writes the generated history once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from oms.store.db import Database
from oms.store.tables import OrderRow

ROOT = Path(__file__).resolve().parents[2]


def oms(*argv: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMS_DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "starters.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.slow
def test_demo_history_is_written_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'oms.db'}"  # not migrated yet: the command does it
    first = oms("demo", "--history", "--days", "14", database_url=url)
    assert first.returncode == 0, first.stderr
    assert "Order history written" in first.stdout
    # The report page asks a browser to log in: the line pointing at it says how.
    assert "/reports (the browser asks you to log in: any user name" in first.stdout
    db = Database(url)
    try:
        with db.session() as session:
            written = session.scalar(select(func.count()).select_from(OrderRow))
        second = oms("demo", "--history", "--days", "14", database_url=url)
        assert second.returncode == 0, second.stderr
        assert "nothing added" in second.stdout
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(OrderRow)) == written
    finally:
        db.dispose()
    assert written is not None and written > 150
    assert f"{written} orders over 14 days" in first.stdout
