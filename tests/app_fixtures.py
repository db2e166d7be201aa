"""The API app in this process, on a migrated store and without Temporal, for the tests
whose answers come before any workflow is asked (validation, refusals, lists, paging).

A request that does reach Temporal answers 500 here (the app has no client): the
tests that use this check the answers that must come first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from devtools.demo.catalogue import seed_demo
from oms.models.order_changes import CancelLine, LineCancellation
from oms.models.orders import OrderView
from oms.settings import Settings
from oms.store.db import Database
from starters.api.app import create_app
from starters.api.deps import ApiState


@asynccontextmanager
async def app_clients(
    database_url: str,
    *roles: str,
    fill: Callable[[Session], object] | None = None,
    temporal: Any = None,
    seed: bool = True,
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A client per dev role (``dev-<role>``) on the app over ``database_url`` (migrated),
    with the demo catalogue seeded (unless not ``seed``: a production store, ``oms db
    --no-seed``) and ``fill`` run in the same session first; ``temporal``: a fake of the
    Temporal client the app asks (none by default)."""
    db = Database(database_url)
    with db.session() as session:
        if seed:
            seed_demo(session)
        if fill is not None:
            fill(session)
    settings = Settings(database_url=database_url, auth_dev_tokens=True)
    app = create_app(settings)
    app.state.oms = ApiState(settings=settings, db=db, client=temporal)
    # A bug's 500 is an answer here, not an exception out of the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    clients = {
        role: httpx.AsyncClient(
            transport=transport,
            base_url="http://localhost",
            headers={"Authorization": f"Bearer dev-{role}"},
        )
        for role in roles
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()
        db.dispose()


@dataclass
class FakeOrderWorkflow:
    """An order's workflow that keeps every update it is sent (the request) and answers
    each with its view one version on (a line cancellation shown)."""

    view: OrderView
    updates: list[Any] = field(default_factory=list)

    async def execute_update(self, _update: Any, request: Any) -> OrderView:
        self.updates.append(request)
        self.view = self.view.model_copy(update={"version": self.view.version + 1})
        if isinstance(request, CancelLine):
            cancelled = LineCancellation(
                at=datetime.now(UTC),
                by=request.by,
                sku=request.sku,
                quantity=request.quantity,
                reason=request.reason,
            )
            self.view.line_cancellations = [*self.view.line_cancellations, cancelled]
        return self.view


@dataclass
class FakeTemporal:
    """A Temporal client whose every workflow handle is ``workflow``."""

    workflow: FakeOrderWorkflow

    def get_workflow_handle_for(self, _run: Any, _workflow_id: str) -> FakeOrderWorkflow:
        return self.workflow
