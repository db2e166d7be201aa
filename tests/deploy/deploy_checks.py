"""Checks the compose file and the Kubernetes manifests share: an ``oms`` command line
through the CLI's own parsers, and the names of the OMS's settings."""

from __future__ import annotations

import importlib

from oms.settings import Settings
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
