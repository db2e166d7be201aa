"""One process supervisor for ``oms dev``, the benchmark's stack and the chaos stack.

``Supervisor`` starts named child processes (argv, env, cwd), each in a session of its own
so a signal reaches the whole process group (a worker's subprocesses too), waits until each
is ready (a port that accepts connections, or any callable), sends its output to the
terminal or to ``<log_dir>/<name>.log``, and stops them all in reverse start order, one
after the other: SIGTERM, then SIGKILL for one still running after the timeout. One child
can be signalled, stopped, killed and started again by name (chaos SIGKILLs the worker and
restarts it).

Raises ``ProcessExited`` when a child that should be running has exited (while starting, or
from ``check``), so nothing half-runs unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

Readiness = int | Callable[[], bool] | None


class ProcessExited(RuntimeError):
    """A child exited while it should have been running."""

    def __init__(self, name: str, code: int, where: str) -> None:
        super().__init__(f"{name} exited with code {code}{where}")
        self.name = name
        self.code = code


# Ports handed out for servers: below Linux's default range of ports for outgoing
# connections (32768-60999), so a client's connection cannot take one between the check
# here and the server's bind (the kernel's own pick, port 0, comes from that range: under
# load a bench's SMTP sink lost its port that way).
_SERVER_PORTS = range(20000, 32768)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (another process that
    asks at the same moment may get it too: the range is wide enough to make that rare)."""
    for _ in range(100):
        port = random.choice(_SERVER_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # the range is full: whatever the kernel gives
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_and_log(port: int, log: Path, marker: str) -> Callable[[], bool]:
    """A readiness check: ``port`` accepts connections and ``log`` has gained a line holding
    ``marker`` since the check was made. For a server that prints when it serves: another
    process that took a port picked free cannot pass for it (the Temporal dev server binds
    its port late, after seconds of set-up, and only then prints its banner)."""

    def said() -> int:
        with contextlib.suppress(FileNotFoundError):
            return log.read_text(errors="replace").count(marker)
        return 0

    before = said()

    def ready() -> bool:
        return said() > before and port_open(port)

    return ready


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness check: ``GET url`` answers 200."""

    def ready() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url, timeout=2).status_code == 200
        return False

    return ready


@dataclass
class _Child:
    argv: list[str]
    env: Mapping[str, str] | None
    cwd: Path | None
    proc: subprocess.Popen[bytes]
    stopped: bool = False  # stopped on purpose: not an unexpected exit


@dataclass
class Supervisor:
    """Start, watch and stop a set of named child processes.

    ``log_dir``: each child's stdout and stderr are appended to ``<log_dir>/<name>.log``;
    without it they go to this process's terminal. ``stop_timeout_s``: how long a SIGTERM
    has before SIGKILL.
    """

    log_dir: Path | None = None
    stop_timeout_s: float = 15.0
    _children: dict[str, _Child] = field(default_factory=dict)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready: Readiness = None,
        timeout_s: float = 30.0,
    ) -> int:
        """Start ``argv`` as ``name`` and wait until ``ready`` (a port on 127.0.0.1, or a
        callable returning True); return its pid. Raises ``ProcessExited`` (and forgets it)
        if it exits first, ``TimeoutError`` if it is not ready in ``timeout_s``."""
        old = self._children.get(name)
        if old is not None and old.proc.poll() is None:
            raise RuntimeError(f"{name} is already running")
        log: IO[bytes] | None = None
        if self.log_dir is not None:
            log = (self.log_dir / f"{name}.log").open("ab")
        try:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            if log is not None:
                log.close()  # the child has its own descriptor
        self._children[name] = _Child(list(argv), None if env is None else dict(env), cwd, proc)
        if ready is not None:
            self.wait_ready(name, ready, timeout_s)
        return proc.pid

    def wait_ready(self, name: str, ready: Readiness, timeout_s: float = 30.0) -> None:
        """Wait until ``name`` is ready, checking that every child is still running."""
        check = (lambda: port_open(ready)) if isinstance(ready, int) else ready
        deadline = time.monotonic() + timeout_s
        while check is not None and not check():
            try:
                self.check()
            except ProcessExited as err:
                if err.name == name:
                    self._children.pop(name)
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not ready within {timeout_s} s{self._where(name)}")
            time.sleep(0.1)

    def check(self) -> None:
        """Raise ``ProcessExited`` for the first child that exited without being stopped."""
        for name, child in self._children.items():
            code = child.proc.poll()
            if code is not None and not child.stopped:
                raise ProcessExited(name, code, self._where(name))

    def wait_any(self, poll_s: float = 0.5) -> tuple[str, int]:
        """Block until a child exits unexpectedly; its name and exit code."""
        while True:
            try:
                self.check()
            except ProcessExited as err:
                return err.name, err.code
            time.sleep(poll_s)

    def running(self, name: str) -> bool:
        child = self._children.get(name)
        return child is not None and child.proc.poll() is None

    def pids(self) -> Iterator[tuple[str, int]]:
        """Name and pid of every child still running, in start order."""
        for name, child in list(self._children.items()):
            if child.proc.poll() is None:
                yield name, child.proc.pid

    def send(self, name: str, sig: signal.Signals) -> None:
        """Send ``sig`` to the process group of ``name`` if it is running."""
        child = self._children.get(name)
        if child is not None and child.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, sig)

    def stop(
        self, name: str, sig: signal.Signals = signal.SIGTERM, timeout_s: float | None = None
    ) -> None:
        """Stop one child with ``sig``, SIGKILL after ``timeout_s`` (default: the
        supervisor's); ``restart`` starts it again."""
        self._children[name].stopped = True
        self.send(name, sig)
        self._reap(name, self.stop_timeout_s if timeout_s is None else timeout_s)

    def kill(self, name: str) -> None:
        """SIGKILL one child: no graceful shutdown."""
        self.stop(name, signal.SIGKILL)

    def restart(self, name: str, *, ready: Readiness = None, timeout_s: float = 30.0) -> int:
        """Stop ``name`` if it runs, then start it again with the same argv, env and cwd."""
        if self.running(name):
            self.stop(name)
        child = self._children[name]
        return self.start(
            name, child.argv, env=child.env, cwd=child.cwd, ready=ready, timeout_s=timeout_s
        )

    def forget(self, name: str) -> None:
        """Stop ``name`` if it runs and drop it (``restart`` no longer knows it)."""
        if name in self._children:
            self.stop(name)
            del self._children[name]

    def stop_all(self) -> None:
        """Stop every child in reverse start order, each only once the one started after it
        has exited: SIGTERM, then SIGKILL if it outlives ``stop_timeout_s``.

        One at a time because the later ones use the earlier ones: a worker stopping
        gracefully still reports its last activities to the Temporal server, which must
        not be gone already (it was: the worker then retried against a closed port).
        """
        for name in reversed(self._children):
            self._children[name].stopped = True
            self.send(name, signal.SIGTERM)
            self._reap(name, self.stop_timeout_s)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop_all()

    def _reap(self, name: str, timeout_s: float) -> None:
        proc = self._children[name].proc
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def _where(self, name: str) -> str:
        return f"; see {self.log_dir / f'{name}.log'}" if self.log_dir is not None else ""
