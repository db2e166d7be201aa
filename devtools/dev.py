"""``oms dev`` (``make run``): the whole OMS in the foreground on its embedded defaults.

Migrates and seeds the SQLite store, then starts and supervises: the Temporal
dev server (file-backed, WAL pragmas, search attributes, Web UI), the SMTP
sink, the webhook sink (with an endpoint registered for it), the sandbox
carrier, the codec server the Web UI decrypts payloads with, the worker (all
queues), the HTTP API and, with ``OMS_SIMULATE=1``, the simulated warehouse.
Ctrl-C stops everything; if any process dies the rest are stopped too, so
nothing half-runs unnoticed.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devtools.demo.catalogue import STOCK, seed_demo
from devtools.supervisor import Supervisor, port_open
from oms.devserver import dev_server_command
from oms.domain.auth import OPERATOR_SUBJECT, SIMULATOR_SUBJECT
from oms.models.webhooks import EndpointIn
from oms.settings import Settings, load_settings, temporal_environment
from oms.store import paging, tokens, webhooks
from oms.store.db import Database
from oms.store.inventory import set_stock
from oms.store.migrate import upgrade
from sandboxes.webhook_sink import sink_url
from starters.codec_server import PREFIX as CODEC_PREFIX

TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
CODEC_PORT = 8234
METRICS_PORT = 9464
# The codec server's token for the temporal CLI (the UI is trusted by its origin instead).
CODEC_TOKEN_FILE = Path("var/codec-token")
# The variables only the dev launcher reads (Settings has no field for them).
TEMPORAL_PORT_VARIABLE = "OMS_DEV_TEMPORAL_PORT"
TEMPORAL_UI_PORT_VARIABLE = "OMS_DEV_TEMPORAL_UI_PORT"
DEV_VARIABLES = frozenset({TEMPORAL_PORT_VARIABLE, TEMPORAL_UI_PORT_VARIABLE})


@dataclass(frozen=True)
class DevPorts:
    """The ports of ``make run``'s own servers: the defaults, or others for a second
    ``make run`` on one machine. The embedded Temporal server's come from
    ``OMS_DEV_TEMPORAL_PORT`` / ``OMS_DEV_TEMPORAL_UI_PORT`` (not ``TEMPORAL_ADDRESS``, which
    a developer's shell may point at another cluster); the codec server's from
    ``OMS_CODEC_PORT``, the worker's metrics from ``OMS_METRICS_BIND``, the rest from their
    own ``OMS_*_PORT`` settings."""

    temporal: int = TEMPORAL_PORT
    temporal_ui: int = TEMPORAL_UI_PORT
    codec: int = CODEC_PORT
    metrics_bind: str = f"127.0.0.1:{METRICS_PORT}"

    @classmethod
    def from_environment(cls, settings: Settings, environ: Mapping[str, str]) -> DevPorts:
        """Raises ``SystemExit`` naming a variable that is not a port number."""

        def port(name: str, default: int) -> int:
            value = environ.get(name, "").strip()
            if not value:
                return default
            if not value.isdigit() or not 0 < int(value) < 65536:
                sys.exit(f"{name}={value!r} is not a port number (1-65535)")
            return int(value)

        return cls(
            temporal=port(TEMPORAL_PORT_VARIABLE, TEMPORAL_PORT),
            temporal_ui=port(TEMPORAL_UI_PORT_VARIABLE, TEMPORAL_UI_PORT),
            codec=settings.codec_port,
            metrics_bind=settings.metrics_bind or f"127.0.0.1:{METRICS_PORT}",
        )


def prepare_store(settings: Settings, *, stock: int | None = None) -> None:
    """Migrate the store to the latest schema and load the demo catalogue (idempotent);
    with ``stock``, set every demo SKU in every warehouse to that many units."""
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            seed_demo(session)
        if stock is not None:
            with db.session() as session:
                for warehouse_id, sku in STOCK:
                    set_stock(session, warehouse_id, sku, stock)
    finally:
        db.dispose()


# The stored tokens make run's own callers use, created at each start (docs/security.md),
# under the subjects whose refusals /ops/stuck shows (SIMULATOR_SUBJECT, OPERATOR_SUBJECT).


def provision_callers(settings: Settings) -> Settings:
    """Stored API tokens for the OMS's own callers, as production callers have: a
    warehouse token for the simulated warehouse and an admin token for the demo, the CLI,
    the bench and the chaos harness; returns ``settings`` carrying them (``token``,
    ``simulator_token``). Earlier ones of the same callers are revoked. So these callers
    work the same whether dev tokens are on (SQLite on loopback) or off (PostgreSQL)."""
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            simulator = tokens.provision(session, "warehouse", SIMULATOR_SUBJECT)
            operator = tokens.provision(session, "admin", OPERATOR_SUBJECT)
    finally:
        db.dispose()
    return settings.model_copy(update={"token": operator, "simulator_token": simulator})


def save_operator_token(settings: Settings) -> None:
    """Write the operator token to ``token_file`` (owner-only), where the CLI and
    ``make demo`` find it when OMS_TOKEN is not set."""
    _write_private(Path(settings.token_file), settings.token)


def ensure_sink_endpoint(settings: Settings) -> str:
    """The secret of the webhook sink's endpoint (every event type), registered once."""
    url = sink_url(settings)
    db = Database(settings.database_url)
    try:
        with db.session() as session:
            for endpoint in webhooks.list_endpoints(session, limit=paging.MAX_LIMIT).items:
                secret = webhooks.endpoint_secret(session, endpoint.endpoint_id)
                if endpoint.url == url and secret is not None:
                    return secret
            body = EndpointIn(url=url, events=["*"], description="make run's webhook sink")
            return webhooks.create_endpoint(session, body).secret
    finally:
        db.dispose()


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    # Explicit handlers: a launcher started in the background inherits an ignored SIGINT,
    # and SIGTERM (from a process manager) should stop everything just as Ctrl-C does.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = load_settings()
    ports = DevPorts.from_environment(settings, os.environ)
    Path("var").mkdir(exist_ok=True)
    for port, what, variable in (
        (ports.temporal, "Temporal", TEMPORAL_PORT_VARIABLE),
        (ports.temporal_ui, "the Temporal UI", TEMPORAL_UI_PORT_VARIABLE),
        (settings.api_port, "the API", "OMS_API_PORT"),
        (settings.carrier_port, "the sandbox carrier", "OMS_CARRIER_PORT"),
        (settings.smtp_port, "the SMTP sink", "OMS_SMTP_PORT"),
        (settings.webhook_sink_port, "the webhook sink", "OMS_WEBHOOK_SINK_PORT"),
        (ports.codec, "the codec server", "OMS_CODEC_PORT"),
    ):
        if port_open(port):
            sys.exit(
                f"port {port} for {what} is already in use: is another `make run` running?"
                f" Stop it, or give this one other ports ({variable}; docs/configuration.md)"
            )
    print("Migrating and seeding the store:", settings.database_url, flush=True)
    prepare_store(settings)
    callers = provision_callers(settings)
    save_operator_token(callers)

    env = dict(os.environ)
    # The simulated warehouse signs in with its own stored token, never a dev token.
    env.setdefault("OMS_SIMULATOR_TOKEN", callers.simulator_token)
    # The sink listens on loopback over http; its relay starts with the worker.
    env.setdefault("OMS_WEBHOOKS_ALLOW_HTTP", "1")
    env.setdefault("OMS_WEBHOOK_SINK_SECRETS", ensure_sink_endpoint(settings))
    # Every process reaches the embedded server, whatever temporal.toml profile or
    # TEMPORAL_* variables this shell has for other clusters.
    env.pop("TEMPORAL_PROFILE", None)
    env.update(temporal_environment(Settings(temporal_address=f"127.0.0.1:{ports.temporal}")))
    env.setdefault("OMS_TEMPORAL_UI_URL", f"http://localhost:{ports.temporal_ui}")
    env.setdefault("OMS_CODEC_PORT", str(ports.codec))
    # The UI is trusted by its origin; the temporal CLI sends a token instead: one for this
    # machine, unless the shell names its own.
    codec_auth = "$OMS_CODEC_AUTH_TOKENS"
    if not env.get("OMS_CODEC_AUTH_TOKENS"):
        env["OMS_CODEC_AUTH_TOKENS"] = codec_cli_token()
        codec_auth = f"$(cat {CODEC_TOKEN_FILE})"
    # The embedded UI has no login and so cannot send the codec server a token: trust
    # requests from the UI's own origin (development only; docs/pii-encryption.md).
    env.setdefault("OMS_CODEC_TRUST_UI_ORIGIN", "1")
    env.setdefault(
        "OMS_CODEC_UI_ORIGINS",
        f"http://localhost:{ports.temporal_ui},http://127.0.0.1:{ports.temporal_ui}",
    )
    py = sys.executable
    processes = Supervisor()
    try:
        server = dev_server_command(
            "var/temporal.db",
            port=ports.temporal,
            ui_port=ports.temporal_ui,
            codec_endpoint=codec_endpoint(ports.codec),
        )
        processes.start("temporal", server, env=env, ready=ports.temporal)
        processes.start("smtp-sink", [py, "-m", "sandboxes.smtp_sink"], env=env)
        processes.start(
            "webhook-sink",
            [py, "-m", "sandboxes.webhook_sink"],
            env=env,
            ready=settings.webhook_sink_port,
        )
        processes.start("carrier", [py, "-m", "sandboxes.carrier"], env=env)
        processes.start("codec-server", [py, "-m", "starters.codec_server"], env=env)
        env.setdefault("OMS_METRICS_BIND", ports.metrics_bind)
        processes.start("worker", [py, "-m", "workers.main"], env=env)
        processes.start("api", [py, "-m", "starters.api.app"], env=env, ready=settings.api_port)
        if settings.simulate:
            processes.start("simulator", [py, "-m", "sandboxes.warehouse"], env=env)
        _banner(settings, ports, codec_auth)
        name, code = processes.wait_any()
        print(f"\n{name} exited with code {code}; stopping the rest.", flush=True)
    except KeyboardInterrupt:
        print("\nStopping the OMS...", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan children
        processes.stop_all()
        print("All OMS processes stopped.", flush=True)


def codec_cli_token(path: Path = CODEC_TOKEN_FILE) -> str:
    """The codec server's token for the ``temporal`` CLI on this machine: made once (random,
    in an owner-only file) and reused, so a command line written down keeps working."""
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_hex(16)
    _write_private(path, token)
    return token


def _write_private(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path``, readable by its owner only (made so before it holds
    anything)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(secret + "\n")


def _banner(settings: Settings, ports: DevPorts, codec_auth: str) -> None:
    other_temporal = (
        f"  Temporal CLI:  export TEMPORAL_ADDRESS=127.0.0.1:{ports.temporal}"
        " (not the default port)\n"
        if ports.temporal != TEMPORAL_PORT
        else ""
    )
    decrypted = (
        "  Decrypted:     .venv/bin/temporal workflow show -w order-<id>"
        f" --codec-endpoint {codec_endpoint(ports.codec)}"
        f' --codec-auth "Bearer {codec_auth}"\n'
    )
    print(
        "\n"
        "  Temporal OMS is running. Ctrl-C stops everything.\n"
        f"  API docs:      {settings.api_url}/docs\n"
        f"  Temporal UI:   http://localhost:{ports.temporal_ui}/namespaces/default/workflows\n"
        + other_temporal
        + f"  Codec server:  {codec_endpoint(ports.codec)} (the UI decrypts payloads with it;"
        " dev key)\n"
        + decrypted
        + f"  Mail (sink):   {settings.mail_dir}/ (one .eml per message, index.txt)\n"
        f"  Webhooks:      {settings.webhook_sink_dir}/ (one .json per delivery, signature"
        f" checked, index.txt; endpoint {sink_url(settings)})\n"
        f"  Carrier:       {settings.carrier_url} (sandbox)\n"
        f"  Metrics:       worker http://{ports.metrics_bind}/metrics, "
        f"API {settings.api_url}/metrics\n"
        f"  Simulation:    {'on' if settings.simulate else 'off'}"
        f" (OMS_SIMULATE, delay {settings.simulate_delay_s} s)\n"
        "  Try it:        make demo   (or the curl examples in README.md)\n"
        f"  Your token:    {settings.token_file} (admin; the CLI and make demo use it)\n"
        + (
            "  API tokens:    'Authorization: Bearer dev-<role>', e.g. dev-admin, dev-warehouse"
            " (docs/security.md)\n"
            if settings.dev_tokens_enabled()
            else "  API tokens:    dev tokens are off; create one: oms token create --role admin\n"
        ),
        flush=True,
    )


def codec_endpoint(port: int) -> str:
    """The codec server URL the Web UI calls (``/decode`` and ``/encode`` under it)."""
    return f"http://127.0.0.1:{port}{CODEC_PREFIX}"


if __name__ == "__main__":
    main()
