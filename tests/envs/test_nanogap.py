"""Nanogap-loop Gymnasium environments: API conformance, constraints, vectorisation and caching."""

from __future__ import annotations

import functools
import math
import re

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import envs  # noqa: F401  (registers the ids)
from analytic import thz
from envs.nanogap import (
    DESIGN_PARAMETERS,
    NanogapConfig,
    NanogapLoopContinuousEnv,
    NanogapLoopEnv,
    NanogapLoopVectorEnv,
)

DISCRETE = "workbench/NanogapLoop-v0"
CONTINUOUS = "workbench/NanogapLoopContinuous-v0"
# A small grid where the margin and the diffraction limit (periods < 102.6 µm at 1.5 THz) bind often.
TIGHT = {
    "side_x": (10e-6, 100e-6, 5e-6),
    "side_y": (10e-6, 100e-6, 5e-6),
    "period_x": (20e-6, 120e-6, 10e-6),
    "period_y": (20e-6, 120e-6, 10e-6),
    "target_frequency": 1.5e12,
}


def assert_valid_design(design: dict, config: NanogapConfig) -> None:
    array = thz.LoopArray(**design)
    slack = 1e-6 * 5e-6
    for side, period in (("side_x", "period_x"), ("side_y", "period_y")):
        assert design[period] >= design[side] + config.margin - slack
    assert config.target_frequency < array.diffraction_frequency
    for name in DESIGN_PARAMETERS:
        lo, hi, _ = getattr(config, name)
        assert lo * (1 - 1e-12) <= design[name] <= hi * (1 + 1e-12)


@functools.cache
def tight_env() -> NanogapLoopEnv:
    return NanogapLoopEnv(TIGHT)


def test_episode_is_truncated_by_the_registered_time_limit():
    env = gym.make(DISCRETE, max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"side_x": (500e-6, 10e-6, 5e-6)}, "side_x"),
        ({"gap": (1e-9, 20e-9, 0.0)}, "gap"),
        ({"thickness": (-1e-8, 2e-7, 1e-8)}, "thickness"),
        ({"period_y": (20e-6, 1e-3)}, "period_y"),
        ({"margin": 0.0}, "margin"),
        ({"target_frequency": 8e12}, "target_frequency"),
        ({"target_frequency": -1.0}, "target_frequency"),
        ({"period_x": (20e-6, 100e-6, 10e-6), "side_x": (100e-6, 200e-6, 5e-6)}, "period_x"),
        ({"objective": "bandwidth"}, "objective"),
        ({"start": "corner"}, "start"),
        ({"cache_size": -1}, "cache_size"),
        ({"q_target": 0.1}, "q_target"),
        ({"spectrum_points": 8}, "spectrum_points"),
        ({"side_x": (10e-6, 1e6, 5e-6)}, "side_x max must be < 0.01"),
        ({"gap": (1e-9, 20e-9, 1e-14)}, "grid values, more than 100,000"),
        ({"spectrum_points": 10**6}, "spectrum_points must be <= 4096"),
        ({"eps_substrate": -2.0}, "eps_substrate"),
        ({"metal": "unobtainium"}, "metal"),
    ],
)
def test_invalid_configuration_raises_value_error_naming_the_key(overrides, named):
    with pytest.raises(ValueError, match=named):
        NanogapLoopEnv(**overrides)


def test_unknown_key_lists_the_valid_keys_and_target_error_gives_the_bound():
    with pytest.raises(ValueError, match="valid keys are: .*target_frequency"):
        NanogapLoopEnv(config={"colour": "red"})
    bound = thz.C0 / (math.sqrt(3.8) * 20e-6)
    with pytest.raises(ValueError, match=re.escape(f"{bound:g} Hz") + ".*" + re.escape("target_frequency=8e+12")):
        NanogapLoopEnv(target_frequency=8e12)
    with pytest.raises(ValueError, match="num_envs"):
        NanogapLoopVectorEnv(num_envs=0)


@given(actions=st.lists(st.integers(0, 11), min_size=1, max_size=25), seed=st.integers(0, 2**16))
def test_random_action_sequences_only_visit_valid_designs(actions, seed):
    env = tight_env()
    obs, info = env.reset(seed=seed)
    assert_valid_design(info["design"], env.config)
    for action in actions:
        before = info["design"]
        obs, reward, terminated, truncated, info = env.step(action)
        assert_valid_design(info["design"], env.config)
        assert env.observation_space.contains(obs) and np.isfinite(obs).all() and math.isfinite(reward)
        assert not terminated and not truncated
        if info["invalid_move"]:
            assert info["design"] == before and reward == 0.0


def test_invalid_moves_occur_and_keep_the_design():
    env = NanogapLoopEnv(TIGHT, start="center")
    env.reset(seed=0)
    for _ in range(40):  # push side_x up until it hits period_x − margin
        obs, reward, _, _, info = env.step(1)
    assert info["invalid_move"] and reward == 0.0
    assert info["design"]["side_x"] + env.config.margin == pytest.approx(info["design"]["period_x"])


def test_info_is_fresh_and_rebuilds_the_design_with_the_model_values():
    env = NanogapLoopEnv(start="center")
    _, first = env.reset(seed=0)
    first["design"]["gap"] = -1.0
    _, _, _, _, info = env.step(np.array([3]))
    assert info is not first and info["design"]["gap"] > 0
    array = thz.LoopArray(**info["design"])
    response = thz.spectrum(array, [env.config.target_frequency])
    assert info["fe_avg"] == pytest.approx(response.fe_avg[0], rel=1e-12)
    assert info["t_abs"] == pytest.approx(response.t_abs[0], rel=1e-12)
    assert info["objective"] == info["fe_avg"] and "resonance_hz" not in info
    assert info["design"] == env.design


@pytest.mark.parametrize("action", [7, np.int64(7), np.int32(7), np.array(7), np.array([7], dtype=np.uint8)])
def test_integer_actions_of_any_type_are_accepted(action):
    env = NanogapLoopEnv(start="center")
    env.reset(seed=0)
    assert env.step(action)[4]["design"]["period_y"] == pytest.approx(env.core.grid.values[3][50])


@pytest.mark.parametrize("action", [12, -1, 1.0, True, np.array([1, 2])])
def test_bad_discrete_actions_raise_value_error(action):
    env = NanogapLoopEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_continuous_actions_move_by_rounded_grid_steps():
    env = NanogapLoopContinuousEnv(start="center", max_steps_per_action=3)
    _, start = env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([0.1, 0, 0, 0, 1.0, -0.5], dtype=np.float32))
    assert not info["invalid_move"]
    assert info["design"]["side_x"] == start["design"]["side_x"]
    assert info["design"]["gap"] == pytest.approx(start["design"]["gap"] + 3e-9)
    assert info["design"]["thickness"] == pytest.approx(start["design"]["thickness"] - 20e-9)
    _, reward, _, _, info = env.step(np.array([0, 0, 0, 0, -1.0, 0], dtype=np.float32) * 100)
    assert not info["invalid_move"] and info["design"]["gap"] == pytest.approx(start["design"]["gap"])


def test_best_design_tracks_the_highest_objective_seen():
    env = NanogapLoopEnv()
    _, info = env.reset(seed=7)
    seen = [info["objective"]]
    for action in (1, 3, 5, 7, 9, 11):
        seen.append(env.step(action)[4]["objective"])
    assert env.best_value == max(seen)
    rebuilt = thz.spectrum(thz.LoopArray(**env.best_design), [env.config.target_frequency])
    assert rebuilt.fe_avg[0] == pytest.approx(env.best_value, rel=1e-12)


def test_filter_objective_follows_its_documented_formula():
    env = NanogapLoopEnv(objective="filter", q_target=10.0, filter_weights=(0.3, 0.7), reward_scale=2.0)
    _, before = env.reset(seed=4)
    _, reward, _, _, info = env.step(5)
    f0 = env.config.target_frequency
    t = thz.spectrum(thz.LoopArray(**info["design"]), [f0, 0.95 * f0, 1.05 * f0]).transmittance
    score = 0.3 * t[0] + 0.7 * t[0] * np.clip(1 - t[1:].mean() / t[0], 0, 1)
    assert info["objective"] == pytest.approx(score, rel=1e-9)
    assert reward == pytest.approx(2.0 * (info["objective"] - before["objective"]), rel=1e-9)


def test_resonance_is_computed_on_demand_or_every_n_steps():
    env = NanogapLoopEnv(start="center", resonance_every=2, target_frequency=0.15e12)
    env.reset(seed=0)
    assert "resonance_hz" not in env.step(0)[4]
    info = env.step(1)[4]
    assert info["resonance_hz"] == env.resonance().frequency
    assert 0.5 * 0.15e12 <= info["resonance_hz"] <= 2 * 0.15e12


def test_ansi_render_describes_the_design():
    env = gym.make(DISCRETE, render_mode="ansi")
    env.reset(seed=0)
    assert "fe_avg" in env.render()
    vec = NanogapLoopVectorEnv(num_envs=2, render_mode="ansi")
    vec.reset(seed=0)
    assert len(vec.render()) == 2


def test_vector_int_seed_seeds_sub_environment_i_with_seed_plus_i():
    vec = NanogapLoopVectorEnv(num_envs=3)
    obs, _ = vec.reset(seed=10)
    np.testing.assert_array_equal(obs, [NanogapLoopEnv().reset(seed=10 + i)[0] for i in range(3)])
    np.testing.assert_array_equal(vec.reset(seed=[np.int64(10), 11, 12])[0], obs)
    with pytest.raises(ValueError, match="seed"):
        vec.reset(seed=[1, 2])


def test_filter_spectrum_reads_the_resonance_from_the_whole_spectrum():
    from standins import StandInSpectra

    model = StandInSpectra()  # a Lorentzian |t| with Q = 20 at c/(4·(l_x + l_y))
    env = NanogapLoopEnv(objective="filter_spectrum", spectrum_points=1024, start="center", model=model)
    _, info = env.reset(seed=0)
    design = info["design"]
    f_res = thz.C0 / (4 * (design["side_x"] + design["side_y"]))
    assert info["peak_hz"] == pytest.approx(f_res, rel=1e-3)
    q = 1 / (
        (np.sqrt(1 / 400 + 4) + 1 / 20) / 2 - (np.sqrt(1 / 400 + 4) - 1 / 20) / 2
    )  # FWHM of |t|² = 1/(1 + 400(x − 1/x)²)
    assert info["peak_q"] == pytest.approx(q, rel=0.02) and info["peak_transmittance"] == pytest.approx(1, abs=1e-3)
    f0, target_q = env.config.target_frequency, env.config.q_target
    score = min(1.0, info["peak_q"] / target_q) * info["peak_transmittance"]
    assert info["objective"] == pytest.approx(score / (1 + (2 * target_q * (info["peak_hz"] - f0) / f0) ** 2))


def test_filter_spectrum_peak_matches_the_resonance_search_of_the_modal_model():
    env = NanogapLoopEnv(objective="filter_spectrum", spectrum_points=512, resonance_window=(0.5, 1.5), start="random")
    for seed in range(20):
        _, info = env.reset(seed=seed)
        array = thz.LoopArray(**info["design"])
        lo, hi = 0.5 * 0.2e12, min(1.5 * 0.2e12, array.diffraction_frequency)
        resonance = thz.resonance(array, lo, hi)
        if (
            lo < resonance.frequency < 0.99 * hi
            and abs(info["peak_hz"] - resonance.frequency) < 0.1 * resonance.frequency
        ):
            step = 0.2e12 / 511
            assert info["peak_hz"] == pytest.approx(resonance.frequency, abs=step)
            assert info["peak_transmittance"] == pytest.approx(resonance.t_abs**2 * 3.8**0.5, rel=0.05)
            return
    pytest.fail("no sampled design had its resonance inside the window")
