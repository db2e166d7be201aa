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

import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from devtools.bench.stack import throwaway_settings
from devtools.dev import prepare_store, provision_callers
from devtools.supervisor import ProcessExited, Supervisor, free_port, http_ok, port_and_log
from oms.devserver import SERVER_BANNER, dev_server_command
from oms.settings import Settings, child_environment
from oms.store.db import Database

# Enough that no scenario backorders: every order must be able to reach `completed`.
CHAOS_STOCK = 100_000
# The sandbox carrier posts each tracking event up to 5 times; with this first backoff
# (doubling, capped at 5 s) it keeps trying for ~12 s, longer than a Temporal restart.
WEBHOOK_BACKOFF_S = 1.0
# Its first scan a second after the label, as a real carrier's comes later still: posted at
# once, it can beat the shipment's tracking number into the read model (a 404 it gives up on).
CARRIER_SCAN_DELAY_S = 1.0


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
        self.processes = Supervisor(log_dir=tmp)
        self.db = Database(database_url)
        self.worker_kills = 0
        self.temporal_restarts = 0

    @property
    def temporal_port(self) -> int:
        return int(self.settings.temporal_address.rsplit(":", 1)[1])

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Prepare the store, start every process and wait until the API answers."""
        prepare_store(self.settings, stock=CHAOS_STOCK)
        # The harness and the simulated warehouse call with stored tokens, as production does.
        self.settings = provision_callers(self.settings)
        self.start_temporal()
        py = sys.executable
        self._start("smtp-sink", [py, "-m", "sandboxes.smtp_sink"])
        self.start_worker()
        self.start_api()
        # After the API: the carrier posts its tracking events to the API's final address.
        self._start("carrier", [py, "-m", "sandboxes.carrier"], ready=self.settings.carrier_port)
        self.configure_carrier(
            webhook_backoff_s=WEBHOOK_BACKOFF_S, simulate_delay_s=CARRIER_SCAN_DELAY_S
        )
        self._start("simulator", [py, "-m", "sandboxes.warehouse"])

    def stop(self) -> None:
        self.processes.stop_all()
        self.db.dispose()

    # --- faults --------------------------------------------------------------------

    def start_temporal(self, *, same_port: bool = False) -> None:
        """Start the dev server on its file and wait for its banner; retried, as a port picked
        free can be taken before the server binds it (then on a new port, unless it must keep
        its address)."""
        for attempt in range(5):
            cmd = dev_server_command(
                str(self.tmp / "temporal.db"), port=self.temporal_port, ui_port=0, ui=False
            )
            ready = port_and_log(self.temporal_port, self.tmp / "temporal.log", SERVER_BANNER)
            try:
                self._start("temporal", cmd, ready=ready)
                return
            except ProcessExited as err:
                if err.name != "temporal":
                    raise
            except TimeoutError:
                pass
            self.processes.forget("temporal")
            if same_port:
                time.sleep(1.0 + attempt)
                continue
            address = f"127.0.0.1:{free_port()}"
            self.settings.temporal_address = address
            self.worker_settings.temporal_address = address
        raise RuntimeError(f"the Temporal dev server did not start (logs in {self.tmp})")

    def restart_temporal(self, down_s: float = 1.0) -> None:
        """Stop the dev server (SIGTERM), keep it down ``down_s``, start it on the same file."""
        self.processes.stop("temporal", signal.SIGTERM, timeout_s=20)
        time.sleep(down_s)
        self.start_temporal(same_port=True)
        self.temporal_restarts += 1

    def start_api(self) -> None:
        """Start the API and wait until it answers; on a new port when another process took
        the one picked free before the API bound it (uvicorn exits: address already in use)."""
        log = self.tmp / "api.log"
        for _ in range(5):
            health = http_ok(f"{self.settings.api_url}/health")
            seen = log.read_text(errors="replace") if log.exists() else ""
            try:
                self._start(
                    "api", [sys.executable, "-m", "starters.api.app"], ready=health, timeout_s=60
                )
                return
            except ProcessExited as err:
                said = log.read_text(errors="replace")[len(seen) :]
                if err.name != "api" or "address already in use" not in said:
                    raise
            self.processes.forget("api")
            port = free_port()
            for settings in (self.settings, self.worker_settings):
                settings.api_port = port
                settings.api_url = f"http://127.0.0.1:{port}"
        raise RuntimeError(f"the API did not start (logs in {self.tmp})")

    def start_worker(self) -> None:
        self._start("worker", [sys.executable, "-m", "workers.main"], self.worker_settings)

    def kill_worker(self) -> None:
        """SIGKILL the worker: no graceful shutdown, activities die mid-call."""
        self.processes.kill("worker")
        self.worker_kills += 1

    def configure_carrier(self, **changes: Any) -> dict[str, Any]:
        """Change the sandbox carrier's behaviour at runtime (failure rates, backoff)."""
        response = httpx.put(
            f"{self.settings.carrier_url}/v1/sandbox/config", json=changes, timeout=10
        )
        response.raise_for_status()
        return dict(response.json())

    # --- internals -----------------------------------------------------------------

    def _start(
        self, name: str, cmd: list[str], settings: Settings | None = None, **ready: Any
    ) -> None:
        env = child_environment(settings or self.settings)
        self.processes.start(name, cmd, env=env, cwd=self.tmp, **ready)
