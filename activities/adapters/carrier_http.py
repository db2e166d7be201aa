"""HTTP client of the carrier's REST API (the sandbox carrier speaks the same API).

Raises ``CarrierUnavailable`` for anything worth retrying (5xx, 429, timeouts,
connection errors) and ``InvalidAddress`` / ``CarrierRejected`` for 4xx
answers that no retry can change.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from activities.adapters.tls import client_context
from oms.models.carrier import (
    Label,
    LabelRequest,
    Rate,
    RateQuote,
    RateRequest,
    VoidLabelRequest,
    VoidLabelResult,
)
from oms.models.returns import ReturnLabelRequest
from oms.ports.errors import CarrierRejected, CarrierUnavailable, InvalidAddress
from oms.settings import Settings

M = TypeVar("M", bound=BaseModel)


def _pick(model: type[M], data: dict[str, Any]) -> M:
    """Validate only the fields ``model`` knows, so new fields in the carrier's answers are fine."""
    return model.model_validate({k: v for k, v in data.items() if k in model.model_fields})


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


class CarrierClient:
    """Async client of one carrier; holds one connection pool for the life of the worker."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            transport=transport,
            verify=client_context(),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CarrierClient:
        return cls(settings.carrier_url, timeout_s=settings.carrier_timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def rates(self, request: RateRequest) -> RateQuote:
        """Rates for the parcels of ``request``. Raises InvalidAddress for an unservable address."""
        body = request.model_dump(mode="json")
        data = await self._call("POST", "/v1/rates", json=body)
        return RateQuote(rates=[_pick(Rate, rate) for rate in data["rates"]])

    async def buy_label(self, request: LabelRequest) -> Label:
        """Buy a label; the same ``idempotency_key`` always returns the same label."""
        # What the carrier's API takes; the lines are the OMS's, declared in ``customs``.
        body = request.model_dump(
            mode="json", exclude={"idempotency_key", "order_id", "lines", "currency"}
        )
        headers = {"Idempotency-Key": request.idempotency_key}
        return _pick(Label, await self._call("POST", "/v1/labels", json=body, headers=headers))

    async def buy_return_label(self, request: ReturnLabelRequest) -> Label:
        """Buy a prepaid return label; the same ``idempotency_key`` returns the same label."""
        body = {
            "rma_id": request.rma_id,
            "ship_from": request.ship_from.model_dump(mode="json"),
            "ship_to": request.ship_to.model_dump(mode="json"),
            "packages": [{"weight_grams": request.weight_grams}],
        }
        headers = {"Idempotency-Key": request.idempotency_key}
        data = await self._call("POST", "/v1/return-labels", json=body, headers=headers)
        return _pick(Label, data)

    async def void_label(self, request: VoidLabelRequest) -> VoidLabelResult:
        """Void a label (idempotent). Raises CarrierRejected once the parcel has been scanned."""
        path = f"/v1/labels/{request.label_id}/void"
        return _pick(VoidLabelResult, await self._call("POST", path))

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CarrierUnavailable(f"carrier timed out on {method} {path}: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise CarrierUnavailable(f"carrier unreachable on {method} {path}: {exc!r}") from exc
        if response.is_success:
            try:
                return response.json()
            except ValueError as exc:
                raise CarrierUnavailable(f"carrier sent no JSON on {method} {path}") from exc
        code, detail = _error_of(response)
        status = response.status_code
        where = f"{method} {path} -> {status}"
        if status == 429:
            raise CarrierUnavailable(
                f"carrier rate limit: {where}", retry_after_s=_retry_after(response)
            )
        if status >= 500:
            raise CarrierUnavailable(f"carrier error: {where} {detail}")
        if code == "invalid_address":
            raise InvalidAddress(detail)
        raise CarrierRejected(
            f"carrier rejected {where}: {code} {detail}".strip(), status_code=status, code=code
        )


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """The carrier's ``{"error", "detail"}`` body, or the raw text when it is something else."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:500]
    if isinstance(body, dict):
        return str(body.get("error", "")), str(body.get("detail", ""))[:500]
    return "", str(body)[:500]
