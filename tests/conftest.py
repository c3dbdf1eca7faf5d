"""Shared test settings: fast hypothesis profile for CI (a few dozen examples, no deadline)."""

from hypothesis import settings

settings.register_profile("ci", max_examples=25, deadline=None)
settings.load_profile("ci")
