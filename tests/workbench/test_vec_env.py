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


def test_nanogap_same_step_autoreset_matches_next_step_timing_and_feeds_sb3():
    import envs  # noqa: F401

    def make(mode):
        return gym.make_vec(
            "workbench/NanogapLoop-v0",
            num_envs=2,
            vectorization_mode="vector_entry_point",
            max_episode_steps=3,
            autoreset_mode=mode,
        )

    same, nxt = make(AutoresetMode.SAME_STEP), make(AutoresetMode.NEXT_STEP)
    assert same.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    same.reset(seed=5)
    nxt.reset(seed=5)
    actions = np.array([1, 3])
    for _ in range(2):
        np.testing.assert_array_equal(same.step(actions)[0], nxt.step(actions)[0])
    obs_same, _, _, trunc_same, info = same.step(actions)
    obs_next, _, _, trunc_next, _ = nxt.step(actions)
    assert trunc_same.all() and trunc_next.all()
    np.testing.assert_array_equal(info["final_obs"], obs_next)  # the last observation of the episode
    assert info["_final_obs"].all()
    np.testing.assert_array_equal(obs_same, nxt.step(actions)[0])  # the reset observation, one step earlier
    adapter = GymnasiumVecEnv(make(AutoresetMode.SAME_STEP), info_keys=("fe_avg",))
    adapter.seed(0)
    adapter.reset()
    for _ in range(3):
        obs, rewards, dones, infos = adapter.step(np.array([0, 1]))
    assert dones.all() and all("terminal_observation" in i and i["TimeLimit.truncated"] for i in infos)
    assert all(i["fe_avg"] > 0 for i in infos)
