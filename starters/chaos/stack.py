"""The OMS that a chaos scenario starts for itself, and the faults it can inject into it.

Every part is a child process on free ports in the scenario's own folder, as
``make run`` has them: a file-backed Temporal dev server (WAL pragmas, so a
restart keeps every workflow), the SMTP sink (every message indexed with its
business key), the sandbox carrier (its own label store), the worker, the API
and the simulated warehouse. The worker may get its own database URL (the DB
outage scenario points it at a proxy); the API, simulator and audit use the
store directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from oms.devserver import dev_server_command
from oms.settings import Settings
from oms.store.db import Database
from oms.store.inventory import set_stock
from oms.store.migrate import upgrade
from oms.store.seed import STOCK, seed_demo
from starters.bench_stack import free_port, settings_env, throwaway_settings, wait_for_port

# Enough that no scenario backorders: every order must be able to reach `completed`.
CHAOS_STOCK = 100_000
# The sandbox carrier posts each tracking event up to 5 times; with this first backoff
# (doubling, capped at 5 s) it keeps trying for ~12 s, longer than a Temporal restart.
WEBHOOK_BACKOFF_S = 1.0
# Its first scan a second after the label, as a real carrier's comes later still: posted at
# once, it can beat the shipment's tracking number into the read model (a 404 it gives up on).
CARRIER_SCAN_DELAY_S = 1.0


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]


class ChaosStack:
    """Start, break and stop the processes of one OMS for one scenario."""

    def __init__(
        self,
        tmp: Path,
        database_url: str,
        *,
        worker_database_url: str | None = None,
        **overrides: Any,
    ) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        settings = throwaway_settings(tmp, database_url, **overrides)
        self.settings = settings
        self.worker_settings = settings.model_copy(
            update={"database_url": worker_database_url or database_url}
        )
        self.children: dict[str, Child] = {}
        self.db = Database(database_url)
        self.worker_kills = 0
        self.temporal_restarts = 0

    @property
    def temporal_port(self) -> int:
        return int(self.settings.temporal_address.rsplit(":", 1)[1])

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Prepare the store, start every process and wait until the API answers."""
        self.prepare_store()
        self.start_temporal()
        py = sys.executable
        self._spawn("smtp-sink", [py, "-m", "sandboxes.smtp_sink"])
        self._spawn("carrier", [py, "-m", "sandboxes.carrier"])
        self.start_worker()
        self._spawn("api", [py, "-m", "starters.api.app"])
        self.wait_for_api()
        wait_for_port(self.settings.carrier_port, 30, "sandbox carrier")
        self.configure_carrier(
            webhook_backoff_s=WEBHOOK_BACKOFF_S, simulate_delay_s=CARRIER_SCAN_DELAY_S
        )
        self._spawn("simulator", [py, "-m", "sandboxes.warehouse"])

    def prepare_store(self) -> None:
        upgrade(self.settings.database_url)
        with self.db.session() as session:
            seed_demo(session)
        with self.db.session() as session:
            for warehouse_id, sku in STOCK:
                set_stock(session, warehouse_id, sku, CHAOS_STOCK)

    def wait_for_api(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.settings.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the API did not answer within {timeout_s} s (logs in {self.tmp})")

    def stop(self) -> None:
        for name in reversed(list(self.children)):
            self._signal(name, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
        self.db.dispose()

    # --- faults --------------------------------------------------------------------

    def start_temporal(self, *, same_port: bool = False) -> None:
        """Start the dev server on its file; retried, as a port picked free can be taken
        before the server binds it (then on a new port, unless it must keep its address)."""
        for attempt in range(5):
            cmd = dev_server_command(
                str(self.tmp / "temporal.db"), port=self.temporal_port, ui_port=0, ui=False
            )
            self._spawn("temporal", cmd)
            proc = self.children["temporal"].proc
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                with socket.socket() as sock:
                    sock.settimeout(0.5)
                    if sock.connect_ex(("127.0.0.1", self.temporal_port)) == 0:
                        break
                time.sleep(0.1)
            time.sleep(0.3)  # a server that lost the port race exits right after binding fails
            if proc.poll() is None:
                return
            self.children.pop("temporal")
            if same_port:
                time.sleep(1.0 + attempt)
                continue
            address = f"127.0.0.1:{free_port()}"
            self.settings.temporal_address = address
            self.worker_settings.temporal_address = address
        raise RuntimeError(f"the Temporal dev server did not start (logs in {self.tmp})")

    def restart_temporal(self, down_s: float = 1.0) -> None:
        """Stop the dev server (SIGTERM), keep it down ``down_s``, start it on the same file."""
        self._stop_child("temporal", signal.SIGTERM)
        time.sleep(down_s)
        self.start_temporal(same_port=True)
        self.temporal_restarts += 1

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "-m", "workers.main"], self.worker_settings)

    def kill_worker(self) -> None:
        """SIGKILL the worker: no graceful shutdown, activities die mid-call."""
        self._stop_child("worker", signal.SIGKILL)
        self.worker_kills += 1

    def configure_carrier(self, **changes: Any) -> dict[str, Any]:
        """Change the sandbox carrier's behaviour at runtime (failure rates, backoff)."""
        response = httpx.put(
            f"{self.settings.carrier_url}/v1/sandbox/config", json=changes, timeout=10
        )
        response.raise_for_status()
        return dict(response.json())

    # --- internals -----------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str], settings: Settings | None = None) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd,
            cwd=self.tmp,
            env=settings_env(settings or self.settings),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.children[name] = Child(name, proc)

    def _signal(self, name: str, sig: signal.Signals) -> None:
        child = self.children.get(name)
        if child is not None and child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, sig)

    def _stop_child(self, name: str, sig: signal.Signals) -> None:
        self._signal(name, sig)
        child = self.children.pop(name)
        try:
            child.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()

    def _check_alive(self) -> None:
        for child in self.children.values():
            code = child.proc.poll()
            if code is not None:
                raise RuntimeError(f"{child.name} exited with {code}; see {self.tmp}")
