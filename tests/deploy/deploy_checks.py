"""Checks the compose file and the Kubernetes manifests share: an ``oms`` command line
through the CLI's own parsers, and the environment variables a process is given."""

from __future__ import annotations

import importlib

from oms.settings import DEPRECATED_TEMPORAL_SETTINGS, Settings
from starters.cli import cli
from starters.cli.dev import ARGUMENT_PARSERS


def parse_oms_command(args: list[str]) -> None:
    """Parse ``args`` as the ``oms`` CLI does, without running it: click for the command
    and its options, and the process's own argparse parser for a passthrough command.
    Raises click's UsageError or SystemExit (argparse) for a command line it rejects."""
    assert args[0] == "oms", args
    with cli.make_context("oms", list(args[1:])) as ctx:
        name, command, rest = cli.resolve_command(ctx, list(args[1:]))
        assert name is not None and command is not None
        command.make_context(name, list(rest), parent=ctx)
        if name in ARGUMENT_PARSERS:
            module, function = ARGUMENT_PARSERS[name].split(":")
            getattr(importlib.import_module(module), function)().parse_args(rest)


def setting_variables() -> set[str]:
    """Every environment variable ``oms.settings.Settings`` reads (``OMS_<FIELD>``)."""
    prefix = str(Settings.model_config.get("env_prefix", "")).upper()
    return {prefix + field.upper() for field in Settings.model_fields}


# The Temporal SDK's environment configuration (temporalio.envconfig), which the OMS reaches
# Temporal with: the variables a deployment may set.
SDK_TEMPORAL_VARIABLES = {
    "TEMPORAL_CONFIG_FILE",
    "TEMPORAL_PROFILE",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION",
}


def unknown_variables(names: set[str]) -> list[str]:
    """The names an OMS process would ignore or is told to stop using: an ``OMS_*`` that is
    not a setting (a typo) or is deprecated (``OMS_TEMPORAL_ADDRESS``...), a ``TEMPORAL_*``
    the SDK does not read."""
    deprecated = {f"OMS_{field.upper()}" for field in DEPRECATED_TEMPORAL_SETTINGS}
    settings = setting_variables() - deprecated
    return sorted(
        name
        for name in names
        if (name.startswith("OMS_") and name not in settings)
        or (name.startswith("TEMPORAL_") and name not in SDK_TEMPORAL_VARIABLES)
    )


# The standard port of each SMTP security: a relay on 587 wants STARTTLS, on 465 implicit
# TLS (docs/configuration.md); the setting's default is none (the local sink).
SMTP_SECURITY_OF_PORT = {"587": "starttls", "465": "tls"}


def smtp_security_problem(variables: dict[str, str]) -> str | None:
    """What is wrong with the SMTP port and security a process is given, or None: a port
    whose standard security OMS_SMTP_SECURITY (default none) does not name."""
    port = str(variables.get("OMS_SMTP_PORT", Settings.model_fields["smtp_port"].default))
    security = variables.get("OMS_SMTP_SECURITY", Settings.model_fields["smtp_security"].default)
    wanted = SMTP_SECURITY_OF_PORT.get(port)
    if wanted is not None and security != wanted:
        return f"OMS_SMTP_PORT {port} wants OMS_SMTP_SECURITY={wanted}, not {security}"
    return None
