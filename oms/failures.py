"""Failures as Temporal keeps them: short enough that the server keeps them whole.

The server keeps a pending activity's last failure in the workflow's mutable state only up
to 4 KB (dynamic config ``limit.mutableStateActivityFailureSize.error``); past that it keeps
"Failure exceeds size limit." instead, and ``/ops/stuck``, the Temporal UI and the runbook
lose the one line that says what is wrong. A carrier that refuses connections produced
such a failure: the SDK sends the stack trace of every exception in the cause chain
(ours, httpx's, httpcore's), about 9 KB.

The worker's own log keeps the whole traceback (the SDK logs the exception before it is
converted); what Temporal gets is the message and type of each exception in the chain, the
innermost frames of the one raised, and no more than :data:`BUDGET` bytes.
"""

from __future__ import annotations

from temporalio.api.failure.v1 import Failure
from temporalio.converter import DefaultFailureConverter, PayloadConverter

# Half the server's error limit: the server's warning limit, and room for what the SDK adds.
BUDGET = 2048
# What each part may keep, before the total is checked against BUDGET.
MESSAGE_CHARS = 600
STACK_CHARS = 800
CAUSES = 3


class CompactFailureConverter(DefaultFailureConverter):
    """The SDK's failure converter, then each failure trimmed (:func:`trim`)."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        trim(failure)


def trim(failure: Failure) -> None:
    """Keep ``failure`` within :data:`BUDGET` bytes: every message cut to
    :data:`MESSAGE_CHARS`, the stack trace of the outer failure to its last
    :data:`STACK_CHARS` characters (the frames nearest the raise), the causes' stack traces
    and any cause past the :data:`CAUSES`-th dropped. Types and messages stay, which is
    what people and retry policies read."""
    failure.message = _head(failure.message, MESSAGE_CHARS)
    failure.stack_trace = _tail(failure.stack_trace, STACK_CHARS)
    cause, depth = failure, 0
    while cause.HasField("cause"):
        depth += 1
        if depth > CAUSES:
            cause.ClearField("cause")
            break
        cause = cause.cause
        cause.message = _head(cause.message, MESSAGE_CHARS)
        cause.stack_trace = ""
    if failure.ByteSize() > BUDGET:  # long messages in a deep chain: keep the outer one only
        failure.ClearField("cause")
        failure.stack_trace = _tail(failure.stack_trace, BUDGET // 4)


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
