"""Fixtures for the workflow tests (time-skipping server, fake activities)."""

from tests.workflows.harness import env, harness, mail_harness

__all__ = ["env", "harness", "mail_harness"]
