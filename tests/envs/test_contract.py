"""The contract every registered environment honours, run over every ``workbench/*`` id.

Each family enters with a small config and a stand-in model (``standins``): a cheap closed form
honouring the family's model protocol, as a surrogate would. The family test modules keep only
what is specific to their physics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from env_checks import (
    assert_env_checkers_pass,
    assert_made_in_a_fresh_interpreter,
    assert_make_vec_matches_the_single_env,
    assert_vector_env_follows_single_envs,
)
from standins import StandInCavity, StandInSpectra, StandInToy, acoustic_objective, thz_objective, toy_objective

import envs  # noqa: F401  (registers the ids)


@dataclass(frozen=True)
class Family:
    config: dict[str, Any]
    stand_in: type
    objective: Any  # (model, design, config) → the objective value the env must report
    info_key: str  # a per-step info key of the family
    protocol: str  # how the model error names the protocol


# Small and fast: 4×4 modes, 46 frequencies (η = 0.05 over 20–60 Hz), two masses.
SMALL_CAVITY = {"n_plate": 4, "n_transverse": 4, "band": (20.0, 60.0), "plate_loss": 0.05, "air_loss": 0.05}
FAMILIES = {
    "NanogapLoop": Family({}, StandInSpectra, thz_objective, "fe_avg", "analytic.thz.SpectraModel"),
    "PlateCavity": Family(
        SMALL_CAVITY | {"n_masses": 2}, StandInCavity, acoustic_objective, "lp_band", "analytic.acoustic.CavityModel"
    ),
    "Toy": Family({}, StandInToy, toy_objective, "objective", "envs.toy.ToyModel"),
}
IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("workbench/"))
CASES = [(env_id, FAMILIES[env_id.split("/")[1].removesuffix("-v0").removesuffix("Continuous")]) for env_id in IDS]


def test_every_registered_id_has_a_contract_family():
    assert len(CASES) == len(IDS) == 6


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request):
    return request.param


def test_gymnasium_and_sb3_env_checkers_pass_with_the_physics_and_with_a_stand_in(case):
    env_id, family = case
    assert_env_checkers_pass(gym.make(env_id, config=family.config).unwrapped)
    assert_env_checkers_pass(gym.make(env_id, config=family.config, model=family.stand_in()).unwrapped)


def test_make_works_in_a_fresh_interpreter():
    names = [env_id.split("/")[1] for env_id in IDS if "Toy" not in env_id]
    sizes = {"NanogapLoop": (8,), "PlateCavity": (18,)}
    for prefix, shape in sizes.items():
        assert_made_in_a_fresh_interpreter([n for n in names if n.startswith(prefix)], shape)


def test_the_injected_model_scores_every_design_and_sees_whole_batches(case):
    env_id, family = case
    model = family.stand_in()
    vec = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", config=family.config, model=model)
    core = vec.unwrapped.core
    assert core.model is model
    vec.reset(seed=0)
    model.calls.clear()
    evaluations = core.evaluations
    _, _, _, _, infos = vec.step(vec.action_space.sample())
    fresh = core.evaluations - evaluations
    assert model.calls == ([fresh] if fresh else [])  # the designs new to the cache go in ONE call
    for i in range(3):
        design = {k: v[i] for k, v in infos["design"].items() if not k.startswith("_")}
        expected = family.objective(model, design, vec.unwrapped.config)
        assert infos["objective"][i] == pytest.approx(expected, rel=1e-12)


def test_a_model_without_the_protocol_is_rejected_naming_it(case):
    env_id, family = case
    with pytest.raises(ValueError, match=f"model must honour {family.protocol}"):
        gym.make(env_id, config=family.config, model=object())


def test_make_vec_uses_the_vector_entry_point_with_the_single_spaces(case):
    env_id, family = case
    vec, infos = assert_make_vec_matches_the_single_env(
        env_id,
        type(gym.make_vec(env_id, num_envs=1).unwrapped),
        3,
        (family.info_key, "invalid_move"),
        config=family.config,
        model=family.stand_in(),
    )
    index = vec.unwrapped._index
    assert vec.unwrapped.core.grid.valid(index).all()


def test_vector_env_follows_single_envs_including_next_step_autoreset(case):
    env_id, family = case
    vec = gym.make_vec(env_id, num_envs=2, max_episode_steps=2, config=family.config, model=family.stand_in())
    singles = [gym.make(env_id, config=family.config, model=family.stand_in()).unwrapped for _ in range(2)]
    space = vec.single_action_space
    space.seed(1)
    actions = np.array([[space.sample() for _ in range(2)] for _ in range(5)])
    assert_vector_env_follows_single_envs(vec, singles, [5, 6], actions, family.info_key)


def test_same_step_autoreset_returns_the_final_observation_and_info(case):
    env_id, family = case
    vec = gym.make_vec(
        env_id,
        num_envs=2,
        max_episode_steps=1,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        config=family.config,
        model=family.stand_in(),
    )
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    vec.reset(seed=0)
    obs, _, _, truncations, infos = vec.step(vec.action_space.sample())
    assert truncations.all() and infos["_final_obs"].all()
    assert infos["final_info"][family.info_key].shape == (2,)
    assert vec.observation_space.contains(obs)


def test_same_seed_gives_the_same_trajectory(case):
    env_id, family = case

    def rollout(seed: int) -> list:
        env = gym.make(env_id, config=family.config, model=family.stand_in())
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        trajectory = [obs]
        for _ in range(5):
            obs, reward, *_ = env.step(env.action_space.sample())
            trajectory += [obs, reward]
        return trajectory

    first, second = rollout(3), rollout(3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], rollout(4)[0])


def test_config_mapping_and_overrides_merge_with_overrides_winning(case):
    env_id, family = case
    env = gym.make(env_id, config=family.config | {"start": "random"}, start="center").unwrapped
    assert env.config.start == "center"
    assert type(env)(env.config).config == env.config
    with pytest.raises(ValueError, match="valid keys are"):
        gym.make(env_id, config={"colour": "red"})


@pytest.mark.parametrize(("env_id", "family"), [c for c in CASES if "Continuous" not in c[0]], ids=str)
@pytest.mark.parametrize("cache_size", [65536, 1])
def test_cache_counts_hits_and_a_reverted_move_costs_no_evaluation(env_id, family, cache_size):
    env = gym.make(env_id, config=family.config, start="center", cache_size=cache_size, model=family.stand_in())
    env = env.unwrapped
    env.reset(seed=2)
    for action in range(env.action_space.n):  # the first move that is valid, then its reverse
        _, up, _, _, info = env.step(action)
        if not info["invalid_move"]:
            break
    evaluations, hits = env.evaluations, env.cache_hits
    _, down, _, _, info = env.step(action ^ 1)
    assert not info["invalid_move"] and up == pytest.approx(-down)
    if cache_size == 1:  # the start design was evicted: the reverse is evaluated again
        assert (env.evaluations, env.cache_hits) == (evaluations + 1, hits)
    else:
        assert (env.evaluations, env.cache_hits) == (evaluations, hits + 1)


def test_core_state_round_trips_and_rejects_a_foreign_index(case):
    env_id, family = case
    env = gym.make(env_id, config=family.config, model=family.stand_in()).unwrapped
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    state = env.core.state()
    other = gym.make(env_id, config=family.config, model=family.stand_in()).unwrapped
    other.core.restore(state)
    assert other.core.state() == state and other.best_design == env.best_design
    with pytest.raises(ValueError, match="best_index"):
        other.core.restore(state | {"best_index": [-1] * len(state["best_index"])})


@pytest.mark.parametrize("env_id", [env_id for env_id, _ in CASES if "Continuous" not in env_id])
def test_move_steps_add_coarse_moves_after_the_single_steps(env_id):
    family = dict(CASES)[env_id]
    env = gym.make(env_id, config=family.config | {"start": "center", "move_steps": (1, 3)}, model=family.stand_in())
    core = env.unwrapped.core
    d = core.grid.dim
    assert env.action_space == gym.spaces.Discrete(4 * d)
    actions = np.arange(4 * d)
    expected = np.zeros((4 * d, d), dtype=np.int64)
    expected[actions, (actions % (2 * d)) // 2] = np.where(actions % 2 == 1, 1, -1) * np.where(actions < 2 * d, 1, 3)
    np.testing.assert_array_equal(core.deltas(actions, 4 * d), expected)
    env.reset(seed=0)
    before = env.unwrapped._index.copy()
    for action in range(2 * d, 4 * d):  # the first coarse move that stays valid lands 3 steps away
        info = env.step(action)[4]
        if not info["invalid_move"]:
            np.testing.assert_array_equal(env.unwrapped._index - before, expected[action])
            break
    else:
        pytest.fail("no coarse move from the centre is valid")
    with pytest.raises(ValueError, match=f"action must lie in \\[0, {4 * d}\\)"):
        env.step(4 * d)
