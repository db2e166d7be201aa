"""Fault suite (``oms chaos``, ``make chaos``): the OMS under failure, effects counted.

Each scenario starts its own OMS (``stack``), drives orders through it
(``workload``) while injecting one fault (``scenarios/``), then counts every
side effect per business key and checks the stock ledger (``audit``). The
same code runs full-size from ``make chaos`` and small from ``tests/chaos``.
"""
