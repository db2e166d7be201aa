"""The embedded OMS that ``oms bench`` starts for itself, in a temporary folder on free ports.

Same shape as ``make run``: a file-backed Temporal dev server with the WAL
pragmas, the SMTP sink, the sandbox carrier, the worker(s), the API and,
for the pipeline, the simulated warehouse, each a subprocess so its CPU time
and memory can be measured with psutil. Plus the floor's own worker.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import make_url

from devtools.dev import prepare_store, provision_callers
from devtools.supervisor import Supervisor, free_port, http_ok, port_and_log
from oms.devserver import SERVER_BANNER, dev_server_command
from oms.settings import Settings, child_environment

# Enough stock that a benchmark never backorders (every order must reach `completed`).
BENCH_STOCK = 10_000_000


def throwaway_settings(tmp: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for an OMS of its own in ``tmp``: every server on a free port, the simulated
    warehouse at full speed and the documented dev tokens (on PostgreSQL too: the store is
    a throwaway one)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "temporal_address": f"127.0.0.1:{free_port()}",
        "api_port": free_port(),
        "carrier_port": free_port(),
        "smtp_port": free_port(),
        "carrier_db_path": str(tmp / "carrier.db"),
        "mail_dir": str(tmp / "mail"),
        "simulate": True,
        "simulate_delay_s": 0.0,
        "graceful_shutdown_s": 2.0,
        "auth_dev_tokens": True,
        **overrides,
    }
    settings = Settings(**values)
    settings.api_url = f"http://127.0.0.1:{settings.api_port}"
    settings.carrier_url = f"http://127.0.0.1:{settings.carrier_port}"
    return settings


@dataclass
class Usage:
    """CPU seconds and peak RSS of every role over one measured phase."""

    cpu_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for role, cpu in self.cpu_s.items():
            out[f"{role}_cpu_s"] = round(cpu, 2)
        for role, rss in self.peak_rss_mb.items():
            out[f"{role}_peak_rss_mb"] = round(rss, 1)
        return out


class BenchStack:
    """Start, measure and stop the processes of one embedded OMS."""

    def __init__(
        self,
        tmp: Path,
        *,
        database_url: str | None = None,
        workers: int = 1,
        simulate: bool = True,
        max_cached_workflows: int | None = None,
        profile_worker: Path | None = None,
    ) -> None:
        self.tmp = tmp
        self.profile_worker = profile_worker
        self.workers = workers
        self.simulate = simulate
        extra: dict[str, Any] = {"simulate": simulate}
        if max_cached_workflows is not None:
            extra["max_cached_workflows"] = max_cached_workflows
        settings = throwaway_settings(tmp, database_url or f"sqlite:///{tmp / 'oms.db'}", **extra)
        self.settings = settings
        self._env = child_environment(settings)
        self.processes = Supervisor(log_dir=tmp)
        self.roles: dict[str, str] = {}  # name -> server, worker, api, simulator, floor, support
        self._rss_peak: dict[int, int] = {}
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Prepare the store, start every process and wait until the API answers."""
        prepare_store(self.settings, stock=BENCH_STOCK)
        # The bench and its simulated warehouse call with stored tokens, as production does.
        self.settings = provision_callers(self.settings)
        self._env = child_environment(self.settings)
        port = int(self.settings.temporal_address.rsplit(":", 1)[1])
        server = dev_server_command(str(self.tmp / "temporal.db"), port=port, ui_port=0, ui=False)
        ready = port_and_log(port, self.tmp / "temporal.log", SERVER_BANNER)
        self._start("temporal", "server", server, ready=ready)
        py = sys.executable
        # Ready before anything sends to them: a sink that cannot bind fails the start.
        smtp, carrier = self.settings.smtp_port, self.settings.carrier_port
        self._start("smtp-sink", "support", [py, "-m", "sandboxes.smtp_sink"], ready=smtp)
        self._start("carrier", "support", [py, "-m", "sandboxes.carrier"], ready=carrier)
        for n in range(self.workers):
            worker = [py, "-m", "workers.main"]
            if self.profile_worker is not None:  # pyinstrument writes its report at exit
                out = f"{self.profile_worker}-{n + 1}.txt"
                worker = [py, "-m", "pyinstrument", "-r", "text", "-o", out, "-m", "workers.main"]
            self._start(f"worker-{n + 1}", "worker", worker)
            self._start(f"floor-{n + 1}", "floor", [py, "-m", "devtools.floor.worker"])
        health = http_ok(f"{self.settings.api_url}/health")
        self._start("api", "api", [py, "-m", "starters.api.app"], ready=health, timeout_s=60)
        if self.simulate:
            self._start("simulator", "simulator", [py, "-m", "sandboxes.warehouse"])
        self._start_sampler()

    def _start(self, name: str, role: str, cmd: list[str], **ready: Any) -> None:
        self.processes.start(name, cmd, env=self._env, cwd=self.tmp, **ready)
        self.roles[name] = role

    def check_alive(self) -> None:
        """Raise ``ProcessExited`` naming the first process of the stack that has exited."""
        self.processes.check()

    def stop(self) -> None:
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        self.processes.stop_all()

    def pause(self, role: str) -> None:
        """Stop (SIGSTOP) a role's processes: they poll nothing until :meth:`resume`.

        Never while one of them holds the SQLite store's write lock: stopped inside a
        transaction it would hold the lock until resumed, and every POST of the phase would
        wait out the busy timeout and fail (503 StoreUnavailable, seen in the smoke test).
        Raises ``TimeoutError`` when no such moment comes within 30 s."""
        deadline = time.monotonic() + 30.0
        while True:
            self._signal_role(role, signal.SIGSTOP)
            if self._store_writable():
                return
            self._signal_role(role, signal.SIGCONT)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{role} kept the store's write lock for 30 s")
            time.sleep(0.05)

    def _store_writable(self) -> bool:
        """Whether a write transaction can begin on the store now (always, off SQLite)."""
        url = make_url(self.settings.database_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            return True
        conn = sqlite3.connect(url.database, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    def resume(self, role: str) -> None:
        self._signal_role(role, signal.SIGCONT)

    def _signal_role(self, role: str, signum: signal.Signals) -> None:
        for name, _pid in list(self.processes.pids()):
            if self.roles[name] == role:
                self.processes.send(name, signum)

    # --- measurement ---------------------------------------------------------------

    def _processes(self, role: str) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for name, pid in self.processes.pids():
            if self.roles[name] != role:
                continue
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                found += [proc, *proc.children(recursive=True)]
        return found

    def _start_sampler(self) -> None:
        def sample() -> None:
            while not self._sampling.wait(0.25):
                for _name, pid in self.processes.pids():
                    with contextlib.suppress(psutil.Error):
                        proc = psutil.Process(pid)
                        rss = sum(p.memory_info().rss for p in [proc, *proc.children(True)])
                        self._rss_peak[pid] = max(self._rss_peak.get(pid, 0), rss)

        self._sampler = threading.Thread(target=sample, name="bench-rss", daemon=True)
        self._sampler.start()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) used so far by each role's processes."""
        totals: dict[str, float] = {}
        for role in ("server", "worker", "api", "simulator", "floor"):
            total = 0.0
            for proc in self._processes(role):
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
            totals[role] = total
        return totals

    def rss_mb(self, role: str) -> float:
        """Current total RSS of a role's processes, in MB."""
        total = 0
        for proc in self._processes(role):
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 1e6

    def reset_peaks(self) -> None:
        self._rss_peak.clear()

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak RSS since the last reset: the largest process of each role, in MB."""
        peaks: dict[str, float] = {}
        for name, pid in self.processes.pids():
            peak = self._rss_peak.get(pid)
            if peak is not None:
                role = self.roles[name]
                peaks[role] = max(peaks.get(role, 0.0), peak / 1e6)
        return peaks


class Phase:
    """Measure CPU seconds and peak RSS of the stack's processes between enter and exit."""

    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        self.usage = Usage()
        self._before: dict[str, float] = {}

    def __enter__(self) -> Phase:
        self.stack.reset_peaks()
        self._before = self.stack.cpu_seconds()
        return self

    def __exit__(self, *_exc: object) -> None:
        after = self.stack.cpu_seconds()
        self.usage.cpu_s = {role: after[role] - self._before.get(role, 0.0) for role in after}
        self.usage.peak_rss_mb = self.stack.peak_rss_mb()
