"""Customer PII never reaches Temporal's database in the clear (issue #8).

An order placed through the real stack (API -> dev server -> worker) is fetched back as raw
history over gRPC, as anyone with access to Temporal's database or API would see it without
the codec: the customer's name, email and street address appear in no byte of it, nor in the
search attributes. With the codec the order reads normally, and the encrypted history
replays. An order started before encryption was switched on (plain payloads) still runs.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload, SearchAttributes, WorkflowExecution
from temporalio.api.history.v1 import History, MarkerRecordedEventAttributes
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from oms.client import data_converter, payload_codec
from oms.codec import ENCODING
from oms.models.orders import OrderInput
from oms.settings import WORKFLOW_QUEUE
from starters.api.orders import options_from
from workflows.order import OrderWorkflow, order_workflow_id
from workflows.quote import QuoteWorkflow
from workflows.returns import ReturnWorkflow
from workflows.sandbox import workflow_runner
from workflows.shipment import ShipmentWorkflow, shipment_workflow_id

from stack import Stack, order_body, running_stack

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _pii_order(order_id: str) -> tuple[dict[str, object], list[bytes]]:
    """An order body whose PII is unique to this test, and those PII values as bytes."""
    tag = uuid.uuid4().hex[:8]
    name, email, street = f"Ingrid Pii{tag}", f"ingrid.{tag}@example.com", f"Hemligagatan {tag}"
    body = order_body(order_id, [("TSHIRT-BLK-M", 1, "249.00")])
    body["customer"] = {"id": f"C-{tag}", "name": name, "email": email, "locale": "sv"}
    body["ship_to"] = {
        "name": name,
        "line1": street,
        "postal_code": "111 21",
        "city": "Stockholm",
        "country": "SE",
    }
    return body, [name.encode(), email.encode(), street.encode()]


async def _raw_history(client: Client, workflow_id: str) -> History:
    """The history exactly as the server stores and serves it: raw gRPC, no codec."""
    history = History()
    token = b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=workflow_id),
                next_page_token=token,
            )
        )
        history.events.extend(page.history.events)
        token = page.next_page_token
        if not token:
            return history


# What the SDK writes into markers itself, never through the data converter.
SDK_MARKER_FIELDS = {
    "id",
    "deprecated",
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
}


def _sdk_bookkeeping(payload: Payload) -> bool:
    """A plain-JSON marker payload holding only the SDK's own fields (patch id, LA seq)."""
    if payload.metadata.get("encoding") != b"json/plain":
        return False
    data = json.loads(payload.data)
    return isinstance(data, dict) and set(data) <= SDK_MARKER_FIELDS


def _payloads(message: object) -> list[Payload]:
    """Every payload anywhere inside a protobuf message, search attributes aside."""
    from google.protobuf.message import Message

    found: list[Payload] = []

    def walk(msg: Message) -> None:
        if isinstance(msg, SearchAttributes):
            return  # indexed by the server, never encrypted: checked for PII on their own
        if isinstance(msg, MarkerRecordedEventAttributes):
            # Markers (workflow.patched, local activities) carry the SDK's own bookkeeping
            # unencoded (patch id; seq, attempt, activity type); a local activity's result is
            # a payload of its own and goes through the codec. No customer data either way:
            # the whole history's bytes are searched for PII separately.
            for payloads in msg.details.values():
                for payload in payloads.payloads:
                    if not _sdk_bookkeeping(payload):
                        found.append(payload)
            return
        if isinstance(msg, Payload):
            found.append(msg)
            return
        for field, value in msg.ListFields():
            if field.message_type is None:
                continue
            if isinstance(value, Message):
                walk(value)
                continue
            # A repeated field or a map (its values): walk the messages in it.
            for item in value.values() if hasattr(value, "values") else value:
                if isinstance(item, Message):
                    walk(item)

    assert isinstance(message, Message)
    walk(message)
    return found


async def _placed_and_fulfilled(stack: Stack, body: dict[str, object]) -> dict[str, object]:
    response = await stack.place(body)
    assert response.status_code == 202, response.text
    return await stack.fulfil(str(body["order_id"]))


async def test_raw_history_holds_no_customer_pii_and_the_codec_reads_it(
    temporal_client: Client, migrated_postgres_url: str, tmp_path: Path
) -> None:
    order_id = f"PII-{uuid.uuid4().hex[:8].upper()}"
    body, secrets = _pii_order(order_id)
    async with running_stack(temporal_client, migrated_postgres_url, tmp_path) as (stack, _):
        order = await _placed_and_fulfilled(stack, body)
        assert order["status"] == "completed"
        [shipment] = order["shipments"]  # type: ignore[misc]
        converter = data_converter(stack.settings)
        codec = payload_codec(stack.settings)

        for workflow_id in (
            order_workflow_id(order_id),
            shipment_workflow_id(shipment["shipment_id"]),
        ):
            raw = await _raw_history(temporal_client, workflow_id)
            wire = raw.SerializeToString()
            for secret in secrets:
                assert secret not in wire, f"{secret!r} readable in {workflow_id}'s history"
            payloads = _payloads(raw)
            assert len(payloads) > 10
            plain = [p for p in payloads if p.metadata["encoding"] != ENCODING]
            assert not plain, plain[:2]
            # Not a vacuous search: decrypted, the same payloads do hold the PII.
            decrypted = b"".join(p.SerializeToString() for p in await codec.decode(payloads))
            assert secrets[1] in decrypted and secrets[2] in decrypted

        # Search attribute values are never encrypted: they must carry ids only.
        description = await temporal_client.get_workflow_handle(
            order_workflow_id(order_id)
        ).describe()
        indexed = description.raw_description.workflow_execution_info.search_attributes
        assert indexed.indexed_fields, "the order has search attributes"
        for secret in secrets:
            assert secret not in indexed.SerializeToString()

        # With the codec the order's input reads as placed; without it, it does not.
        raw = await _raw_history(temporal_client, order_workflow_id(order_id))
        started = raw.events[0].workflow_execution_started_event_attributes
        [inp] = await converter.decode(started.input.payloads, [OrderInput])
        assert isinstance(inp, OrderInput)
        assert inp.customer.name == secrets[0].decode()
        assert inp.customer.email == secrets[1].decode()
        assert inp.ship_to.line1 == secrets[2].decode()
        with pytest.raises(KeyError, match="binary/encrypted"):
            await pydantic_data_converter.decode(started.input.payloads, [OrderInput])

        # The replayer reads encrypted histories with the same converter.
        history = WorkflowHistory(order_workflow_id(order_id), list(raw.events))
        replayer = Replayer(
            workflows=[OrderWorkflow, ShipmentWorkflow, QuoteWorkflow, ReturnWorkflow],
            data_converter=converter,
            workflow_runner=workflow_runner(),
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure

        # The customer id goes into a search attribute: an email there is refused up front.
        bad = dict(body, order_id=f"{order_id}-B")
        bad["customer"] = {**body["customer"], "id": secrets[1].decode()}  # type: ignore[dict-item]
        response = await stack.place(bad)
        assert response.status_code == 422, response.text
        assert ["body", "customer", "id"] in [e["loc"] for e in response.json()["errors"]]


async def test_order_started_before_encryption_completes_under_the_encrypting_worker(
    temporal_client: Client, migrated_postgres_url: str, tmp_path: Path
) -> None:
    """Switching encryption on mid-flight: a plain-payload start is read, the rest is sealed."""
    order_id = f"PII-{uuid.uuid4().hex[:8].upper()}"
    body, secrets = _pii_order(order_id)
    async with running_stack(temporal_client, migrated_postgres_url, tmp_path) as (stack, _):
        plain = await Client.connect(
            stack.settings.temporal_address,
            namespace=stack.settings.temporal_namespace,
            data_converter=pydantic_data_converter,
        )
        inp = OrderInput.model_validate(
            {
                **body,
                "placed_at": datetime.now(UTC),
                "options": options_from(stack.settings),
            }
        )
        await plain.start_workflow(
            OrderWorkflow.run,
            inp,
            id=order_workflow_id(order_id),
            task_queue=stack.settings.queue(WORKFLOW_QUEUE),
        )
        order = await stack.fulfil(order_id)
        assert order["status"] == "completed"
        message = await stack.wait_for_email(f"{order_id}:confirmed")
        assert message.to == secrets[1].decode()

        raw = await _raw_history(temporal_client, order_workflow_id(order_id))
        started = raw.events[0].workflow_execution_started_event_attributes
        assert secrets[1] in started.input.SerializeToString()  # written before encryption
        later = _payloads(History(events=raw.events[1:]))
        assert later and all(p.metadata["encoding"] == ENCODING for p in later)
        assert not any(s in History(events=raw.events[1:]).SerializeToString() for s in secrets)
