"""Bearer-token authentication and role checks for every API endpoint.

``require(*roles)`` is a FastAPI dependency: it reads ``Authorization: Bearer <token>``,
resolves a documented dev token (``dev-<role>``, when the settings allow them) or a
stored hashed token (``oms token create``), and returns the caller's ``Principal``.
It answers 401 (with ``WWW-Authenticate: Bearer``) for a missing, unknown or revoked
token and 403 naming the allowed roles for the wrong role. ``admin`` may do everything.
Who did something (approver, picker, operator) is always taken from the principal.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from oms.domain.auth import INTERNAL_CALLERS, Principal, dev_principal, owns
from oms.store import credit, refusals, tokens
from starters.api.deps import ApiState, State, api_error, field_error, not_found, read_store
from starters.api.ratelimit import client_address

# Staff who may read any order (and its shipments and returns).
# The merchant's own systems (integration) read what their events name, never act.
ORDER_READERS = ("support", "ops", "sales", "sales_manager", "finance", "warehouse", "integration")
APPROVERS = ("sales_manager", "sales_director", "finance", "cfo")
# Declares the scheme in the OpenAPI document (the "Authorize" button in /docs); the
# header itself is read below, so each kind of failure gets its own message.
_bearer = HTTPBearer(
    auto_error=False,
    description="An API token: dev-<role> on the embedded default, or one from oms token create.",
)


def _unauthorized(message: str) -> HTTPException:
    return api_error(401, "Unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    request: Request,
    state: State,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal behind the request's bearer token. Raises HTTPException 401."""
    return _principal(request, state, basic=False)


def _principal(request: Request, state: ApiState, *, basic: bool) -> Principal:
    """The principal of the Authorization header; HTTP Basic only where ``basic``.

    A browser resends Basic credentials on its own, also with a form another site posts,
    so they are accepted only on the pages people open (the report page), never on an
    endpoint that changes something. Raises HTTPException 401, or 429 (``TooManyRequests``)
    while the caller's address or the presented token is over its limit of failures.
    """
    header = request.headers.get("authorization", "")
    if not header:
        if basic:
            # A person in a browser gets the browser's login prompt (require_in_browser).
            raise _unauthorized(
                "missing credentials: send 'Authorization: Bearer <token>', or in a browser "
                "log in with HTTP Basic: any user name, the API token as the password"
            )
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    # Over its limit of failures, an address or a token is refused before any check, so
    # guesses made meanwhile learn nothing (and cost no store read).
    address, presented = client_address(request), header.partition(" ")[2].strip() or header
    state.limits.before_auth(address, presented)
    try:
        principal = _check(state, header, basic=basic)
    except HTTPException as err:
        if err.status_code == 401:
            state.limits.auth_failed(address, presented)
            _note_refusal(state, request, presented, err)
        raise
    return principal


def _clear_refusal(state: ApiState, caller: str) -> None:
    with state.db.session() as session:
        refusals.clear(session, caller)
    state.refused_callers.discard(caller)


def _note_refusal(
    state: ApiState, request: Request, presented: str, err: HTTPException, caller: str | None = None
) -> None:
    """Keep a refusal of one of the OMS's own callers for /ops/stuck (see
    ``oms.store.refusals``); anyone else's 401 or 403 is their own to see."""
    detail = err.detail.get("message", "") if isinstance(err.detail, dict) else str(err.detail)
    with state.db.session() as session:
        caller = caller or refusals.internal_caller(
            session, presented, state.settings.dev_tokens_enabled()
        )
        if caller is None:
            return
        refusals.record(session, caller, err.status_code, request.method, request.url.path, detail)
    state.refused_callers.add(caller)


def _check(state: ApiState, header: str, *, basic: bool) -> Principal:
    """The principal of a present Authorization header. Raises HTTPException 401."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "basic" and token and basic:
        # A browser (the report page) sends the token as the password of HTTP Basic.
        token = _basic_password(token)
    elif scheme.lower() == "basic":
        raise _unauthorized("HTTP Basic is only for the report page: send 'Bearer <token>'")
    elif scheme.lower() != "bearer" or not token:
        raise _unauthorized("malformed Authorization header: expected 'Bearer <token>'")
    if state.settings.dev_tokens_enabled():
        principal = dev_principal(token)
        if principal is not None:
            return principal
    with state.db.read() as session:
        principal = tokens.resolve(session, token)
    if principal is None:
        raise _unauthorized("unknown or revoked token")
    return principal


def _basic_password(credentials: str) -> str:
    """The password part of HTTP Basic credentials. Raises HTTPException 401 when malformed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("malformed Basic credentials") from None
    _, colon, password = decoded.partition(":")
    if not colon or not password:
        raise _unauthorized("Basic credentials need the token as the password")
    return password


def require_in_browser(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """``require`` for pages people open in a browser: a 401 asks for HTTP Basic, so the
    browser prompts (any user name, the token as password). Raises HTTPException 401/403."""
    check = require(*roles)

    async def dependency(
        request: Request,
        state: State,
        declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        try:
            principal = _principal(request, state, basic=True)
        except HTTPException as err:
            if err.status_code == 401:
                err.headers = {"WWW-Authenticate": 'Basic realm="Temporal OMS", charset="UTF-8"'}
            raise
        return await check(request, state, principal)

    return dependency


def require(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits callers in ``roles`` (and admin). Raises HTTPException 401/403."""
    allowed = frozenset(roles)
    named = ", ".join(sorted(allowed | {"admin"}))

    async def dependency(
        request: Request,
        state: State,
        principal: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        if not principal.may(allowed):
            refused = api_error(
                403, "Forbidden", f"role {principal.role} may not do this; allowed roles: {named}"
            )
            if principal.subject in INTERNAL_CALLERS:
                await run_in_threadpool(
                    _note_refusal, state, request, "", refused, principal.subject
                )
            raise refused
        if principal.subject in state.refused_callers:
            # Accepted again: its refusal is over.
            await run_in_threadpool(_clear_refusal, state, principal.subject)
        return principal

    return dependency


def check_owner(
    principal: Principal, customer_id: str, company_id: str | None = None, what: str = "it"
) -> None:
    """403 unless ``principal`` may act for this customer (a buyer only for their own)."""
    if not owns(principal, customer_id, company_id):
        raise api_error(403, "NotOwner", f"a buyer may only use their own {what}")


def listed_customer(principal: Principal, customer_id: str | None, what: str) -> str | None:
    """The customer whose ``what`` a list shows: a buyer's own (403 when asking for
    another's), else the one asked for (``None``: everyone's)."""
    if not principal.is_buyer:
        return customer_id
    if customer_id is not None:
        check_owner(principal, customer_id, what=what)
    return principal.customer_id or ""


def check_visible(
    principal: Principal, customer_id: str, company_id: str | None, what: str
) -> None:
    """404 (``what`` not found) unless ``principal`` may see this customer's object.

    Another tenant's object answers exactly as one that does not exist, so ids cannot
    be enumerated.
    """
    if not owns(principal, customer_id, company_id):
        raise not_found(what)


async def check_member(
    state: ApiState, principal: Principal, company_id: str, customer_id: str, loc: list[str | int]
) -> None:
    """Refuse a company's prices, quotes or credit to a customer who is not its member.

    Membership is the store's (``PUT /companies/{id}/members/{customer}``), never the
    body's. A buyer hears 404 (the company is not theirs to know of); staff acting for
    a customer get a 422 naming the field ``loc``. The store is read in a worker thread.
    """
    member = await read_store(
        state, lambda session: credit.is_member(session, company_id, customer_id)
    )
    if member:
        return
    if principal.is_buyer:
        raise not_found(f"company {company_id}")
    raise field_error(
        loc, f"customer {customer_id} is not a member of company {company_id}", company_id
    )


def acting_role(principal: Principal, claimed: str, explicit: bool, default: str) -> str:
    """The role a decision is recorded under: the caller's own; an admin may name one.

    ``claimed`` is the body's role and ``explicit`` whether the body set it; for an
    admin who did not, ``default`` (the role the step waits for) is used.
    """
    if principal.role != "admin":
        return principal.role
    return claimed if explicit else default
