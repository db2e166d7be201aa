"""Alembic environment: runs on the connection ``oms.store.migrate`` hands over.

``oms.store.migrate`` puts an open connection in ``config.attributes["connection"]``;
without one (the ``alembic`` CLI), the URL comes from ``sqlalchemy.url`` or
``OMS_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from oms.store.db import make_engine
from oms.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return str(
        config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("OMS_DATABASE_URL", "sqlite:///var/oms.db")
    )


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite alters tables by copying them; autogenerate must write batch ops for it.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
