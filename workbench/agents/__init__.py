"""Search agents: the Double DQN (an SB3 ``DQN`` subclass), its settings, and the agent names.

Importing this package does not import torch: ``DoubleDQN``, ``double_q_target`` and
``GymnasiumVecEnv`` load their modules (and torch, stable-baselines3) on first use, while the agent
names and :class:`DDQNSettings` stay light for configs and sweep specs.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._settings import (
    AGENTS,
    BASELINES,
    CONTINUOUS_ONLY,
    SB3_ALGORITHMS,
    DDQNSettings,
    budget_replay_ratio,
    resolve_agent_options,
)

_LAZY = {"DoubleDQN": ".ddqn", "double_q_target": ".ddqn", "GymnasiumVecEnv": ".vec_env"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AGENTS",
    "BASELINES",
    "CONTINUOUS_ONLY",
    "SB3_ALGORITHMS",
    "DDQNSettings",
    "DoubleDQN",
    "GymnasiumVecEnv",
    "budget_replay_ratio",
    "double_q_target",
    "resolve_agent_options",
]
