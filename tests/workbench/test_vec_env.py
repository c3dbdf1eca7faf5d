"""The SB3 adapter over Gymnasium vector envs stores the transitions SB3 expects."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3 import DQN

from workbench.agents.vec_env import GymnasiumVecEnv


def cartpoles(n: int, mode=AutoresetMode.SAME_STEP) -> gym.vector.VectorEnv:
    return gym.make_vec("CartPole-v1", n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})


def test_finished_episodes_report_terminal_observation_and_return_the_reset_observation():
    venv = GymnasiumVecEnv(cartpoles(3))
    venv.seed(7)
    obs = venv.reset()
    reference = cartpoles(3)
    ref_obs, _ = reference.reset(seed=[7, 8, 9])
    np.testing.assert_array_equal(obs, ref_obs)
    rng = np.random.default_rng(0)
    seen_done = False
    for _ in range(200):
        actions = rng.integers(0, 2, size=3)
        obs, rewards, dones, infos = venv.step(actions)
        ref_obs, ref_rew, term, trunc, ref_info = reference.step(actions)
        np.testing.assert_array_equal(obs, ref_obs)  # same-step: already the reset observation
        assert rewards.shape == dones.shape == (3,)
        for i in np.flatnonzero(dones):
            seen_done = True
            np.testing.assert_array_equal(infos[i]["terminal_observation"], ref_info["final_obs"][i])
            assert not np.array_equal(infos[i]["terminal_observation"], obs[i])
            assert infos[i]["TimeLimit.truncated"] == bool(trunc[i] and not term[i])
    assert seen_done


def test_next_step_autoreset_is_refused_with_instructions():
    with pytest.raises(ValueError, match="SAME_STEP"):
        GymnasiumVecEnv(cartpoles(2, AutoresetMode.NEXT_STEP))


def test_sb3_dqn_trains_through_the_adapter():
    model = DQN("MlpPolicy", GymnasiumVecEnv(cartpoles(4)), learning_starts=32, seed=0, train_freq=1)
    model.learn(400)
    assert model.num_timesteps >= 400 and model._n_updates > 0
