"""The optional parts of the install (pyproject's extras) and a clear error when one is missing.

The core install is what the API and the workers need. The ``reports`` extra (numpy,
pandas, scipy, statsmodels, matplotlib) is imported only when a report is asked for, and
the ``devserver`` extra (the bundled Temporal binaries) only by ``oms dev`` and the tests.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    """An extra of the ``temporal-oms`` distribution and the modules it provides."""

    name: str
    modules: tuple[str, ...]

    @property
    def install(self) -> str:
        """The command that adds this extra to an install of the project."""
        return (
            f"pip install 'temporal-oms[{self.name}]' "
            f"(from a clone: pip install -e '.[{self.name}]')"
        )


REPORTS = Extra(
    "reports", ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "threadpoolctl")
)
# Executables (``temporal``, ``temporal-test-server``), not modules: oms/devserver.py looks
# for them.
DEVSERVER = Extra("devserver", ())


class MissingExtra(RuntimeError):
    """Something was asked for that needs an extra this install lacks."""

    def __init__(self, extra: Extra, missing: list[str]) -> None:
        super().__init__(
            f"this needs the {extra.name!r} extra ({', '.join(missing)} not installed): "
            f"{extra.install}"
        )
        self.extra = extra
        self.missing = missing


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        # ValueError: the module is blocked (``sys.modules[name] = None``) or half-imported.
        return False


def require(extra: Extra) -> None:
    """Check, without importing them, that the modules of ``extra`` are installed.

    Raises ``MissingExtra`` naming the extra, the missing modules and the install command.
    """
    missing = [module for module in extra.modules if not _installed(module)]
    if missing:
        raise MissingExtra(extra, missing)
