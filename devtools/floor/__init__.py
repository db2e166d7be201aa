"""The floor: a bare workflow with as many no-op activities as one order executes, and a
bare signal-waiting workflow, that the bench measures the OMS against (its own models,
workflow, activities and worker, never registered by an OMS worker)."""
