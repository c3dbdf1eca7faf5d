"""Inverse design searches with a run folder per search: Double DQN, SB3 agents and baselines.

``search(SearchConfig(...))`` is the documented Python entry point and ``resume(run_dir)``
continues a killed search from its last checkpoint; ``workbench search thz|acoustic`` is a thin layer
over both. One iteration = one evaluated design (a vector step of n envs counts n) together with the
learning updates made for it; the black-box baselines spend the same unit.

The package is split by job: :mod:`.config` (the settings; no torch import), ``_rundir`` (metrics,
checkpoints), ``_callbacks`` (the SB3 callback) and ``_runner`` (the loop). ``SearchConfig`` is
importable without torch; ``search``, ``resume`` and ``SearchResult`` load the runner (torch,
stable-baselines3) on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..agents import AGENTS, SB3_ALGORITHMS
from ..families import FAMILIES, Family, register_family
from .config import SearchConfig

_RUNNER_NAMES = ("SearchResult", "resume", "search")


def __getattr__(name: str) -> Any:
    if name in _RUNNER_NAMES:
        return getattr(importlib.import_module("._runner", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGENTS",
    "FAMILIES",
    "SB3_ALGORITHMS",
    "Family",
    "SearchConfig",
    "SearchResult",
    "register_family",
    "resume",
    "search",
]
