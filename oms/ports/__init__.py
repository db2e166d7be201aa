"""Ports: what the OMS needs from each external party, as ``Protocol`` classes.

Activities are built with an implementation of each port (the SMTP mailer, the
carrier's HTTP client, a payment provider; the sandboxes are implementations
too) and import only these modules, so a workflow that references an activity
loads no network, database or template library. Errors every implementation
raises are in ``oms.ports.errors``.
"""
