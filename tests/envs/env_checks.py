"""Checks shared by the environment tests: both env checkers, registration in a fresh interpreter, vector envs."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env


def assert_env_checkers_pass(env: gym.Env) -> None:
    """Gymnasium's and stable-baselines3's ``check_env`` pass on ``env`` without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
        sb3_check_env(env)


def assert_made_in_a_fresh_interpreter(names: Sequence[str], obs_shape: tuple[int, ...]) -> None:
    """``gym.make("envs:workbench/<name>")`` registers, resets and steps in a new Python process."""
    code = (
        "import gymnasium as gym\n"
        f"for name in {tuple(names)!r}:\n"
        "    env = gym.make('envs:workbench/' + name)\n"
        "    obs, info = env.reset(seed=0)\n"
        f"    assert env.observation_space.contains(obs) and obs.shape == {obs_shape!r}\n"
        "    assert env.spec.max_episode_steps == 128\n"
        "    env.step(env.action_space.sample())\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def assert_make_vec_matches_the_single_env(
    env_id: str, vector_class: type, num_envs: int, info_keys: Sequence[str], **kwargs: Any
) -> tuple[gym.vector.VectorEnv, dict[str, Any]]:
    """``make_vec`` builds ``vector_class`` with the single env's spaces; one random step gives batched infos.

    Returns:
        The vector env and the infos of its step.
    """
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    single = gym.make(env_id, **kwargs)
    assert isinstance(vec.unwrapped, vector_class)
    assert vec.unwrapped.max_episode_steps == 128
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    obs, _ = vec.reset(seed=1)
    assert vec.observation_space.contains(obs)
    obs, rewards, terminations, truncations, infos = vec.step(vec.action_space.sample())
    assert vec.observation_space.contains(obs) and np.isfinite(rewards).all()
    assert rewards.shape == terminations.shape == truncations.shape == (num_envs,)
    for key in info_keys:
        assert infos[key].shape == (num_envs,) and infos[f"_{key}"].all()
    return vec, infos


def assert_vector_env_follows_single_envs(
    vec: gym.vector.VectorEnv, singles: Sequence[gym.Env], seeds: Sequence[int], actions: np.ndarray, info_key: str
) -> None:
    """Sub-environment i of ``vec`` (``max_episode_steps`` steps per episode, next-step autoreset) reproduces
    ``singles[i]`` seeded with ``seeds[i]`` under the (n_steps, num_envs) ``actions``."""
    steps = vec.unwrapped.max_episode_steps
    obs, _ = vec.reset(seed=list(seeds))
    np.testing.assert_array_equal(obs, [env.reset(seed=s)[0] for env, s in zip(singles, seeds)])
    for t, action in enumerate(actions):
        obs, rewards, terminations, truncations, infos = vec.step(action)
        assert not terminations.any()
        if t == steps:  # the step after truncation: reset observations, reward 0, no flags
            np.testing.assert_array_equal(obs, [env.reset()[0] for env in singles])
            np.testing.assert_array_equal(rewards, 0.0)
            assert not truncations.any() and not infos["invalid_move"].any()
            continue
        results = [env.step(a) for env, a in zip(singles, action)]
        np.testing.assert_array_equal(obs, [r[0] for r in results])
        np.testing.assert_allclose(rewards, [r[1] for r in results], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(infos[info_key], [r[4][info_key] for r in results])
        np.testing.assert_array_equal(infos["invalid_move"], [r[4]["invalid_move"] for r in results])
        np.testing.assert_array_equal(truncations, t + 1 in (steps, 2 * steps + 1))
