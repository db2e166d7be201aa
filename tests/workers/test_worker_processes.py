"""Worker processes: several under one command, stopped together; TLS settings for clusters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from temporalio.client import TLSConfig
from temporalio.testing import WorkflowEnvironment

from oms.client import tls_config
from oms.settings import Settings

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
