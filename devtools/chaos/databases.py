"""Throwaway PostgreSQL databases for the scenarios that need a server.

Kept apart from the harness so that the email-kill sender, which starts again and
again, imports only what it uses.
"""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sandboxes.payments import LEDGER_DATABASE_SUFFIX


class PostgresDatabase:
    """A database of its own on a PostgreSQL server, created for one scenario, dropped after."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"oms_chaos_{uuid.uuid4().hex[:10]}"
        base = make_url(server_url)
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self._admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def drop(self) -> None:
        """Drop the store and the sandbox payment ledger its workers made beside it."""
        with self._admin.connect() as conn:
            for name in (self.name, f"{self.name}{LEDGER_DATABASE_SUFFIX}"):
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        self._admin.dispose()
