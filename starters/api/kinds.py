"""One kind of workflow as the routers reach it by its business id (an order, a shipment, a
quote, a return, a subscription, a replenishment): its handle, its view, its updates, and
the start of a new one: a resubmission is answered, never started twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NoReturn, Protocol, TypeVar, cast

from fastapi import HTTPException, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from oms import search_attributes as sa
from oms.domain.auth import Principal
from oms.domain.lifecycle import LIFECYCLES, Lifecycle, Step, attributes, limits_from
from oms.settings import WORKFLOW_QUEUE, Settings
from oms.store.idempotency import IdTaken
from starters.api.auth import check_visible
from starters.api.deps import (
    ApiState,
    api_error,
    json_answer,
    not_found,
    query_state,
    raise_from_update,
    read_store,
    record_view,
    require_same_body,
    run_update,
)
from starters.api.idempotency import reserve, reserve_for

V = TypeVar("V", bound=BaseModel)


def buyers_see(kind: type[V], view: Callable[[V], V]) -> Callable[[Principal, Any], Any]:
    """A :attr:`WorkflowKind.seen_by`: a buyer gets ``view`` of an answer of type ``kind``
    (what its buyer may see of it: ``oms.views.quotes.for_buyer``,
    ``oms.views.orders.for_buyer``), staff all of it; an answer of another type (a quote's
    acceptance, its order id) as it is."""

    def seen_by(caller: Principal, answer: Any) -> Any:
        if caller.is_buyer and isinstance(answer, kind):
            return view(answer)
        return answer

    return seen_by


class _Stated(Protocol):
    """What every kind's view has: its status, one its lifecycle declares."""

    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class WorkflowKind(Generic[V]):
    """The workflows of one kind, ``name`` (``order``): their ids are ``workflow_id(id)``,
    ``run`` and ``state`` their run method and the query of their own view; ``read`` finds
    the view in the read model (``None``: only the workflow has it); ``owner`` names whose
    a view is: its customer id and company id (``None``: no company may see it).

    ``listed_before_start``: the read model may have a view before its workflow exists (a
    shipment: its order lists it in the task that starts it), so a stored view whose
    workflow Temporal does not know may be one about to start (:meth:`gone`).

    ``shown``: what ``GET`` adds to a view from other rows of the store (an order's returns
    and refunds); an update's answer gets the same (:meth:`update`), so it shows what a
    ``GET`` right after it would.

    ``seen_by``: what a caller may see of a view, or of an update's answer (a buyer gets a
    quote without its internal approvals, an order without staff's reasons and notes:
    :func:`buyers_see`); ``None``: all of it. Applied to every answer that names its
    caller: :meth:`load_seen` (a ``GET``), :meth:`update` made as someone, and a
    resubmission's view (:meth:`reserve`, :meth:`resubmitted`); a list, and a route that
    answers an update sent without its caller, apply :meth:`as_seen_by` themselves. The
    read model and the workflow keep the whole view."""

    name: str
    run: Any
    workflow_id: Callable[[str], str]
    state: Any
    read: Callable[[Session, str], V | None] | None = None
    owner: Callable[[V], tuple[str, str | None]] | None = None
    listed_before_start: bool = False
    shown: Callable[[Session, V], V] | None = None
    seen_by: Callable[[Principal, Any], Any] | None = None

    def what(self, id_: str) -> str:
        """How errors name one of them: ``order O-1``."""
        return f"{self.name} {id_}"

    @property
    def lifecycle(self) -> Lifecycle:
        """The kind's lifecycle declaration (``oms.domain.lifecycle``, under its name)."""
        return LIFECYCLES[self.name]

    def handle(self, state: ApiState, id_: str) -> WorkflowHandle[Any, Any]:
        return state.client.get_workflow_handle_for(self.run, self.workflow_id(id_))

    async def query(self, state: ApiState, id_: str) -> V:
        """The workflow's own view (newer than the read model's); 404 when unknown."""
        view: V = await query_state(self.handle(state, id_), self.state, self.what(id_))
        return view

    async def current(self, state: ApiState, id_: str) -> V:
        """:meth:`query`, for a route about to act on the workflow: a workflow Temporal no
        longer has answers as :meth:`gone` says (409 ``Finished`` for a stored one)."""
        try:
            return await self.query(state, id_)
        except HTTPException as err:
            if err.status_code != 404:
                raise
            raise await self.gone(state, id_) from err

    async def stored(self, state: ApiState, id_: str) -> V | None:
        """The read model's view; ``None`` when it has none (or the kind keeps none there)."""
        read = self.read
        if read is None:
            return None
        return await read_store(state, lambda session: read(session, id_))

    async def load(self, state: ApiState, id_: str) -> V:
        """The read model's view, or the workflow's own in the moment before it is written;
        404 when unknown."""
        view = await self.stored(state, id_)
        if view is not None:
            return view
        return await self.query(state, id_)

    async def load_visible(self, state: ApiState, caller: Principal, id_: str) -> V:
        """:meth:`load`, if ``caller`` may see it: 404 when unknown and, the same, when
        another buyer's (ids cannot be enumerated).

        Raises TypeError for a kind without an ``owner`` (a programming error).
        """
        if self.owner is None:
            raise TypeError(f"a {self.name} has no owner to check")
        view = await self.load(state, id_)
        check_visible(caller, *self.owner(view), self.what(id_))
        return view

    def as_seen_by(self, caller: Principal | None, answer: Any) -> Any:
        """``answer`` (a view, or an update's other answer) as ``caller`` may see it
        (:attr:`seen_by`); as it is for ``None``."""
        if caller is None or self.seen_by is None:
            return answer
        return self.seen_by(caller, answer)

    async def load_seen(self, state: ApiState, caller: Principal, id_: str) -> V:
        """:meth:`load_visible`, as ``caller`` may see it (:meth:`as_seen_by`): what a
        ``GET`` answers."""
        view = await self.load_visible(state, caller, id_)
        seen: V = self.as_seen_by(caller, view)
        return seen

    async def update(
        self, state: ApiState, id_: str, update: Any, body: BaseModel, by: Principal | None = None
    ) -> Any:
        """Run ``update`` with ``body``, recorded as ``by``'s when given; the HTTP errors of
        :func:`starters.api.deps.run_update` when refused, and :meth:`gone`'s when Temporal
        does not have the workflow. The answer is what ``by`` may see of it
        (:meth:`as_seen_by`; the read model records the whole view first)."""
        if by is not None:
            body = body.model_copy(update={"by": by.subject})
        try:
            result = await run_update(state, self.handle(state, id_), update, body, self.what(id_))
        except HTTPException as err:
            if err.status_code == 404:
                raise await self.gone(state, id_) from err
            if err.status_code == 409:
                await self._mend(state, id_)
            raise
        return self.as_seen_by(by, await self.show(state, result))

    async def show(self, state: ApiState, result: Any) -> Any:
        """``result``, when it is a view of this kind, with what :attr:`shown` adds from the
        store (after it was recorded: the additions are not the workflow's to store)."""
        shown = self.shown
        if shown is None or not isinstance(result, BaseModel):
            return result
        return await read_store(state, lambda session: shown(session, cast(V, result)))

    async def refused(self, state: ApiState, id_: str, err: Exception) -> NoReturn:
        """Raise the HTTP error for ``err``, a refused or failed update or signal sent to the
        workflow of ``id_``: :func:`starters.api.deps.raise_from_update`'s, but Temporal's
        "not found" answered as :meth:`gone` says."""
        try:
            raise_from_update(err, self.what(id_))
        except HTTPException as http:
            if http.status_code != 404:
                raise
            raise await self.gone(state, id_) from err

    async def gone(self, state: ApiState, id_: str) -> HTTPException:
        """The error for a call Temporal answered "workflow not found", from the read model:

        - nothing stored: 404 ``NotFound``, as before;
        - stored in a terminal step of :attr:`lifecycle`: 409 ``Finished`` naming its status
          (the workflow ended, and the namespace's retention has deleted it since);
        - stored in another step, of a kind :attr:`listed_before_start`: 503
          ``WorkflowNotReady`` with ``Retry-After`` (its workflow is about to start);
        - stored in another step, of any other kind: 409 ``Finished`` too. Only its own
          workflow writes such a view, so it ran, and it ended without reaching a terminal
          step: a quote that expired and was not re-opened in time, a workflow terminated or
          failed. Before retention Temporal itself answers it as finished; no retry helps.

        Reads the store without asking who is calling: a route a buyer may call has let
        the caller see ``id_`` first (:meth:`load_visible`), so this tells nobody more.
        """
        view = await self.stored(state, id_)
        what = self.what(id_)
        if view is None:
            return not_found(what)
        status = str(cast(_Stated, view).status)
        if self.lifecycle.step(status).terminal:
            return api_error(409, "Finished", f"{what} has already finished ({status})")
        if self.listed_before_start:
            return api_error(
                503,
                "WorkflowNotReady",
                f"{what} is being started; try again",
                headers={"Retry-After": "1"},
            )
        return api_error(
            409, "Finished", f"{what} has already finished (its workflow ended while {status})"
        )

    async def _mend(self, state: ApiState, id_: str) -> None:
        """Record the workflow's own view after a refused update (best effort).

        A conflict (409 ``AlreadyPicked``) is often a caller's retry of an update that was
        applied while its answer was lost (the RPC timed out: a worker died mid-task). The
        caller records an update's answer, the workflow does not write in that task, and
        nothing else may change until the caller acts on what the read model shows: a
        warehouse would wait for ``picked`` for ever. So the refusal records what the
        workflow holds (a versioned upsert: never older over newer)."""
        with suppress(HTTPException, RPCError, WorkflowQueryFailedError, SQLAlchemyError):
            await record_view(state, await self.query(state, id_))

    async def update_known(
        self, state: ApiState, id_: str, update: Any, body: BaseModel, by: Principal | None = None
    ) -> Any:
        """:meth:`update` once :meth:`load` has found the workflow: an unknown id is a 404
        before any update is sent."""
        await self.load(state, id_)
        return await self.update(state, id_, update, body, by)

    async def update_visible(
        self, state: ApiState, caller: Principal, id_: str, update: Any, body: BaseModel
    ) -> Any:
        """:meth:`update` as ``caller``, once :meth:`load_visible` has found the workflow
        theirs to see: unknown or another buyer's is a 404 before any update is sent."""
        await self.load_visible(state, caller, id_)
        return await self.update(state, id_, update, body, caller)

    @property
    def conflict_error(self) -> str:
        """The error of a 409 for an id taken by something else: ``OrderIdConflict``."""
        return f"{self.name.title()}IdConflict"

    def conflict(self, id_: str, why: str = "exists with different content") -> HTTPException:
        """409 :attr:`conflict_error`: the id is taken by something else."""
        return api_error(409, self.conflict_error, f"{self.what(id_)} {why}")

    async def reserve(
        self,
        state: ApiState,
        caller: Principal,
        id_: str,
        digest: str,
        derived: Sequence[tuple[str, str]] = (),
    ) -> Response | None:
        """Take ``id_`` for good for the content ``digest`` (Temporal forgets a closed
        workflow; its id stays taken in the store), and in the same transaction the
        ``derived`` ids (kind, id) its workflow will start (a quote's order id), for it.

        Returns ``None`` to go on and start the workflow: the id is new, or was reserved with
        this content but never started (Temporal was down). A resubmission of the same
        content gets its view (200), also long after its workflow is gone.
        Raises HTTPException 409 :attr:`conflict_error` when the id was taken for other content,
        is kept for what another object becomes, or a derived id is taken by anyone else
        (then ``id_`` is not taken either).
        """
        try:
            taken = await run_in_threadpool(
                reserve, state.db, self.name, id_, caller.subject, digest, derived
            )
        except IdTaken as err:
            raise self._cannot_become(id_, err) from err
        if taken.new:
            return None
        if taken.body_hash is None:
            # Taken with another object (owner ``quote Q-1``): never a client's to place.
            why = f"is kept for the {self.name} {taken.owner} becomes"
            raise self.conflict(id_, f"{why}; choose another {self.name} id")
        if taken.body_hash != digest:
            raise self.conflict(id_)
        with suppress(HTTPException):
            return json_answer(self.as_seen_by(caller, await self.load(state, id_)))
        return None

    async def keep(self, state: ApiState, id_: str, derived: Sequence[tuple[str, str]]) -> None:
        """Take the ``derived`` ids for ``id_``'s object, or find them its own already (the
        ids taken with it when it was created; one created before the store kept ids gets
        them now).

        Raises HTTPException 409 :attr:`conflict_error` when one is taken by anyone else.
        """
        try:
            await run_in_threadpool(reserve_for, state.db, self.name, id_, derived)
        except IdTaken as err:
            raise self._cannot_become(id_, err) from err

    def _cannot_become(self, id_: str, err: IdTaken) -> HTTPException:
        why = f"cannot become {err.kind} {err.id}: that id is taken"
        return self.conflict(id_, f"{why}; choose another {self.name} id")

    async def start(
        self,
        client: Client,
        settings: Settings,
        id_: str,
        inp: BaseModel,
        *,
        digest: str | None,
        customer_id: str,
        step: Step,
        now: datetime,
        summary: str,
        deadline: datetime | None = None,
        more_attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Start the workflow of ``id_`` with ``inp``, once: an id is never started twice
        (a resubmission is told by ``digest``, kept in the memo as ``body_hash``).

        Its search attributes name the kind, the customer (and ``more_attributes``) and are
        what its first workflow task would set on entering ``step`` at ``now`` (with
        ``deadline`` instead of the step's own limit): a broken first task shows as stuck.
        Raises ``WorkflowAlreadyStartedError`` when the id is running or was used.
        """
        await client.start_workflow(
            self.run,
            inp,
            id=self.workflow_id(id_),
            task_queue=settings.queue(WORKFLOW_QUEUE),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo=None if digest is None else {"body_hash": digest},
            search_attributes=sa.typed(
                {
                    "OmsKind": self.name,
                    "OmsCustomerId": customer_id,
                    **(more_attributes or {}),
                    **attributes(step, now, limits_from(settings), deadline=deadline),
                }
            ),
            static_summary=summary,
        )

    async def resubmitted(
        self, state: ApiState, id_: str, digest: str, caller: Principal | None = None
    ) -> Response:
        """The answer when a start found the workflow running (``WorkflowAlreadyStartedError``):
        its view (200) if it was started with the content ``digest`` (its memo's
        ``body_hash``), as ``caller`` may see it (:meth:`as_seen_by`).

        Raises HTTPException 409 :attr:`conflict_error` when it was started with other content.
        """
        await require_same_body(
            state.client, self.workflow_id(id_), digest, self.conflict_error, self.what(id_)
        )
        return json_answer(self.as_seen_by(caller, await self.load(state, id_)))
