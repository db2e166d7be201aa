"""A worker started on a store that ``oms db`` has not migrated yet says so in one line and
runs on (its activities fail and are retried until the store is migrated): before, the
webhook relays' start logged the SQL error, statement and all."""

from __future__ import annotations

import logging

import pytest

from oms.settings import Settings
from oms.store.db import Database
from oms.store.migrate import upgrade
from workers.main import ensure_relays


async def test_relays_on_an_unmigrated_store_are_one_warning_naming_oms_db(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(sqlite_url)
    try:
        with caplog.at_level(logging.WARNING, logger="oms"):
            # No endpoint is read, so Temporal is never asked.
            await ensure_relays(None, Settings(database_url=sqlite_url), db)  # type: ignore[arg-type]
        [record] = [r for r in caplog.records if "relays" in r.getMessage()]
        message = record.getMessage()
        assert "\n" not in message and "SELECT" not in message
        assert message.startswith("webhook relays not (re)started: store not migrated (no tables")
        assert message.endswith("run oms db (--no-seed for a store without the demo catalogue)")

        caplog.clear()
        upgrade(sqlite_url)
        with caplog.at_level(logging.WARNING, logger="oms"):
            await ensure_relays(None, Settings(database_url=sqlite_url), db)  # type: ignore[arg-type]
        assert caplog.records == []
    finally:
        db.dispose()
