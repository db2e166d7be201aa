"""Worker processes: several under one command, stopped together; TLS settings for clusters."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from temporalio.client import TLSConfig
from temporalio.testing import WorkflowEnvironment

from oms.client import tls_config
from oms.settings import Settings
from workers.main import child_binds

ROOT = Path(__file__).resolve().parents[2]


def test_tls_is_off_for_the_dev_server_and_reads_the_pem_files_when_set(tmp_path: Path) -> None:
    assert tls_config(Settings()) is False
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    config = tls_config(Settings(temporal_tls_cert=str(cert), temporal_tls_key=str(key)))
    assert isinstance(config, TLSConfig)
    assert (config.client_cert, config.client_private_key) == (b"CERT", b"KEY")
    assert config.server_root_ca_cert is None
    with pytest.raises(FileNotFoundError):
        tls_config(Settings(temporal_tls_ca=str(tmp_path / "missing.pem")))


@pytest.mark.timeout(90)
@pytest.mark.slow
def test_processes_flag_runs_that_many_workers_and_stops_them_together(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env.update(
        TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host,
        OMS_DATABASE_URL=f"sqlite:///{tmp_path / 'oms.db'}",
        OMS_TASK_QUEUE_PREFIX="procs-",
        OMS_GRACEFUL_SHUTDOWN_S="1",
    )
    log = tmp_path / "workers.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.main", "--queues", "workflows", "--processes", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while len(parent.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        children = parent.children()
        assert len(children) == 2
        # Both must be running (imports done, signal handlers installed) before the stop:
        # a SIGTERM during start-up kills a child the default way.
        while log.read_text().count("worker running queues") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert log.read_text().count("worker running queues") == 2, log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert not any(child.is_running() and child.status() != "zombie" for child in children)
    finally:
        if proc.poll() is None:
            proc.kill()


def _free_port_pair() -> int:
    """A port whose next port up is free too (one health endpoint per process)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two free consecutive ports")


def test_each_process_gets_its_own_metrics_and_health_port() -> None:
    settings = Settings(metrics_bind="0.0.0.0:9464", health_bind="0.0.0.0:8081")
    assert child_binds(settings, 2) == [
        {"OMS_METRICS_BIND": "0.0.0.0:9464", "OMS_HEALTH_BIND": "0.0.0.0:8081"},
        {"OMS_METRICS_BIND": "0.0.0.0:9465", "OMS_HEALTH_BIND": "0.0.0.0:8082"},
    ]
    assert child_binds(Settings(), 2) == [{}, {}]
    # 9464..9466 and 9465..: the second process's metrics and the first one's health clash.
    with pytest.raises(ValueError, match=r"OMS_HEALTH_BIND .* overlap"):
        child_binds(Settings(metrics_bind="0.0.0.0:9464", health_bind="0.0.0.0:9465"), 3)
    with pytest.raises(ValueError, match="65535"):
        child_binds(Settings(health_bind="0.0.0.0:65535"), 2)


@pytest.mark.timeout(90)
@pytest.mark.slow
def test_every_process_serves_health_and_one_dying_stops_the_supervisor(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Each child used to get the same health port: the second died "Address already in
    use" and the supervisor went on with one. Now each has its own, and a child that dies
    stops the supervisor non-zero, so the pod (or the service manager) restarts it."""
    port = _free_port_pair()
    env = dict(os.environ)
    env.update(
        TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host,
        OMS_DATABASE_URL=f"sqlite:///{tmp_path / 'oms.db'}",
        OMS_TASK_QUEUE_PREFIX="procs-health-",
        OMS_GRACEFUL_SHUTDOWN_S="1",
        OMS_HEALTH_BIND=f"127.0.0.1:{port}",
    )
    log = tmp_path / "workers.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workers.main", "--queues", "workflows", "--processes", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        ready: set[int] = set()
        while ready != {port, port + 1} and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            for each in (port, port + 1):
                try:
                    if httpx.get(f"http://127.0.0.1:{each}/health/ready").status_code == 200:
                        ready.add(each)
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        assert ready == {port, port + 1}, log.read_text()
        children = psutil.Process(proc.pid).children()
        assert len(children) == 2
        children[1].kill()
        assert proc.wait(timeout=30) != 0
        assert "exited with status" in log.read_text()
        assert not children[0].is_running() or children[0].status() == "zombie"
    finally:
        if proc.poll() is None:
            proc.kill()
