"""Plate-cavity Gymnasium environments: API conformance, mass budget, objectives, vectorisation and caching."""

from __future__ import annotations

import functools
import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs  # noqa: F401  (registers the ids)
from analytic import acoustic
from envs.plate_cavity import (
    PlateCavityConfig,
    PlateCavityContinuousEnv,
    PlateCavityEnv,
    PlateCavityVectorEnv,
    cavity_from_design,
    design_parameters,
)

DISCRETE = "workbench/PlateCavity-v0"
CONTINUOUS = "workbench/PlateCavityContinuous-v0"
# Small and fast: 4×4 plate and transverse modes, 46 frequencies (η = 0.05 over 20–60 Hz), two masses.
SMALL = {
    "n_plate": 4,
    "n_transverse": 4,
    "band": (20.0, 60.0),
    "plate_loss": 0.05,
    "air_loss": 0.05,
    "n_masses": 2,
}
# As SMALL with a budget that binds often (the centre design is 3.14 kg of plate plus 0.4 kg of masses).
TIGHT = {**SMALL, "mass_budget": 3.0}


@functools.cache
def tight_env() -> PlateCavityEnv:
    return PlateCavityEnv(TIGHT)


def direct_band_level(design: dict, config: PlateCavityConfig) -> float:
    """J of a design from its info mapping, with the NumPy reference of acoustic.responses."""
    cavity, force, masses = cavity_from_design(design)
    batch = acoustic.CavityBatch.from_cavities([cavity], [force], [masses])
    response = acoustic.responses(batch, config.band_frequencies, config.n_plate, config.n_transverse, method="numpy")
    return float(acoustic.band_level(response)[0])


def test_default_design_space_matches_the_documentation():
    env = PlateCavityEnv()
    grid = env.core.grid
    assert env.action_space == gym.spaces.Discrete(34)
    assert grid.material_names == ("polymer", "aluminium", "steel")
    assert grid.budget == pytest.approx(1.2 * (2700 * 2.75e-3 * 0.65**2 + 4 * 0.2))
    assert grid.budget == pytest.approx(4.72, abs=0.005)
    freqs = env.core.freqs
    assert len(freqs) == 602 and freqs[0] == 20.0 and freqs[-1] == pytest.approx(400.0)
    assert np.all(np.diff(freqs) <= 0.01 * freqs[:-1] / 2 * (1 + 1e-12))  # spacing ≤ η·f/2


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"n_plate": 1000}, "n_plate must be <= 32"),
        ({"plate_loss": 5.0}, "plate_loss must be <= 1"),
        ({"band": (20.0, 1e6)}, "band f_hi must be <= 20000"),
        ({"plate_loss": 1e-9}, "quiet band grid would hold"),
        ({"lx": (0.3, 1e6, 0.05)}, "lx max must be < 20"),
        ({"materials": ("aluminium", "wood")}, "materials"),
        ({"thickness": (5e-3, 0.5e-3, 0.25e-3)}, "thickness"),
        ({"lx": (-0.3, 1.0, 0.05)}, "lx"),
        ({"lz": (0.2, 1.0, 0.0)}, "lz"),
        ({"ly": (0.3, 1.0)}, "ly"),
        ({"mass": (-0.1, 0.4, 0.02)}, "mass"),
        ({"mass_position": (0.0, 0.9, 0.1)}, "mass_position"),
        ({"mass_position": (0.1, 1.0, 0.1)}, "mass_position"),
        ({"n_masses": 5}, "n_masses"),
        ({"mass_budget": 0.01}, "mass_budget"),
        ({"mass_budget": -1.0}, "mass_budget"),
        ({"force": 0.0}, "force"),
        ({"force_position": (0.31, 1.2)}, "force_position"),
        ({"plate_loss": 0.0}, "plate_loss"),
        ({"air_loss": -0.01}, "air_loss"),
        ({"band": (400.0, 20.0)}, "band"),
        ({"points_per_bandwidth": 1.0}, "points_per_bandwidth"),
        ({"target_frequency": 0.0}, "target_frequency"),
        ({"objective": "loud"}, "objective"),
        ({"n_plate": 0}, "n_plate"),
        ({"start": "corner"}, "start"),
        ({"tune_away": "yes"}, "tune_away"),
    ],
)
def test_invalid_configuration_raises_value_error_naming_the_key(overrides, named):
    with pytest.raises(ValueError, match=named):
        PlateCavityEnv(**overrides)


def test_budget_error_gives_the_lightest_mass_and_unknown_keys_list_the_valid_ones():
    lightest = 1200 * 0.5e-3 * 0.3 * 0.3
    with pytest.raises(ValueError, match=f"{lightest:g} kg.*mass_budget=0.01"):
        PlateCavityEnv(mass_budget=0.01)
    with pytest.raises(ValueError, match="valid keys are: .*target_frequency"):
        PlateCavityEnv(config={"colour": "red"})
    with pytest.raises(ValueError, match="num_envs"):
        PlateCavityVectorEnv(num_envs=0)


@settings(max_examples=8, deadline=None)
@given(actions=st.lists(st.integers(0, 21), min_size=1, max_size=12), seed=st.integers(0, 2**16))
def test_random_action_sequences_never_exceed_the_mass_budget(actions, seed):
    env = tight_env()
    budget = env.core.grid.budget
    obs, info = env.reset(seed=seed)
    assert info["total_mass"] <= budget * (1 + 1e-12)
    for action in actions:
        before = info["design"]
        obs, reward, terminated, truncated, info = env.step(action)
        assert info["total_mass"] <= budget * (1 + 1e-12) and env.core.grid.valid(env._index[None])[0]
        assert env.observation_space.contains(obs) and np.isfinite(obs).all() and math.isfinite(reward)
        assert math.isfinite(info["objective"]) and not terminated and not truncated
        if info["invalid_move"]:
            assert info["design"] == before and reward == 0.0


def test_moves_over_the_budget_are_invalid_and_keep_the_design():
    env = PlateCavityEnv(TIGHT, start="center")  # the centre (aluminium, 3.54 kg) is repaired to polymer
    _, start = env.reset(seed=0)
    assert start["design"]["material"] == "polymer" and start["total_mass"] <= 3.0
    _, reward, _, _, info = env.step(1)  # material up: the same plate in aluminium would weigh 3.54 kg
    assert info["invalid_move"] and reward == 0.0 and info["design"] == start["design"]
    design = info["design"]
    heavier = 2700 * design["thickness"] * design["lx"] * design["ly"] + 0.4
    assert info["total_mass"] <= 3.0 < heavier


def test_quiet_designs_are_resolved_by_the_mode_set_and_tune_designs_need_not_be():
    quiet, tune = PlateCavityEnv(SMALL).core.grid, PlateCavityEnv(SMALL, objective="tune").core.grid
    assert tune.resolved.all() and not quiet.resolved[0, 0, -1, -1]  # 0.5 mm polymer, 1 × 1 m
    assert quiet.resolved[1, 9, 7, 7]  # 2.75 mm aluminium, 0.65 × 0.65 m
    # the thinnest valid plate at the largest lx sits on the boundary: 4 modes per axis still give J to 0.1 dB
    plates = quiet._structures[quiet._structures[:, 2] == quiet._structures[:, 2].max()]
    index = quiet.center()
    index[:4] = plates[np.argmin(plates[:, 1])]
    assert quiet.valid(index[None])[0] and not quiet.valid((index - [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])[None])[0]
    freqs = PlateCavityConfig(**SMALL).band_frequencies
    levels = [acoustic.band_level(acoustic.responses(quiet.batch(index[None]), freqs, n, n))[0] for n in (4, 8)]
    assert abs(levels[0] - levels[1]) < 0.1


def test_repair_projects_any_box_index_onto_the_budget_and_keeps_valid_ones():
    grid = tight_env().core.grid
    rng = np.random.default_rng(0)
    box = rng.integers(grid.low - 3, grid.high + 3, size=(400, grid.dim), endpoint=True)
    repaired = grid.repair(box)
    assert grid.valid(repaired).all()
    assert np.all((repaired >= grid.low) & (repaired <= grid.high))
    valid = grid.sample_many(rng, 50)
    np.testing.assert_array_equal(grid.repair(valid), valid)
    assert grid.valid(grid.center()[None])[0]


def test_quiet_objective_equals_the_numpy_reference_and_reward_is_its_change():
    env = PlateCavityEnv(SMALL, reward_scale=2.0)
    _, before = env.reset(seed=3)
    _, reward, _, _, info = env.step(5)
    level = direct_band_level(info["design"], env.config)
    assert info["lp_band"] == pytest.approx(level, rel=1e-9)
    assert info["objective"] == -info["lp_band"]
    assert reward == pytest.approx(2.0 * (info["objective"] - before["objective"]), rel=1e-9)


@pytest.mark.parametrize("away", [False, True])
def test_tune_objective_uses_the_first_coupled_mode_of_the_model(away):
    env = PlateCavityEnv(SMALL, objective="tune", target_frequency=40.0, tune_away=away)
    _, info = env.reset(seed=1)
    cavity, _, masses = cavity_from_design(info["design"])
    f1 = acoustic.coupled_modes(cavity, 1, n_plate=4, n_transverse=4, masses=masses)[0]
    assert info["f1"] == pytest.approx(f1, rel=1e-6)
    distance = abs(info["f1"] - 40.0) / 40.0
    assert info["objective"] == pytest.approx(distance if away else -distance, rel=1e-12)
    assert "lp_band" not in info


def test_info_is_fresh_and_the_design_rebuilds_the_model_inputs():
    env = PlateCavityEnv(SMALL, start="center")
    _, first = env.reset(seed=0)
    first["design"]["lx"] = -1.0
    _, _, _, _, info = env.step(np.array([3]))
    assert info is not first and info["design"]["lx"] > 0 and info["design"] == env.design
    cavity, force, masses = cavity_from_design(info["design"])
    assert cavity.size == (info["design"]["lx"], info["design"]["ly"], info["design"]["lz"])
    assert force.position == pytest.approx((0.31 * cavity.lx, 0.43 * cavity.ly))
    assert len(masses) == 2 and info["total_mass"] == pytest.approx(cavity.plate_mass + sum(m.mass for m in masses))
    assert list(design_parameters(2)) == ["material", "thickness", "lx", "ly", "lz"] + [
        "mass_1_x",
        "mass_1_y",
        "mass_1",
        "mass_2_x",
        "mass_2_y",
        "mass_2",
    ]


def test_continuous_actions_move_by_rounded_grid_steps():
    env = PlateCavityContinuousEnv(SMALL, start="center", max_steps_per_action=2)
    _, start = env.reset(seed=0)
    action = np.zeros(11, dtype=np.float32)
    action[[2, 4]] = [1.0, -0.3]  # lx +2 steps, lz −1 step
    _, _, _, _, info = env.step(action)
    assert not info["invalid_move"]
    assert info["design"]["lx"] == pytest.approx(start["design"]["lx"] + 0.1)
    assert info["design"]["lz"] == pytest.approx(start["design"]["lz"] - 0.05)
    assert info["design"]["material"] == start["design"]["material"]


def test_best_design_tracks_the_highest_objective_and_ansi_render_describes_it():
    env = gym.make(DISCRETE, config=SMALL, render_mode="ansi")
    _, info = env.reset(seed=7)
    seen = [info["objective"]]
    for action in (1, 3, 5, 7):
        seen.append(env.step(action)[4]["objective"])
    assert env.unwrapped.best_value == max(seen)
    assert -direct_band_level(env.unwrapped.best_design, env.unwrapped.config) == pytest.approx(max(seen), rel=1e-9)
    assert "L_band" in env.render()
