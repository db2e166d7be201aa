"""Settings for every OMS process, read from ``OMS_*`` environment variables and a dotenv
file (``.env`` in the working directory, or the file ``OMS_ENV_FILE`` names; the
environment wins over the file).

One object is built by each composition root (worker, API, CLI, dev launcher)
and passed down; nothing reads the environment at import time.

How to reach Temporal is the Temporal SDK's environment configuration, shared with the
``temporal`` CLI: a ``temporal.toml`` profile (``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``)
and the ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY`` and
``TEMPORAL_TLS*`` variables. The older ``OMS_TEMPORAL_*`` variables still work for one
release, with a warning; where both are set, the SDK's names win.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import warnings
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from temporalio.envconfig import ClientConfig

from oms.codec import DEV_KEY_B64, DEV_KEY_ID, DEV_KEYS, parse_keys
from oms.countries import COUNTRIES
from oms.cron import check_cron
from oms.models.common import SUPPORTED_CURRENCIES

# Re-exported for the processes that already read them from here.
from oms.queues import (  # noqa: F401
    ALL_QUEUES,
    CARRIER_QUEUE,
    EMAIL_QUEUE,
    INVENTORY_QUEUE,
    PAYMENTS_QUEUE,
    WEBHOOKS_QUEUE,
    WORKFLOW_QUEUE,
)

# The deprecated Temporal connection settings and the SDK's variable that replaces each.
DEPRECATED_TEMPORAL_SETTINGS = {
    "temporal_address": "TEMPORAL_ADDRESS",
    "temporal_namespace": "TEMPORAL_NAMESPACE",
    "temporal_api_key": "TEMPORAL_API_KEY",
    "temporal_tls": "TEMPORAL_TLS",
    "temporal_tls_cert": "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "temporal_tls_key": "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "temporal_tls_ca": "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
}

# Names the dotenv file the settings read (default ``.env``; empty: none). The tests point it
# at no file, so a developer's ``.env`` never reaches them (tests/conftest.py).
ENV_FILE_VARIABLE = "OMS_ENV_FILE"

# The variable names the dotenv file of the Settings being built holds (upper case): the
# deprecated OMS_TEMPORAL_* names count there as in the environment (``Settings.__init__``).
_DOTENV_NAMES: ContextVar[frozenset[str]] = ContextVar("_DOTENV_NAMES", default=frozenset())
# Why the dotenv file OMS_ENV_FILE names cannot be read, for the Settings being built
# (``Settings.__init__``; empty: it can, or none is named).
_ENV_FILE_PROBLEM: ContextVar[str] = ContextVar("_ENV_FILE_PROBLEM", default="")

# Public (it is in this file): only for make run on loopback (``Settings.exposure_problems``).
DEV_WEBHOOK_SECRET = "dev-carrier-webhook-secret"


def _database_url(value: str) -> str:
    """``value`` with its PostgreSQL driver named: ``postgresql://`` and ``postgres://`` (what
    providers and ``psql`` print) become ``postgresql+psycopg://``, the one driver installed
    (SQLAlchemy would pick psycopg2, which is not). Another PostgreSQL driver is refused."""
    scheme, found, rest = value.partition("://")
    dialect, _, driver = scheme.partition("+")
    if not found or dialect not in ("sqlite", "postgresql", "postgres"):
        raise ValueError(
            "not a SQLite or PostgreSQL URL (sqlite:///var/oms.db, "
            "postgresql+psycopg://user:password@host:5432/oms)"
        )
    if dialect == "sqlite":
        return value
    if driver not in ("", "psycopg"):
        raise ValueError(
            f"the PostgreSQL driver {driver!r} is not installed: use postgresql+psycopg:// "
            "(or postgresql://, which means it)"
        )
    return f"postgresql+psycopg://{rest}"


def _rate_limit(value: str) -> str:
    from limits import parse  # the API's rate limits read it the same way

    try:
        parse(value)
    except ValueError:
        raise ValueError("not a rate limit such as 600/minute or 10/second") from None
    return value


# The rate-limit storages the API's (synchronous) limiter can use: URI scheme -> the module
# the limits library needs for it. None of them is in an extra or the image.
_RATE_LIMIT_STORAGES = {
    "memory": None,
    **dict.fromkeys(("redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel"), "redis"),
    **dict.fromkeys(
        ("valkey", "valkeys", "valkey+unix", "valkey+cluster", "valkey+sentinel"), "valkey"
    ),
    "memcached": "pymemcache",
    "mongodb": "pymongo",
    "mongodb+srv": "pymongo",
}


def _rate_limit_storage(value: str) -> str:
    import importlib.util

    scheme = value.partition("://")[0] if "://" in value else ""
    if scheme not in _RATE_LIMIT_STORAGES:
        raise ValueError(
            "not a rate-limit storage URI (memory://, redis://host:6379, rediss://, "
            "redis+sentinel://, valkey://, memcached://, mongodb://)"
        )
    module = _RATE_LIMIT_STORAGES[scheme]
    if module and importlib.util.find_spec(module) is None:
        raise ValueError(
            f"{scheme}:// needs the {module!r} package, which no extra of the OMS installs and "
            f"the image does not have: install it (pip install {module}) where the API runs, "
            "in your own image built on the OMS's, or keep memory:// (per API process)"
        )
    return value


def _bind(value: str) -> str:
    host, _, port = value.rpartition(":")
    if value and not (host and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError("not host:port (e.g. 0.0.0.0:9464), nor empty")
    return value


def _currency(value: str) -> str:
    if value not in SUPPORTED_CURRENCIES:
        currencies = ", ".join(sorted(SUPPORTED_CURRENCIES))
        raise ValueError(f"not a currency the OMS prices in ({currencies})")
    return value


def _country(value: str) -> str:
    if value not in COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (e.g. SE)")
    return value


def _optional_database_url(value: str) -> str:
    try:
        return _database_url(value) if value else value
    except ValueError as error:
        raise ValueError(f"{error}, nor empty") from None


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not (parts.scheme in ("http", "https") and parts.hostname and port_ok) or any(
        c.isspace() for c in value
    ):
        raise ValueError("not an absolute http:// or https:// URL with a host")
    return value


def _optional_web_url(value: str) -> str:
    try:
        return _web_url(value) if value else value
    except ValueError:
        raise ValueError("not an absolute http:// or https:// URL with a host, nor empty") from None


def _amount(value: str) -> str:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise ValueError("not an amount (a number, 0 or more, such as 2000.00)")
    return value


# "<module>:<factory>": a dotted module path, a colon and the callable's name in it.
_ADAPTER_FACTORY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def _adapter(*built_in: str) -> AfterValidator:
    """A port's implementation: one of ``built_in`` or ``<module>:<factory>`` (the module is
    imported when a worker starts: workers/adapters.py)."""
    names = " or ".join(repr(name) for name in built_in)

    def check(value: str) -> str:
        if value not in built_in and not _ADAPTER_FACTORY.fullmatch(value):
            raise ValueError(
                f"not {names} nor '<module>:<factory>' (a callable in an importable module "
                "that takes the Settings and returns the adapter; docs/adapters.md)"
            )
        return value

    return AfterValidator(check)


def _codec_keys(value: str) -> str:
    parse_keys(value)  # its ValueError names an entry by id or position, never a key
    return value


def _seconds(value: str) -> str:
    if not all(part.strip().isdigit() and int(part) > 0 for part in value.split(",")):
        raise ValueError("not whole seconds above 0, comma-separated (such as 86400,259200)")
    return value


# A TCP port to listen on or connect to.
Port = Annotated[int, Field(ge=1, le=65535)]
DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
RateLimit = Annotated[str, AfterValidator(_rate_limit)]
# "host:port", or empty for none.
Bind = Annotated[str, AfterValidator(_bind)]
# An absolute http(s) URL; the optional one may be empty (then it is not set).
WebUrl = Annotated[str, AfterValidator(_web_url)]
OptionalWebUrl = Annotated[str, AfterValidator(_optional_web_url)]
# A money amount as a decimal string ("2000.00"): finite, 0 or more.
Amount = Annotated[str, AfterValidator(_amount)]
# Whole seconds above 0, comma-separated ("86400,259200"): a schedule of retries.
Seconds = Annotated[str, AfterValidator(_seconds)]
# A Temporal schedule's cron string, or empty for no schedule.
Cron = Annotated[str, AfterValidator(check_cron)]


class Settings(BaseSettings):
    """Configuration shared by the worker, API, CLI and dev launcher."""

    # The dotenv file is chosen when the settings are built (``__init__``), not here.
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    database_url: DatabaseUrl = "sqlite:///var/oms.db"
    # Where Temporal is: from the SDK's environment configuration (module docstring), unless
    # given in code (tests, launchers); OMS_TEMPORAL_* are deprecated.
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: WebUrl = "http://localhost:8233"
    # Reaching a cluster with mTLS (self-hosted or Temporal Cloud) or an API key (Cloud).
    # Deprecated: TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH, ... (the SDK's) replace them.
    temporal_tls: bool = False
    temporal_tls_cert: str = ""  # client certificate (PEM file)
    temporal_tls_key: str = ""  # its private key (PEM file)
    temporal_tls_ca: str = ""  # server root CA (PEM file); empty = the system's
    temporal_api_key: str = ""
    # How long the worker and the API keep trying to reach Temporal when they start (the
    # server may start after them: a pod, a compose service, a dev server still binding).
    # The CLI does not wait: it says at once that Temporal does not answer.
    temporal_connect_wait_s: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    # Payload encryption (oms/codec.py): "id:base64key,..." and the id new payloads use.
    # The default is a public development key: every real deployment sets both.
    codec_keys: Annotated[str, AfterValidator(_codec_keys)] = DEV_KEYS
    codec_key_id: str = DEV_KEY_ID
    # Refuse payloads that are not encrypted (a start or signal sent around the codec)?
    # Unset: yes whenever real keys are configured. False only while histories written
    # before encryption was switched on still replay.
    codec_require_encrypted: bool | None = None
    # Prefix for task queues, so tests can give every run its own queues.
    task_queue_prefix: str = ""

    api_host: str = "127.0.0.1"
    api_port: Port = 8000
    # Where the CLI, the simulated warehouse and the sandbox carrier reach the API. Unset:
    # http:// on OMS_API_HOST and OMS_API_PORT (127.0.0.1 for a wildcard host such as 0.0.0.0).
    api_url: OptionalWebUrl = ""
    # Largest request body the API reads (bytes); a larger one is a 413 before any parsing.
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # Host names the API answers to (comma-separated), besides localhost, 127.0.0.1, ::1,
    # OMS_API_HOST and the host of OMS_API_URL. Any other Host header is a 400 (DNS rebinding).
    api_allowed_hosts: str = ""
    # Accept the documented dev tokens (``dev-<role>``)? Unset: yes on the embedded
    # SQLite store when the API listens on loopback only. Production sets false and uses
    # ``oms token create``; true with the API on another interface refuses to start.
    auth_dev_tokens: bool | None = None
    # The bearer token the CLI, demo, simulator and benchmarks send (OMS_TOKEN). Unset: the
    # token in ``token_file`` (make run provisions one there), else dev-admin.
    token: str = "dev-admin"
    token_file: str = "var/api-token"
    # The token the simulated warehouse picks and packs with (OMS_SIMULATOR_TOKEN).
    simulator_token: str = "dev-warehouse"
    # Shared secret the carrier signs its webhook bodies with (HMAC SHA-256).
    carrier_webhook_secret: str = DEV_WEBHOOK_SECRET
    # How long a carrier event's id is remembered: a retry of the same event (the same
    # webhook-id, signed again at its own time) within it is acknowledged, not applied
    # again. Longer than the carrier's retry schedule (Standard Webhooks senders retry for
    # a day or more); at least the 5-minute signature tolerance.
    carrier_event_ids_kept_s: int = Field(default=3 * 24 * 3600, ge=300)
    # Rate limits (starters/api/ratelimit.py; the ``limits`` library's notation, e.g.
    # "600/minute"): failed authentications per client address and per presented token, and
    # carrier webhook requests per client address. Wide enough that make run, the bench and
    # the test suite never meet them; a brute force or a flood does.
    api_auth_failures_per_ip: RateLimit = "600/minute"
    api_auth_failures_per_token: RateLimit = "120/minute"
    carrier_webhook_rate_per_ip: RateLimit = "6000/minute"
    # Where the counts live: memory:// (per API process) or a limits storage URI such as
    # redis://host:6379 (shared by API replicas; needs the redis package, which no extra has:
    # checked when the settings are built).
    api_rate_limit_storage: Annotated[str, AfterValidator(_rate_limit_storage)] = "memory://"
    # Incoterms of parcels leaving the EU: DAP (the receiver pays duty and import VAT on
    # delivery) or DDP (the merchant does); printed on the customs declaration and invoice.
    customs_incoterms: Literal["DAP", "DDP"] = "DAP"

    # Empty: the sandbox carrier's own address (OMS_CARRIER_HOST / OMS_CARRIER_PORT).
    carrier_url: OptionalWebUrl = ""
    # The carrier adapter: "http" (the carrier HTTP API the sandbox speaks), or
    # "<module>:<factory>" (docs/adapters.md).
    carrier_adapter: Annotated[str, _adapter("http")] = "http"
    carrier_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # Sandbox carrier behaviour (read by the sandbox carrier service only).
    carrier_latency_ms: int = 0
    carrier_failure_rate_503: float = Field(default=0.0, ge=0, le=1)
    carrier_failure_rate_429: float = Field(default=0.0, ge=0, le=1)
    carrier_host: str = "127.0.0.1"
    carrier_port: Port = 8100
    # The sandbox carrier's own label store (SQLite), so its labels survive a restart.
    carrier_db_path: str = "var/carrier.db"

    smtp_host: str = "127.0.0.1"
    smtp_port: Port = 8025
    smtp_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # A real provider: "starttls" (port 587) or "tls" (implicit TLS, port 465), AUTH when a
    # user is set, the password from a secret file when one is named (see README).
    smtp_security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    smtp_user: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_password_file: str = ""
    smtp_ca_file: str = ""  # PEM roots of a private relay; empty = the system's
    smtp_tls_verify: bool = True
    mail_from: str = "orders@oms.example"
    ops_email: str = "ops@oms.example"
    mail_dir: str = "var/mail"

    # The payment provider: "sandbox", or "<module>:<factory>" naming a callable that takes
    # the Settings and returns a PaymentProvider (oms/ports/payments.py; docs/adapters.md).
    payments_provider: Annotated[str, _adapter("sandbox")] = "sandbox"
    # A worker refuses to run the payments queue with the sandbox provider (which authorizes
    # every card) outside development, i.e. with real codec keys, unless this says so on
    # purpose (a staging or try-out stack; see sandbox_payments_problem).
    allow_sandbox_payments: bool = False
    # The sandbox's own ledger database; empty: a file beside the OMS's SQLite store, or the
    # database <store>_payments_sandbox on its PostgreSQL server (created on first use).
    payments_sandbox_url: Annotated[str, AfterValidator(_optional_database_url)] = ""
    payments_decline_over: Amount = "100000.00"
    # Sandbox refund failures: the first N attempts of each refund fail as "provider
    # down" (retried); a refund over this amount is declined for good (waits for a person).
    payments_refund_unavailable_attempts: int = Field(default=0, ge=0)
    payments_refund_decline_over: Amount = "1000000.00"
    # How long the payment provider's card authorizations stay valid (card networks let
    # them lapse after about 7 days): an order re-authorizes before it ships on an older
    # one, and the sandbox refuses a capture on one this old.
    payment_authorization_valid_s: int = Field(default=7 * 24 * 3600, gt=0)

    # Returns: window from delivery, automatic authorization rules, how long a label is valid.
    return_window_days: int = Field(default=30, ge=0)
    return_auto_authorize_under: Amount = "2000.00"
    # Comma-separated reasons authorized without a person, whatever the value.
    return_auto_authorize_reasons: str = "wrong_size"
    return_receipt_timeout_s: int = Field(default=30 * 24 * 3600, ge=1)
    return_authorize_deadline_s: int = Field(default=24 * 3600, ge=1)

    # Subscriptions: the reminder this many days before each renewal (0: none), and the
    # retries of a declined renewal payment, in seconds after the first decline.
    subscription_reminder_days: int = Field(default=3, ge=0, le=60)
    subscription_dunning_s: Seconds = "86400,259200,604800"

    # Money (docs/money.md): the currency thresholds and reports are in, where the merchant
    # is established (VAT: domestic sale or distance sale), the channels whose prices exclude
    # VAT (comma-separated; a B2B customer with a VAT number is always priced without), and
    # the VAT and exchange-rate tables (JSON; empty = the bundled ones in oms/rules/).
    base_currency: Annotated[str, AfterValidator(_currency)] = "SEK"
    merchant_country: Annotated[str, AfterValidator(_country)] = "SE"
    tax_exclusive_channels: str = "b2b"
    vat_rates_path: str = ""
    exchange_rates_path: str = ""

    # B2B quotes: the merchant's approval rules (JSON; empty = the bundled demo rules).
    approval_rules_path: str = ""
    # Orders: the risk rules that hold an order for review before allocation (JSON; empty =
    # the bundled oms/rules/risk_rules.json).
    risk_rules_path: str = ""
    sales_email: str = "sales@oms.example"
    approvers_email: str = "approvers@oms.example"
    quote_approver_reminder_s: int = Field(default=24 * 3600, ge=1)
    quote_escalate_s: int = Field(default=72 * 3600, ge=1)
    # Counter-offers a buyer may make on one quote (each grows its workflow's history).
    quote_max_counter_offers: int = Field(default=10, ge=1)

    # Replenishment: who hears about low stock and escalations, what suppliers see as the
    # buyer, when to remind a supplier, and the daily low-stock scan (a Temporal schedule's cron
    # string, UTC unless it starts with CRON_TZ=<zone>; empty = none).
    purchasing_email: str = "purchasing@oms.example"
    purchasing_buyer: str = "Temporal OMS"
    supplier_reminder_s: int = Field(default=24 * 3600, ge=1)
    low_stock_scan_cron: Cron = "0 6 * * *"

    # Outbound events (docs/webhooks.md). http endpoints only with allow_http (make run's
    # loopback sink); each failed delivery is retried after base x 2^(n-1) s, at most max
    # apart, for give_up seconds from its first attempt, then it is dead.
    webhooks_allow_http: bool = False
    webhooks_retry_base_s: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    webhooks_retry_max_s: float = Field(default=6 * 3600.0, gt=0, allow_inf_nan=False)
    webhooks_give_up_s: float = Field(default=3 * 24 * 3600.0, gt=0, allow_inf_nan=False)
    webhooks_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # The relay looks for new events this often, in one activity of up to idle seconds.
    webhooks_poll_s: float = Field(default=0.5, gt=0, allow_inf_nan=False)
    webhooks_idle_s: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    # GET /events holds back events younger than this on PostgreSQL (see oms.store.webhooks).
    webhooks_feed_settle_s: float = Field(default=2.0, ge=0, allow_inf_nan=False)
    # The webhook receiver sink of make run (sandboxes/webhook_sink.py).
    webhook_sink_host: str = "127.0.0.1"
    webhook_sink_port: Port = 8300
    webhook_sink_dir: str = "var/webhooks"
    # Its endpoint's secret(s), comma-separated (oms dev sets it).
    webhook_sink_secrets: str = ""

    simulate: bool = False
    simulate_delay_s: float = Field(default=2.0, ge=0, allow_inf_nan=False)
    # Warehouses the simulated warehouse works for (comma-separated; empty = all).
    simulate_warehouses: str = ""

    pick_sla_s: int = Field(default=4 * 3600, ge=1)
    backorder_recheck_s: int = Field(default=3600, ge=1)
    # Units a warehouse could not pick (a short pick): "backorder" (owed again, shipped
    # when stock arrives) or "cancel" (taken off the order, its authorization lowered).
    short_pick_policy: Literal["backorder", "cancel"] = "backorder"
    hold_timeout_s: int = Field(default=3 * 24 * 3600, ge=1)
    # Operations: an automatic step (payment, allocation, label) overdue after this is stuck.
    step_deadline_s: int = Field(default=60, ge=1)
    backorder_alert_s: int = Field(default=3 * 24 * 3600, ge=1)
    delivery_deadline_s: int = Field(default=7 * 24 * 3600, ge=1)
    # /ops/stuck: an activity on this attempt or later counts as retrying.
    stuck_attempts: int = Field(default=3, ge=1)

    # Prometheus endpoint of a worker ("host:port"; empty = none). The API serves /metrics.
    metrics_bind: Bind = ""
    # "json": one JSON object a log line, with trace ids when tracing is on (oms/logs.py).
    log_format: Literal["text", "json"] = "text"
    # A worker's /health/live and /health/ready ("host:port"; empty = none; workers/health.py).
    health_bind: Bind = ""
    max_cached_workflows: int = 1000
    max_concurrent_activities: int = 100
    graceful_shutdown_s: float = Field(default=10.0, ge=0, allow_inf_nan=False)

    # Codec server for the Temporal Web UI (starters/codec_server.py, docs/pii-encryption.md).
    codec_host: str = "127.0.0.1"
    codec_port: Port = 8234
    # Browser origins of the Temporal UI allowed to call it (comma-separated; CORS).
    codec_ui_origins: str = "http://localhost:8233,http://127.0.0.1:8233"
    # Bearer tokens accepted (comma-separated). Empty = no token accepted.
    codec_auth_tokens: str = ""
    # Development only: accept a request without a token when its Origin is a UI origin
    # (the embedded dev UI has no login, so it cannot send a token).
    codec_trust_ui_origin: bool = False

    # The SDK's TLS for the connection (TEMPORAL_TLS* or the profile), when it set one.
    _temporal_tls: Any = PrivateAttr(default=None)

    def __init__(self, **values: Any) -> None:
        """Build from the environment, a dotenv file and ``values`` (which win). The dotenv
        file is ``OMS_ENV_FILE`` when that is set (empty: none; a file that is not there is
        an error, ``ValueError``), else ``.env`` in the working directory if there is one;
        ``_env_file=...`` given in code wins over both."""
        problem = ""
        if "_env_file" not in values:
            values["_env_file"] = os.environ.get(ENV_FILE_VARIABLE, ".env") or None
            if os.environ.get(ENV_FILE_VARIABLE):
                problem = env_file_problem(os.environ[ENV_FILE_VARIABLE])
        names = _DOTENV_NAMES.set(dotenv_names(values["_env_file"]))
        problems = _ENV_FILE_PROBLEM.set(problem)
        try:
            super().__init__(**values)
        finally:
            _DOTENV_NAMES.reset(names)
            _ENV_FILE_PROBLEM.reset(problems)

    @model_validator(mode="before")
    @classmethod
    def _named_env_file_exists(cls, values: Any) -> Any:
        """A dotenv file OMS_ENV_FILE names must be there: else every value would silently
        be its default (an SQLite store in the working directory, the dev codec key)."""
        if problem := _ENV_FILE_PROBLEM.get():
            raise ValueError(f"{ENV_FILE_VARIABLE}: {problem}")
        return values

    @model_validator(mode="after")
    def _api_url_from_host_and_port(self) -> Self:
        """Without OMS_API_URL, the API's own address (so a new OMS_API_PORT moves every
        process that calls the API, not only the API); without OMS_CARRIER_URL, the sandbox
        carrier's."""
        if not self.api_url:
            self.api_url = local_url(self.api_host, self.api_port)
        # Likewise the sandbox carrier's: moving it with OMS_CARRIER_PORT moves its callers.
        if not self.carrier_url:
            self.carrier_url = local_url(self.carrier_host, self.carrier_port)
        return self

    @model_validator(mode="after")
    def _codec_key_id_is_loaded(self) -> Self:
        """The codec encrypts with OMS_CODEC_KEY_ID: it must be one of OMS_CODEC_KEYS' ids."""
        ids = parse_keys(self.codec_keys)
        if self.codec_key_id not in ids:
            raise ValueError(
                f"OMS_CODEC_KEY_ID: {self.codec_key_id!r} is not among the ids in "
                f"OMS_CODEC_KEYS ({', '.join(sorted(ids))})"
            )
        return self

    @model_validator(mode="after")
    def _temporal_from_environment(self) -> Self:
        """Fill the Temporal connection from the SDK's environment configuration, unless the
        address was given in code (then the connection is exactly what the code says, so a
        developer's own profile never redirects a test). Warns (FutureWarning) for each
        deprecated ``OMS_TEMPORAL_*`` variable set, in the environment or the dotenv file;
        the SDK's variables win over them.
        Raises ``ValueError`` (one line, ``temporal_config_problem``) when the SDK cannot
        load the configuration: a malformed ``temporal.toml``, an unknown profile, a TLS
        file it cannot read."""
        # In the environment or the dotenv file alike (either is how a deployment sets them).
        named = set(os.environ) | _DOTENV_NAMES.get()
        from_env = {f for f in DEPRECATED_TEMPORAL_SETTINGS if f"OMS_{f.upper()}" in named}
        for field in sorted(from_env):
            warnings.warn(
                f"OMS_{field.upper()} is deprecated and will be removed in the next release: "
                f"set {DEPRECATED_TEMPORAL_SETTINGS[field]} (or a temporal.toml profile) "
                "instead (docs/deploy.md)",
                FutureWarning,
                stacklevel=2,
            )
        if "temporal_address" in self.model_fields_set - from_env:
            return self
        try:
            sdk = ClientConfig.load_client_connect_config()
        except (RuntimeError, OSError) as error:  # the SDK's ConfigError is a RuntimeError
            raise ValueError(temporal_config_problem(error)) from None
        for key, field in (
            ("target_host", "temporal_address"),
            ("namespace", "temporal_namespace"),
            ("api_key", "temporal_api_key"),
        ):
            if key in sdk:
                setattr(self, field, sdk[key] or "")  # type: ignore[literal-required]
        self._temporal_tls = sdk.get("tls")
        return self

    def temporal_tls_from_environment(self) -> Any:
        """The SDK's TLS setting for the connection (a ``TLSConfig``, ``True`` or ``False``),
        or ``None`` when neither ``TEMPORAL_TLS*`` nor the profile says."""
        return self._temporal_tls

    def dev_tokens_enabled(self) -> bool:
        """Whether ``dev-<role>`` tokens work: as set, else only on the embedded SQLite store
        with the API on loopback."""
        if self.auth_dev_tokens is not None:
            return self.auth_dev_tokens
        return self.database_url.startswith("sqlite") and self.api_on_loopback()

    def api_on_loopback(self) -> bool:
        """Whether the API listens on a loopback address only (nobody else can reach it)."""
        return is_loopback(self.api_host)

    def exposure_problems(self) -> list[str]:
        """Public development secrets the API would use while listening beyond loopback.

        Empty on loopback: dev tokens, the public codec key and a placeholder carrier
        webhook secret (``is_placeholder_secret``: the development default, or a sample
        file's ``change-me...``) are only for a machine's own ``make run``.
        """
        if self.api_on_loopback():
            return []
        where = f"the API listens on {self.api_host}, beyond loopback"
        problems = []
        if self.dev_tokens_enabled():
            problems.append(f"dev tokens are on (OMS_AUTH_DEV_TOKENS) and {where}")
        if self.uses_dev_codec_key():
            key = "the public development codec key is in use (OMS_CODEC_KEYS)"
            problems.append(f"{key} and {where}")
        if is_placeholder_secret(self.carrier_webhook_secret):
            secret = (
                "a public carrier webhook secret, a placeholder (change-me..., dev-...), is in "
                "use (OMS_CARRIER_WEBHOOK_SECRET)"
            )
            problems.append(f"{secret} and {where}")
        return problems

    def codec_exposure_problem(self) -> str | None:
        """Why the codec server must not start with these settings, or ``None``: a placeholder
        bearer token (``is_placeholder_secret``: ``change-me...``, ``dev-...``, as in a sample
        file) in ``OMS_CODEC_AUTH_TOKENS`` while it listens beyond loopback, where anyone who
        knows the placeholder could decrypt customer data. No token at all is fine: then it
        accepts none."""
        if is_loopback(self.codec_host):
            return None
        tokens = [token for token in self.codec_auth_tokens.split(",") if token.strip()]
        if not any(is_placeholder_secret(token) for token in tokens):
            return None
        return (
            "OMS_CODEC_AUTH_TOKENS: a placeholder token (change-me..., changeme..., dev-...) is "
            f"in use and the codec server listens on {self.codec_host}, beyond loopback "
            "(OMS_CODEC_HOST): set tokens of your own, e.g. openssl rand -hex 32"
        )

    def uses_dev_codec_key(self) -> bool:
        """Whether the public development codec key is in use: a development stack (``make
        run``, the tests, the bench, chaos). Every process of a deployment shares the codec
        keys, and an API beyond loopback refuses this one (``exposure_problems``), so a
        process that has it belongs to a stack nobody else reaches."""
        return self.codec_key_id == DEV_KEY_ID or DEV_KEY_B64 in self.codec_keys

    def sandbox_payments_problem(self) -> str | None:
        """Why a worker must not run the payments queue with these settings, or ``None``.

        The sandbox provider authorizes every card but ``tok_declined``: outside development
        (real codec keys) it runs only when ``OMS_ALLOW_SANDBOX_PAYMENTS`` says so on purpose.
        """
        if self.payments_provider != "sandbox" or self.allow_sandbox_payments:
            return None
        if self.uses_dev_codec_key():
            return None
        return (
            "refusing to take payments with the sandbox provider, which authorizes every card, "
            "outside development (real OMS_CODEC_KEYS are set): set OMS_PAYMENTS_PROVIDER to "
            "your provider's adapter (<module>:<factory>, docs/adapters.md), or "
            "OMS_PAYMENTS_PROVIDER=sandbox with OMS_ALLOW_SANDBOX_PAYMENTS=true for a stack "
            "that takes no real orders"
        )

    def allowed_hosts(self) -> list[str]:
        """Host header values the API answers (``TrustedHostMiddleware``)."""
        hosts = {"localhost", "127.0.0.1", "::1", "[::1]"}
        hosts |= {h.strip() for h in self.api_allowed_hosts.split(",") if h.strip()}
        if self.api_host not in ("0.0.0.0", "::", ""):
            hosts.add(self.api_host)
        url_host = urlsplit(self.api_url).hostname
        if url_host:
            hosts.add(url_host)
        return sorted(hosts)

    def requires_encrypted_payloads(self) -> bool:
        """Whether the codec refuses plain payloads: as set, else whenever real keys are set."""
        if self.codec_require_encrypted is not None:
            return self.codec_require_encrypted
        return self.codec_keys != DEV_KEYS

    def api_token(self) -> str:
        """The token the CLI and the demo send: OMS_TOKEN when set, else the one ``make run``
        provisioned in ``token_file``, else ``dev-admin``."""
        if "token" in self.model_fields_set:
            return self.token
        try:
            provisioned = Path(self.token_file).read_text().strip()
        except OSError:
            return self.token
        return provisioned or self.token

    def queue(self, name: str) -> str:
        """Return the task queue name for ``name`` with this deployment's prefix."""
        return f"{self.task_queue_prefix}{name}"


def env_file_problem(path: str) -> str:
    """Why the dotenv file at ``path`` (OMS_ENV_FILE) cannot be read, or ``""``."""
    if os.path.isdir(path):
        return f"{path} is a directory, not a dotenv file"
    if not os.path.exists(path):
        where = "" if os.path.isabs(path) else f" (relative to {os.getcwd()})"
        return (
            f"there is no file {path}{where}; unset it to read .env in the working "
            "directory, or set it empty to read no file"
        )
    return ""


def dotenv_names(env_file: Any) -> frozenset[str]:
    """The variable names (upper case) in ``env_file`` (a path, paths, or ``None``) as the
    settings read it; a file that does not exist holds none."""
    from dotenv import dotenv_values

    files = [env_file] if isinstance(env_file, str | os.PathLike) else list(env_file or ())
    names: set[str] = set()
    for file in files:
        path = Path(file).expanduser()
        if path.is_file():
            names |= {name.upper() for name in dotenv_values(path)}
    return frozenset(names)


def local_url(host: str, port: int) -> str:
    """The http:// URL a process on this machine reaches a server listening on ``host``
    and ``port`` at: a wildcard address (0.0.0.0, ::, empty) is reached on 127.0.0.1."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def temporal_environment(settings: Settings) -> dict[str, str]:
    """The SDK's ``TEMPORAL_*`` variables that make a child process reach Temporal exactly as
    ``settings`` do, whatever profile or variables the parent's environment has."""
    env = {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "TEMPORAL_API_KEY": settings.temporal_api_key,
        "TEMPORAL_TLS": "true" if settings.temporal_tls else "false",
    }
    for field in ("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca"):
        if getattr(settings, field):
            env[DEPRECATED_TEMPORAL_SETTINGS[field]] = getattr(settings, field)
            env["TEMPORAL_TLS"] = "true"
    return env


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment plus what makes a child process build exactly
    ``settings``: ``OMS_*`` variables, and the Temporal connection under the SDK's names."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMS_TEMPORAL_")}
    env.pop("TEMPORAL_PROFILE", None)
    for name, value in settings.model_dump().items():
        if value is not None and name not in DEPRECATED_TEMPORAL_SETTINGS:
            env[f"OMS_{name.upper()}"] = str(value)
    # OMS_TEMPORAL_UI_URL is not a connection setting and keeps its name.
    return env | temporal_environment(settings)


# Secrets that are in this repository's files (the development default, the samples'
# "change-me-..."), so public: refused beyond loopback (``Settings.exposure_problems``).
PLACEHOLDER_SECRET_PREFIXES = ("change-me", "changeme", "dev-")


def is_placeholder_secret(value: str) -> bool:
    """Whether ``value`` is a placeholder, not a secret of the deployment's own: empty, or
    ``change-me...``/``dev-...`` (any case)."""
    return not value.strip() or value.strip().lower().startswith(PLACEHOLDER_SECRET_PREFIXES)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a listen address or name) is this machine's loopback only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def temporal_config_file() -> str:
    """The ``temporal.toml`` the SDK reads: ``TEMPORAL_CONFIG_FILE``, else the user's (the
    platform's configuration directory, as the SDK and the ``temporal`` CLI place it)."""
    if named := os.environ.get("TEMPORAL_CONFIG_FILE"):
        return named
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home()))
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return str(base / "temporalio" / "temporal.toml")


def temporal_config_problem(error: Exception) -> str:
    """One line for the SDK's failure to load the Temporal client configuration, naming the
    file and the profile: the reason without the TOML excerpt the SDK adds (a line of the
    file, which may hold an API key)."""
    path = temporal_config_file()
    where = "TEMPORAL_CONFIG_FILE" if os.environ.get("TEMPORAL_CONFIG_FILE") else "the default"
    profile = os.environ.get("TEMPORAL_PROFILE") or "default"
    if isinstance(error, OSError):
        reason = f"a TLS file (the profile's or TEMPORAL_TLS_*'s) cannot be read ({error.strerror})"
    else:
        text = str(error).removeprefix("Configuration loading error: ")
        # The TOML parser's excerpt: "  |", "1 | [profile.x", "  |   ^" between its lines.
        lines = [line for line in text.splitlines() if not re.match(r"\s*\d*\s*\|", line)]
        reason = ": ".join(line.strip() for line in lines if line.strip())
        if not os.path.exists(path):
            reason += " (there is no such file)"
    return f"temporal.toml {path} ({where}), profile {profile!r}: {reason}"


def settings_problems(error: ValidationError) -> list[str]:
    """One line per invalid value, naming its environment variable (``OMS_PICK_SLA_S: Input
    should be a valid integer, ...``), never the value itself (it may be a secret)."""
    lines = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            lines.append(f"OMS_{str(problem['loc'][0]).upper()}: {message}")
        else:
            lines.append(message)
    return lines


def load_settings(**values: Any) -> Settings:
    """``Settings(**values)`` for a process's entry point (the CLI, the worker, the API, the
    dev launcher, the sandboxes): an invalid setting is one line per problem on stderr,
    naming its variable, and exit status 2, not a traceback."""
    try:
        return Settings(**values)
    except ValidationError as error:
        for line in settings_problems(error):
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
