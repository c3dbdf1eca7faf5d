"""Adapter that lets stable-baselines3 train on a Gymnasium vector env (e.g. a native Numba batch).

SB3 does not consume ``gymnasium.vector.VectorEnv`` (SB3 issues #1568, #1745): its ``VecEnv``
contract is same-step autoreset, with the last observation of a finished episode in
``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` for time limits.
Gymnasium's ``AutoresetMode.SAME_STEP`` has exactly that timing and stores the last observation
in ``info["final_obs"]``; this adapter requires that mode and translates the info layout. With
next-step autoreset SB3 would silently store (final obs → reset obs) transitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv


class GymnasiumVecEnv(VecEnv):
    """SB3 ``VecEnv`` over a ``gymnasium.vector.VectorEnv`` whose autoreset mode is SAME_STEP.

    Args:
        venv: the Gymnasium vector env; ``venv.metadata["autoreset_mode"]`` must be SAME_STEP.
        info_keys: per-env info entries copied into SB3's list of info dicts (e.g. ``"fe_avg"``).

    Raises:
        ValueError: the vector env uses another autoreset mode.
    """

    def __init__(self, venv: gym.vector.VectorEnv, info_keys: Sequence[str] = ()) -> None:
        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"venv must use autoreset_mode=AutoresetMode.SAME_STEP (SB3 stores terminal observations the "
                f"same step); got autoreset_mode={mode!r}. Create it with vector_kwargs={{'autoreset_mode': "
                "AutoresetMode.SAME_STEP}}"
            )
        self.venv = venv  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self.info_keys = tuple(info_keys)
        self._actions: np.ndarray | None = None
        self.last_info: dict[str, Any] = {}

    def reset(self) -> np.ndarray:
        seeds = [s for s in self._seeds] if any(s is not None for s in self._seeds) else None
        obs, info = self.venv.reset(seed=seeds, options=self._options[0] if self._options else None)
        self._reset_seeds()
        self._reset_options()
        self.last_info = info
        self.reset_infos = [self._env_info(info, i) for i in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        self.last_info = info
        dones = terminated | truncated
        infos = [self._env_info(info, i) for i in range(self.num_envs)]
        if dones.any():
            final_obs = info["final_obs"]
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = final_obs[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, rewards.astype(np.float32), dones, infos

    def _env_info(self, info: dict[str, Any], i: int) -> dict[str, Any]:
        return {key: info[key][i] for key in self.info_keys if key in info}

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        # render_mode is optional on Gymnasium vector envs; SB3 asks for it at construction.
        value = getattr(self.venv, attr_name, None) if attr_name == "render_mode" else getattr(self.venv, attr_name)
        return [value] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def _get_indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
