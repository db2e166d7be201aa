"""Frozen workflow code for runs opened before the lifecycle tracker (OMS 0.1).

A workflow started by 0.1 has no ``lifecycle-tracker`` patch marker in its history
(a shipment: no ``reports="milestones"`` in its input). Each workflow class of
``workflows/`` sees that when it is created and hands the run, and its signals,
queries and updates, to the class here, which issues exactly the commands 0.1
issued, so those runs replay and finish. Change nothing here that changes a
command; the histories in ``tests/histories`` without the ``_tracker`` suffix prove
it. Delete a module once ``TemporalChangeVersion`` shows no open run of its kind
without the marker (README: "Changing a workflow safely").

Where today's pure code gives exactly what 0.1 computed (``oms.views`` renderings and
email contexts, ``oms.domain`` rules such as ``quotes.next_timer`` or
``approval.requirements``, ``ShipmentSummary.of``), the classes here call it instead of
keeping a copy. A change to those functions changes what an old run sends (activity
payloads, emails, details) though not its commands, so the replay tests stay green:
keep such a change to today's runs, or give the 0.1 caller its own copy back.
"""
