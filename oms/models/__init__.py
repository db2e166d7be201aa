"""Pydantic models that cross workflow, activity and API boundaries."""
