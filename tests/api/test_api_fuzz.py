"""Bad input, fuzzed: schemathesis against the API's own OpenAPI schema, every endpoint.

The real API (uvicorn) in front of a real worker, Temporal dev server and
SQLite store. For every operation, valid (positive) and schema-violating
(negative) requests: no 5xx ever; every 4xx is a problem (RFC 9457,
``application/problem+json``) with a title and a detail, a 422 with each field's
``loc`` and ``msg``; and a request that got a 4xx started no workflow (the root
workflows on the stack's task queue are counted before and after it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from temporalio.client import Client

from oms.settings import WORKFLOW_QUEUE

from stack import running_stack

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

# Every request the fuzzer sends carries these headers. Admin may call every route, so the
# fuzzer reaches the validation behind each one (roles are tested in tests/e2e/test_auth.py).
FUZZ_HEADERS: dict[str, str] = {"Authorization": "Bearer dev-admin"}
# Examples per operation and generation mode: enough to find the cheap bugs in ~25 s.
EXAMPLES = 4
T = TypeVar("T")


def problem_named(body: Any, content_type: str) -> bool:
    """Is a 4xx a problem (RFC 9457) that says what is wrong: a title, a detail, and for a
    422 every invalid field with its ``loc`` and ``msg``?"""
    if content_type != "application/problem+json" or not isinstance(body, dict):
        return False
    if not (body.get("title") and body.get("detail") and isinstance(body.get("status"), int)):
        return False
    errors = body.get("errors")
    if body["status"] == 422 and errors is not None:
        return bool(errors) and all(
            isinstance(item, dict) and item.get("loc") and item.get("msg") for item in errors
        )
    return True


async def test_no_request_gets_a_5xx_every_4xx_names_the_problem_and_starts_no_workflow(
    temporal_client: Client, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    async with running_stack(temporal_client, migrated_sqlite_url, tmp_path) as (stack, _):
        loop = asyncio.get_running_loop()
        queue = stack.settings.queue(WORKFLOW_QUEUE)
        # Root workflows only: a shipment started later by an earlier, valid order is a child.
        query = f"TaskQueue = '{queue}' AND ParentWorkflowId IS NULL"

        def on_loop(coro: Awaitable[T]) -> T:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)  # type: ignore[arg-type]

        def count() -> int:
            return on_loop(temporal_client.count_workflows(query)).count

        schema_json = (await stack.api.get("/openapi.json")).json()
        report = await asyncio.to_thread(_fuzz, schema_json, stack.settings.api_url, count)
    assert report["operations"] >= 30, report  # every endpoint, not a handful
    assert report["requests"] > 0 and report["rejected"] > 0, report
    assert report["failures"] == [], json.dumps(report["failures"][:10], indent=1)


def _fuzz(schema_json: dict[str, Any], base_url: str, count: Any) -> dict[str, Any]:
    """Run every operation in both modes; collect every failure instead of stopping."""
    schema = schemathesis.openapi.from_dict(schema_json)
    failures: list[dict[str, Any]] = []
    tally = {"requests": 0, "rejected": 0}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def probe(case: Any) -> None:
                _probe(case, base_url, count, failures, tally)

            try:
                probe()
            except Unsatisfiable:
                # Nothing to violate (e.g. GET /health has no parameters): no negative case.
                assert mode == GenerationMode.NEGATIVE, operation.label
    return {**tally, "operations": operations, "failures": failures}


def _probe(
    case: Any, base_url: str, count: Any, failures: list[dict[str, Any]], tally: dict[str, int]
) -> None:
    before = count()
    try:
        response = case.call(base_url=base_url, headers=FUZZ_HEADERS, timeout=60)
    except Exception as err:  # a dropped connection is a failure to report, not to crash on
        failures.append({"request": _describe(case), "problem": f"no answer: {err!r}"})
        return
    tally["requests"] += 1
    what = {"request": _describe(case), "status": response.status_code, "body": response.text[:300]}
    if response.status_code >= 500:
        failures.append({**what, "problem": "server error"})
    elif response.status_code >= 400:
        tally["rejected"] += 1
        try:
            body = json.loads(response.text)
        except ValueError:
            body = None
        if not problem_named(body, _content_type(response.headers)):
            failures.append({**what, "problem": "4xx does not name the problem"})
        after = count()
        if after != before:
            failures.append({**what, "problem": f"rejected but workflows {before} -> {after}"})


def _content_type(headers: Any) -> str:
    """The Content-Type of a schemathesis response (its headers map names to lists)."""
    value = headers.get("content-type") or headers.get("Content-Type") or ""
    return str(value[0] if isinstance(value, list) else value)


def _describe(case: Any) -> str:
    body = case.body if isinstance(case.body, (dict, list, str, int, float)) else None
    text = json.dumps(body, default=str)[:300] if body is not None else ""
    return f"{case.method} {case.formatted_path} {case.query or ''} {text}"
