"""Shared test settings: fast hypothesis profile for CI (a few dozen examples, no deadline)."""

from hypothesis import settings

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("full", max_examples=200, deadline=None)  # one-off long runs: --hypothesis-profile=full
settings.load_profile("ci")
