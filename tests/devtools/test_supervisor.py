"""The process supervisor behind ``oms dev``, the benchmark and the chaos stack."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from devtools.supervisor import ProcessExited, Supervisor, free_port, port_and_log, port_open

PY = sys.executable
SLEEP = [PY, "-c", "import time; time.sleep(60)"]


def _serve(port: int) -> list[str]:
    return [PY, "-m", "http.server", "--bind", "127.0.0.1", str(port)]


@pytest.mark.timeout(60)
def test_a_child_is_ready_when_its_port_opens_and_everything_stops_on_exit(tmp_path: Path) -> None:
    port = free_port()
    with Supervisor(log_dir=tmp_path) as processes:
        processes.start("web", _serve(port), cwd=tmp_path, ready=port)
        processes.start("sleeper", SLEEP)
        assert port_open(port)
        assert [name for name, _ in processes.pids()] == ["web", "sleeper"]
    assert not processes.running("web") and not processes.running("sleeper")
    assert not port_open(port)
    assert (tmp_path / "web.log").exists()


@pytest.mark.timeout(60)
def test_a_child_that_exits_while_starting_is_reported_by_name(tmp_path: Path) -> None:
    with Supervisor(log_dir=tmp_path) as processes:
        with pytest.raises(ProcessExited, match=r"broken exited with code 3; see .*broken\.log"):
            processes.start("broken", [PY, "-c", "raise SystemExit(3)"], ready=free_port())
        assert not processes.running("broken")


@pytest.mark.timeout(60)
def test_an_unexpected_exit_ends_the_wait_but_a_kill_on_purpose_does_not(tmp_path: Path) -> None:
    with Supervisor(log_dir=tmp_path) as processes:
        processes.start("worker", SLEEP)
        processes.kill("worker")
        processes.check()  # killed on purpose: not an error
        assert "worker" not in dict(processes.pids())
        pid = processes.restart("worker")
        assert processes.running("worker") and dict(processes.pids())["worker"] == pid
        processes.start("short", [PY, "-c", "import time; time.sleep(0.3)"])
        assert processes.wait_any(poll_s=0.05) == ("short", 0)


@pytest.mark.timeout(60)
def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + (
        "print('up', flush=True); time.sleep(60)"
    )
    processes = Supervisor(log_dir=tmp_path, stop_timeout_s=0.5)
    processes.start(
        "stubborn", [PY, "-c", stubborn], ready=lambda: "up" in _read(tmp_path / "stubborn.log")
    )
    started = time.monotonic()
    processes.stop_all()
    assert not processes.running("stubborn")
    assert time.monotonic() - started < 10


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.timeout(60)
def test_children_stop_one_after_the_other_the_last_started_first(tmp_path: Path) -> None:
    # The later child (a worker) still needs the earlier one (a server) while it stops: on
    # SIGTERM it waits a moment, then records whether the server still answers.
    port, seen = free_port(), tmp_path / "seen.txt"
    user = (
        "import signal, socket, sys, time\n"
        "def stop(*_):\n"
        "    time.sleep(0.5)\n"
        "    try:\n"
        f"        socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
        "        answer = 'up'\n"
        "    except OSError:\n"
        "        answer = 'down'\n"
        f"    open({str(seen)!r}, 'w').write(answer)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    with Supervisor(log_dir=tmp_path) as processes:
        processes.start("server", _serve(port), cwd=tmp_path, ready=port)
        processes.start(
            "user", [PY, "-c", user], ready=lambda: "up" in _read(tmp_path / "user.log")
        )
    assert seen.read_text() == "up"
    assert not processes.running("server") and not port_open(port)


def test_a_server_is_ready_when_its_port_answers_and_its_log_says_so_anew(tmp_path: Path) -> None:
    """Another process on the port picked free must not pass for the server: the check also
    wants the server's banner, and one printed by an earlier run does not count."""
    log = tmp_path / "temporal.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        ready = port_and_log(port, log, "Temporal Server:")
        assert not ready()  # the port answers, but nothing said it serves
        log.write_text("Temporal Server:      localhost:1\n")
        assert ready()
        again = port_and_log(port, log, "Temporal Server:")  # a restart on the same log
        assert not again()
        with log.open("a") as out:
            out.write("Temporal Server:      localhost:1\n")
        assert again()
    assert not again()  # said so, but the port no longer answers
