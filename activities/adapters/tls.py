"""The TLS context the OMS's outbound HTTP clients verify servers with, made once a process.

httpx builds a fresh verified context for every client it creates unless it is given one,
and building one reads and parses the whole CA bundle (~40 ms of CPU on the 2-core
development machine: `httpx.create_ssl_context()` timed in a loop). A process that
creates a client per stack, per caller or per call (the sandboxes, the simulated warehouse,
the test stacks) pays that every time; sharing one context is safe across clients and threads.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context() -> ssl.SSLContext:
    """httpx's default verified context (its CA bundle, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when set), created on the first call and shared after."""
    return httpx.create_ssl_context()
