"""The stable-baselines3 callback of a search: metrics rows, checkpoints and the iteration budget."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from ._rundir import Metrics, save_checkpoint
from .config import SearchConfig


class Tracker(BaseCallback):
    """Metrics rows every ``log_every`` iterations, checkpoints every ``checkpoint_every``, and the budget.

    The budget is spent exactly: when fewer than ``num_envs`` iterations remain, the last vector
    step moves only that many sub-environments (``GridVectorEnv.active``); the frozen ones cost no
    evaluation and do not count. :attr:`iterations` is SB3's ``num_timesteps`` minus them.

    Args:
        venv: the search's vector env (its ``core`` holds the statistics).
        cfg: the run's settings.
        metrics: the run folder's metrics writer.
        state: the checkpoint state when resuming, else None.
    """

    def __init__(self, venv: Any, cfg: SearchConfig, metrics: Metrics, state: dict | None) -> None:
        super().__init__()
        self.venv, self.cfg, self.metrics = venv, cfg, metrics
        self.next_log = state["next_log"] if state else cfg.log_every
        self.rewards: list[float] = state["pending_rewards"] if state else []
        self.next_checkpoint = (state["iterations"] if state else 0) + cfg.checkpoint_every
        self.frozen = 0  # sub-environment steps that were not taken (the trimmed last vector step)

    @property
    def iterations(self) -> int:
        """Designs stepped so far (SB3's ``num_timesteps`` less the frozen sub-environment steps)."""
        return self.num_timesteps - self.frozen

    def _on_step(self) -> bool:
        vector_env = self.venv.unwrapped
        if vector_env.active is not None:  # the trimmed step just taken
            self.frozen += vector_env.num_envs - vector_env.active
            vector_env.active = None
        self.rewards.append(float(np.mean(self.locals["rewards"])))
        n = self.iterations
        remaining = self.cfg.steps - n
        if 0 < remaining < vector_env.num_envs:
            vector_env.active = remaining
        self.metrics.show(n, self.venv.best_value)
        if n >= self.next_log or n >= self.cfg.steps:
            self.next_log += self.cfg.log_every
            rate = getattr(self.model, "exploration_rate", "")  # off-policy Q-learning agents only
            self.metrics.row(n, self.venv, float(np.mean(self.rewards)), rate)
            self.rewards.clear()
        if n >= self.next_checkpoint and n < self.cfg.steps:
            self.next_checkpoint += self.cfg.checkpoint_every
            self.save()
        return n < self.cfg.steps  # on-policy agents would otherwise finish their rollout

    def save(self) -> None:
        """Write a checkpoint: model, replay buffer and search state, then point ``checkpoint.json`` at it."""
        save_checkpoint(self.metrics.run_dir, self.model, self.venv, self.iterations, self.next_log, self.rewards)
