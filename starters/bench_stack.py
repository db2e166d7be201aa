"""The embedded OMS that ``oms bench`` starts for itself, in a temporary folder on free ports.

Same shape as ``make run``: a file-backed Temporal dev server with the WAL
pragmas, the SMTP sink, the sandbox carrier, the worker(s), the API and,
for the pipeline, the simulated warehouse, each a subprocess so its CPU time
and memory can be measured with psutil. Plus the floor's own worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from oms.devserver import dev_server_command
from oms.settings import Settings
from oms.store.db import Database
from oms.store.inventory import set_stock
from oms.store.migrate import upgrade
from oms.store.seed import STOCK, seed_demo

# Enough stock that a benchmark never backorders (every order must reach `completed`).
BENCH_STOCK = 10_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def wait_for_port(port: int, timeout_s: float, name: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port} within {timeout_s} s")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build exactly ``settings``."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:  # unset optional settings stay unset
            env[f"OMS_{name.upper()}"] = str(value)
    return env


@dataclass
class Child:
    name: str
    role: str  # server, worker, api, simulator, floor, support
    proc: subprocess.Popen[bytes]


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
        self.children: list[Child] = []
        self._rss_peak: dict[int, int] = {}
        self._sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Prepare the store, start every process and wait until the API answers."""
        self.prepare_store()
        port = int(self.settings.temporal_address.rsplit(":", 1)[1])
        server = dev_server_command(str(self.tmp / "temporal.db"), port=port, ui_port=0, ui=False)
        self._spawn("temporal", "server", server)
        wait_for_port(port, 30, "Temporal dev server")
        py = sys.executable
        self._spawn("smtp-sink", "support", [py, "-m", "activities.adapters.smtp_sink"])
        self._spawn("carrier", "support", [py, "-m", "activities.adapters.carrier_sandbox"])
        for n in range(self.workers):
            worker = [py, "-m", "workers.main"]
            if self.profile_worker is not None:  # pyinstrument writes its report at exit
                out = f"{self.profile_worker}-{n + 1}.txt"
                worker = [py, "-m", "pyinstrument", "-r", "text", "-o", out, "-m", "workers.main"]
            self._spawn(f"worker-{n + 1}", "worker", worker)
            self._spawn(f"floor-{n + 1}", "floor", [py, "-m", "workers.floor"])
        self._spawn("api", "api", [py, "-m", "starters.api.app"])
        self.wait_for_api()
        if self.simulate:
            self._spawn("simulator", "simulator", [py, "-m", "workers.simulator"])
        self._start_sampler()

    def prepare_store(self) -> None:
        upgrade(self.settings.database_url)
        db = Database(self.settings.database_url)
        try:
            with db.session() as session:
                seed_demo(session)
            with db.session() as session:
                for warehouse_id, sku in STOCK:
                    set_stock(session, warehouse_id, sku, BENCH_STOCK)
        finally:
            db.dispose()

    def wait_for_api(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.settings.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the API did not answer within {timeout_s} s (logs in {self.tmp})")

    def _spawn(self, name: str, role: str, cmd: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd,
            cwd=self.tmp,
            env=settings_env(self.settings),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.children.append(Child(name, role, proc))

    def check_alive(self) -> None:
        """Raise ``RuntimeError`` naming the first process of the stack that has exited."""
        self._check_alive()

    def _check_alive(self) -> None:
        for child in self.children:
            code = child.proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"{child.name} exited with {code}; see {self.tmp}/{child.name}.log"
                )

    def stop(self) -> None:
        self._sampling.set()
        if self._sampler is not None:
            self._sampler.join(timeout=5)
        for child in reversed(self.children):
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()

    def pause(self, role: str) -> None:
        """Stop (SIGSTOP) a role's processes: they poll nothing until :meth:`resume`."""
        self._signal_role(role, signal.SIGSTOP)

    def resume(self, role: str) -> None:
        self._signal_role(role, signal.SIGCONT)

    def _signal_role(self, role: str, signum: signal.Signals) -> None:
        for child in self.children:
            if child.role == role and child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signum)

    # --- measurement ---------------------------------------------------------------

    def _processes(self, role: str) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for child in self.children:
            if child.role != role or child.proc.poll() is not None:
                continue
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(child.proc.pid)
                found += [proc, *proc.children(recursive=True)]
        return found

    def _start_sampler(self) -> None:
        def sample() -> None:
            while not self._sampling.wait(0.25):
                for child in self.children:
                    if child.proc.poll() is not None:
                        continue
                    with contextlib.suppress(psutil.Error):
                        proc = psutil.Process(child.proc.pid)
                        rss = sum(p.memory_info().rss for p in [proc, *proc.children(True)])
                        pid = child.proc.pid
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
        for child in self.children:
            peak = self._rss_peak.get(child.proc.pid)
            if peak is not None:
                peaks[child.role] = max(peaks.get(child.role, 0.0), peak / 1e6)
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
