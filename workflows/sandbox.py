"""The workflow sandbox the OMS's workers (and tests and replayers) run workflows in."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Pydantic imports email_validator lazily while validating an EmailStr; inside the
# sandbox that late import would be re-executed per workflow and warned about.
PASSTHROUGH_MODULES = ("email_validator", "idna", "dns")


def workflow_runner() -> SandboxedWorkflowRunner:
    """The default sandbox with the OMS's third-party pass-through modules."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
