"""Surrogate-assisted search: the physics budget is spent exactly, best.json holds a physics-verified design."""

from __future__ import annotations

import csv
import json
import sys

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from workbench.cli import app
from workbench.search import SearchConfig, resume
from workbench.surrogates import ActiveConfig, resume_surrogate_search, save, surrogate_search, train_thz
from workbench.surrogates._active import _Agent, _distinct_best, _neighbourhood, _Recorder
from workbench.surrogates._datasets import make_dataset

# Small and fast: 4×4 modes, 46 frequencies (η = 0.05 over 20–60 Hz), two masses.
SMALL_CAVITY = {
    "n_plate": 4,
    "n_transverse": 4,
    "band": (20.0, 60.0),
    "plate_loss": 0.05,
    "air_loss": 0.05,
    "n_masses": 2,
}
TINY = {"verify": 8, "local": 4, "round_steps": 64, "epochs": 3, "refit_epochs": 1, "width": 16, "depth": 1}


def _search(tmp_path, kind: str, agent: str, env: dict, budget: int, **options) -> ActiveConfig:
    cfg = SearchConfig(kind=kind, agent=agent, steps=64, num_envs=8, env=env, runs_root=str(tmp_path), progress=False)
    return ActiveConfig(cfg, physics_budget=budget, **(TINY | options))


@pytest.mark.parametrize(("kind", "agent", "env"), [("acoustic", "random", SMALL_CAVITY), ("thz", "ddqn", {})])
def test_search_spends_the_physics_budget_exactly_and_keeps_a_verified_best(tmp_path, kind, agent, env):
    cfg = _search(tmp_path, kind, agent, env, budget=40, initial=20)
    result = surrogate_search(cfg)
    assert result.physics_evaluations == 40 and result.rounds == 2
    rows = list(csv.DictReader(open(result.run_dir / "metrics.csv")))
    assert [int(r["physics_evaluations"]) for r in rows] == [32, 40]
    assert [int(r["verified"]) for r in rows] == [8, 8]
    assert [int(r["local_verified"]) for r in rows] == [4, 0]
    assert int(rows[-1]["surrogate_evaluations"]) == result.surrogate_evaluations > 0
    for row in rows:
        assert np.isfinite(float(row["gap_mean_abs"])) and float(row["gap_mean_abs"]) >= 0
    best = json.loads((result.run_dir / "best.json").read_text())
    assert best["verified"] == "physics" and best["physics_evaluations"] == 40
    physics = gym.make(cfg.search.env_id, config=cfg.search.env_config()).unwrapped.core
    grid = physics.grid
    index = np.array([[int(np.argmin(np.abs(grid.values[p] - v))) for p, v in enumerate(_columns(kind, grid, best))]])
    # 1e-7: a re-evaluation in another batch may round differently in Numba's vectorised loops
    assert physics.evaluate(index)[0].objective == pytest.approx(best["objective"], rel=1e-7)
    assert float(rows[-1]["best_verified_objective"]) == pytest.approx(best["objective"], rel=1e-12)


def _columns(kind, grid, best):
    design = best["design"]
    if kind == "thz":
        from envs.nanogap import DESIGN_PARAMETERS

        return [design[name] for name in DESIGN_PARAMETERS]
    masses = [
        v
        for p in range(1, 3)
        for v in (design[f"mass_{p}_x"] / design["lx"], design[f"mass_{p}_y"] / design["ly"], design[f"mass_{p}"])
    ]
    return [design["density"], design["thickness"], design["lx"], design["ly"], design["lz"], *masses]


def test_a_budget_not_above_the_first_training_set_is_refused_before_any_folder(tmp_path):
    with pytest.raises(ValueError, match=r"physics_budget must exceed the first training set \(20 designs"):
        _search(tmp_path / "runs", "thz", "random", {}, budget=20, initial=20)
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ValueError, match="initial must be an integer >= 16; got initial=4"):
        _search(tmp_path, "thz", "random", {}, budget=20, initial=4)
    with pytest.raises(ValueError, match="verify must be an integer >= 1; got verify=0"):
        _search(tmp_path, "thz", "random", {}, budget=40, verify=0)
    with pytest.raises(ValueError, match="local must be an integer >= 0; got local=-1"):
        _search(tmp_path, "thz", "random", {}, budget=40, local=-1)
    with pytest.raises(ValueError, match="separation must be an integer >= 1; got separation=0"):
        _search(tmp_path, "thz", "random", {}, budget=40, separation=0)
    with pytest.raises(ValueError, match="kappa must be a finite number >= 0; got kappa=nan"):
        _search(tmp_path, "thz", "random", {}, budget=40, kappa=float("nan"))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=30, unique=True),
    st.integers(1, 8),
    st.integers(1, 4),
)
def test_distinct_best_keeps_the_separation_when_it_can_and_fills_up_to_k(rows, k, separation):
    index = np.array(rows, dtype=np.int64)
    score = -np.arange(len(index), dtype=float)  # row order is score order
    chosen = _distinct_best(index, score, k, separation)
    assert len(chosen) == min(k, len(index)) and len(set(chosen.tolist())) == len(chosen)
    assert chosen[0] == 0  # the best design is always verified
    apart = [  # chosen rows at least `separation` from every row chosen before them
        p for i, p in enumerate(chosen) if all(np.abs(index[p] - index[q]).sum() >= separation for q in chosen[:i])
    ]
    greedy = []  # the greedy pass, written out: every row far enough from the rows kept before it
    for p in range(len(index)):
        if all(np.abs(index[p] - index[q]).sum() >= separation for q in greedy):
            greedy.append(p)
    assert chosen[: min(k, len(greedy))].tolist() == greedy[:k] and len(apart) >= min(k, len(greedy))


def test_neighbourhood_holds_the_valid_designs_within_the_radius_and_not_the_centre():
    core = gym.make(SearchConfig(kind="thz").env_id).unwrapped.core
    grid = core.grid
    centre = grid.center()
    rng = np.random.default_rng(0)
    near = _neighbourhood(grid, centre, 1, rng)  # 3^6 − 1 = 728 offsets: enumerated
    assert np.all(grid.valid(near)) and np.all(np.abs(near - centre).max(axis=1) == 1)
    assert len(near) == int(grid.valid(centre + _offsets(grid.dim)).sum())
    sampled = _neighbourhood(grid, centre, 3, rng)  # 7^6 points: 4,096 drawn
    assert 0 < len(sampled) <= 4096 and np.abs(sampled - centre).max() <= 3
    assert len(np.unique(sampled, axis=0)) == len(sampled) and not np.any(np.all(sampled == centre, axis=1))


def _offsets(d):
    grids = np.stack(np.meshgrid(*[np.arange(-1, 2)] * d, indexing="ij"), axis=-1).reshape(-1, d)
    return grids[np.any(grids != 0, axis=1)]


def test_a_learning_agent_is_kept_across_rounds_on_a_fresh_env_each_round(tmp_path):
    cfg = _search(tmp_path, "thz", "ddqn", {}, budget=40, initial=20)
    surrogate = train_thz(make_dataset("thz", 24, seed=2), head="physics", width=8, depth=1, epochs=1)
    agent = _Agent(cfg)
    assert agent.total == 64 * 2  # two planned rounds of 8 + 4 verified designs
    first = agent.run(_Recorder(surrogate), 1)
    model = agent.model
    second = agent.run(_Recorder(surrogate), 2)
    assert agent.model is model and model.num_timesteps == 128
    assert first > 0 and second > 0  # a fresh env: designs seen in round 1 are asked of the surrogate again
    agent.run(_Recorder(surrogate), 3)  # more rounds than planned stretch the schedule
    assert model.num_timesteps == 192 and agent.total == 192


def test_a_checkpoint_counts_its_training_designs_against_the_budget(tmp_path):
    data = make_dataset("thz", 24, seed=2, points=16)
    path = save(train_thz(data, head="physics", width=8, depth=1, epochs=1), tmp_path / "thz.pt")
    with pytest.raises(ValueError, match=rf"first training set \(24 designs, training designs of {path}\)"):
        _search(tmp_path, "thz", "random", {}, budget=24, model=str(path))
    result = surrogate_search(_search(tmp_path, "thz", "random", {}, budget=40, model=str(path)))
    assert result.physics_evaluations == 40 and json.loads((result.run_dir / "best.json").read_text())["rounds"] == 2


def test_cli_search_with_a_surrogate_reports_physics_and_surrogate_evaluations(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "search",
            "thz",
            "--model",
            "surrogate",
            "--physics-budget",
            "40",
            "--agent",
            "random",
            "--steps",
            "64",
            "--round-steps",
            "64",
            "--runs-root",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["physics_evaluations"] == 40 and payload["surrogate_evaluations"] > 0
    assert payload["best"]["verified"] == "physics"
    missing = CliRunner().invoke(app, ["search", "thz", "--model", "surrogate", "--runs-root", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "needs --physics-budget" in missing.output and not (tmp_path / "x").exists()


def test_cli_search_passes_every_active_setting_to_the_run(tmp_path):
    settings = {"initial": 20, "verify": 6, "local": 2, "kappa": 0.5, "separation": 1, "radius": 2, "round_steps": 32}
    flags = [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]
    result = CliRunner().invoke(
        app,
        ["search", "thz", "--model", "surrogate", "--physics-budget", "30", "--agent", "random", "--steps", "64"]
        + flags
        + ["--runs-root", str(tmp_path), "--name", "run", "--json"],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert {key: saved[key] for key in settings} == settings and saved["physics_budget"] == 30
    assert json.loads(result.stdout)["physics_evaluations"] == 30


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--radius", "0"], "--radius must be an integer >= 1; got --radius=0"),
        (["--verify", "0"], "--verify must be an integer >= 1; got --verify=0"),
        (["--local", "-1"], "--local must be an integer >= 0; got --local=-1"),
        (["--separation", "0"], "--separation must be an integer >= 1; got --separation=0"),
        (["--round-steps", "0"], "--round-steps must be an integer >= 1; got --round-steps=0"),
        (["--kappa", "-0.5"], "--kappa must be a finite number >= 0; got --kappa=-0.5"),
        (["--kappa", "inf"], "--kappa must be a finite number >= 0; got --kappa=inf"),
        (["--initial", "8"], "--initial must be an integer >= 16; got --initial=8"),
        (
            ["--initial", "40"],
            "--physics-budget must exceed the first training set (40 designs, initial); got --physics-budget=40",
        ),
    ],
)
def test_cli_rejects_bad_active_settings_by_option_before_any_folder(tmp_path, flags, message):
    root = tmp_path / "runs"
    args = ["search", "thz", "--model", "surrogate", "--physics-budget", "40", "--agent", "random", "--steps", "64"]
    result = CliRunner().invoke(app, [*args, *flags, "--runs-root", str(root)])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert not root.exists()


def test_cli_refuses_surrogate_settings_without_a_surrogate(tmp_path):
    result = CliRunner().invoke(
        app, ["search", "thz", "--kappa", "2", "--verify", "5", "--runs-root", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "--verify, --kappa set a surrogate-assisted search" in result.output
    assert not (tmp_path / "r").exists()


def test_round_settings_left_out_take_the_family_defaults_and_given_ones_stay(tmp_path):
    from workbench.surrogates._active import ROUND_DEFAULTS

    for kind in ("thz", "acoustic"):
        cfg = ActiveConfig(SearchConfig(kind=kind, runs_root=str(tmp_path)), 2000)
        assert {name: getattr(cfg, name) for name in ROUND_DEFAULTS[kind]} == ROUND_DEFAULTS[kind]
    given = ActiveConfig(SearchConfig(runs_root=str(tmp_path)), 2000, verify=7, local=0, round_steps=64)
    assert (given.verify, given.local, given.round_steps) == (7, 0, 64)


def _rows_but_timing(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "refit_s"} for row in csv.DictReader(handle)]


def test_killed_surrogate_search_resumes_and_ends_as_the_uninterrupted_run(tmp_path, kill_at_checkpoint):
    settings = {"initial": 20, "verify": 6, "local": 2, "round_steps": 128}  # 20 + 6 rounds of 8: 68 designs
    flags = [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]
    args = ["search", "thz", "--model", "surrogate", "--physics-budget", "68", "--num-envs", "8", "--steps", "128"]
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "workbench.cli", *args, *flags, "--runs-root", str(tmp_path), "--name", "run"]
    # kill -9 once round 2 is committed: round 3 is under way or about to be
    committed = kill_at_checkpoint(command, run_dir, "round", 2)
    assert committed < 6 and not (run_dir / "best.json").exists()
    before = _rows_but_timing(run_dir)[:committed]

    resumed = CliRunner().invoke(app, ["search", "thz", "--resume", str(run_dir), "--json"])
    assert resumed.exit_code == 0, resumed.output
    payload = json.loads(resumed.stdout)
    assert payload["run_dir"] == str(run_dir) and payload["physics_evaluations"] == 68 and payload["rounds"] == 6
    rows = _rows_but_timing(run_dir)
    assert rows[:committed] == before and [int(r["round"]) for r in rows] == list(range(1, 7))
    assert [int(r["physics_evaluations"]) for r in rows] == list(range(28, 69, 8))  # none lost, none counted twice
    for row in rows:  # every counted evaluation is in the record: training data (verified included) or out of the box
        assert int(row["physics_evaluations"]) == int(row["training_designs"]) + int(row["out_of_bounds"])
    state = json.loads(
        (run_dir / json.loads((run_dir / "checkpoint.json").read_text())["path"] / "state.json").read_text()
    )
    verified = {tuple(k) for k in state["verified"]["index"]}
    assert len(verified) == len(state["verified"]["index"]) == 68 - int(rows[-1]["out_of_bounds"])

    search = SearchConfig(num_envs=8, steps=128, runs_root=str(tmp_path), name="uninterrupted")
    reference = surrogate_search(ActiveConfig(search, 68, **settings))  # the same run, never killed
    assert _rows_but_timing(reference.run_dir) == rows
    assert reference.best["design"] == payload["best"]["design"]
    again = json.loads(
        (
            reference.run_dir / json.loads((reference.run_dir / "checkpoint.json").read_text())["path"] / "state.json"
        ).read_text()
    )
    assert again["verified"] == state["verified"]


def test_resume_of_a_finished_or_changed_surrogate_search_is_refused_and_changes_nothing(tmp_path):
    result = surrogate_search(_search(tmp_path, "thz", "random", {}, budget=32, initial=20))
    with pytest.raises(ValueError, match="finished search"):
        resume_surrogate_search(result.run_dir)
    (result.run_dir / "best.json").unlink()  # as if killed after its last round
    config = result.run_dir / "config.json"
    config.write_text(config.read_text().replace('"kappa": 1.0', '"kappa": 2.0'))
    before = {p: p.read_bytes() for p in result.run_dir.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match="changed after the checkpoint at round=1"):
        resume_surrogate_search(result.run_dir)
    assert {p: p.read_bytes() for p in result.run_dir.rglob("*") if p.is_file()} == before
    cli = CliRunner().invoke(app, ["search", "thz", "--resume", str(result.run_dir), "--verify", "3"])
    assert cli.exit_code == 2 and "--verify 3 conflicts with 8" in cli.output
    with pytest.raises(ValueError, match="surrogate-assisted search: resume it with `workbench search --resume"):
        resume(result.run_dir)  # the plain RL resume points to the surrogate one
