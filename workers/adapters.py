"""Which implementation of each port a worker is built with, chosen by settings.

``OMS_PAYMENTS_PROVIDER`` and ``OMS_CARRIER_ADAPTER`` name either a built-in
implementation (``sandbox`` for payments, ``http`` for the carrier's HTTP API)
or ``<module>:<factory>``: a callable that takes the ``Settings`` and returns
the implementation, so a merchant's adapter plugs in without touching the OMS
(docs/adapters.md). The sandbox is imported only when it is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from oms.ports.carrier import Carrier
from oms.ports.payments import PaymentProvider
from oms.settings import Settings


def payment_provider(settings: Settings) -> PaymentProvider:
    """The payment provider ``settings.payments_provider`` names.

    Raises ``ValueError`` for a name that is neither built in nor ``<module>:<factory>``,
    and what importing the module raises.
    """
    if settings.payments_provider == "sandbox":
        from sandboxes.payments import SandboxPaymentProvider

        return SandboxPaymentProvider.from_settings(settings)
    provider: PaymentProvider = _factory(settings.payments_provider, "OMS_PAYMENTS_PROVIDER")(
        settings
    )
    return provider


def carrier(settings: Settings) -> Carrier:
    """The carrier adapter ``settings.carrier_adapter`` names (``http``: the HTTP client).

    Raises like ``payment_provider``.
    """
    if settings.carrier_adapter == "http":
        from activities.adapters.carrier_http import CarrierClient

        return CarrierClient.from_settings(settings)
    adapter: Carrier = _factory(settings.carrier_adapter, "OMS_CARRIER_ADAPTER")(settings)
    return adapter


def _factory(spec: str, setting: str) -> Callable[[Settings], Any]:
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"{setting}={spec!r}: expected a built-in name or '<module>:<factory>'")
    factory = getattr(importlib.import_module(module), name, None)
    if not callable(factory):
        raise ValueError(f"{setting}={spec!r}: {name} is not a callable in {module}")
    return factory
