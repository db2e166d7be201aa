"""Which implementation of each port a worker is built with, chosen by settings.

``OMS_PAYMENTS_PROVIDER`` and ``OMS_CARRIER_ADAPTER`` name either a built-in
implementation (``sandbox`` for payments, ``http`` for the carrier's HTTP API)
or ``<module>:<factory>``: a callable that takes the ``Settings`` and returns
the implementation, so a merchant's adapter plugs in without touching the OMS
(docs/adapters.md). The settings check the shape of the name when they load; the
module is imported here, when a worker starts. The sandbox is imported only when
it is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from oms.ports.carrier import Carrier
from oms.ports.payments import PaymentProvider
from oms.settings import Settings


class AdapterError(RuntimeError):
    """An adapter that cannot be imported or built: one line naming its setting and why."""


def payment_provider(settings: Settings) -> PaymentProvider:
    """The payment provider ``settings.payments_provider`` names.

    Raises ``AdapterError`` when its module cannot be imported, the factory is missing or
    not callable, or building the provider fails.
    """
    if settings.payments_provider == "sandbox":

        def sandbox(settings: Settings) -> PaymentProvider:
            from sandboxes.payments import SandboxPaymentProvider

            return SandboxPaymentProvider.from_settings(settings)

        return _build(sandbox, settings, "OMS_PAYMENTS_PROVIDER", "the sandbox provider")
    spec = settings.payments_provider
    factory = _factory(spec, "OMS_PAYMENTS_PROVIDER")
    provider: PaymentProvider = _build(factory, settings, "OMS_PAYMENTS_PROVIDER", spec)
    return provider


def carrier(settings: Settings) -> Carrier:
    """The carrier adapter ``settings.carrier_adapter`` names (``http``: the HTTP client).

    Raises like ``payment_provider``.
    """
    if settings.carrier_adapter == "http":
        from activities.adapters.carrier_http import CarrierClient

        return CarrierClient.from_settings(settings)
    spec, setting = settings.carrier_adapter, "OMS_CARRIER_ADAPTER"
    adapter: Carrier = _build(_factory(spec, setting), settings, setting, spec)
    return adapter


def _factory(spec: str, setting: str) -> Callable[[Settings], Any]:
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:  # the settings refuse this shape already
        raise AdapterError(f"{setting}: expected a built-in name or '<module>:<factory>'")
    try:
        loaded = importlib.import_module(module)
    except Exception as error:  # ImportError, or whatever the module raised on import
        raise AdapterError(f"{setting}: cannot import {module}: {_reason(error)}") from error
    factory = getattr(loaded, name, None)
    if not callable(factory):
        raise AdapterError(f"{setting}: {module} has no callable {name}")
    return factory


def _build(factory: Callable[[Settings], Any], settings: Settings, setting: str, what: str) -> Any:
    """``factory(settings)``; what it raises becomes an ``AdapterError`` naming ``setting``."""
    try:
        return factory(settings)
    except Exception as error:
        raise AdapterError(f"{setting}: {what} could not be built: {_reason(error)}") from error


def _reason(error: BaseException) -> str:
    """The error's type and the first line of its message (a driver's error runs on)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
