"""End-to-end THz search: run folder contents, reproducibility, agents, resume, CLI JSON and bad input."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from analytic import thz
from workbench.search import SearchConfig, resume, search

SMALL = dict(steps=800, num_envs=8, log_every=200, progress=False)
DDQN_SMALL = dict(SMALL, agent_options={"batch_size": 32})


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", *args]


def _rows(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_search_writes_the_run_folder_and_is_reproducible(tmp_path):
    first = search(SearchConfig(**DDQN_SMALL, seed=3, runs_root=str(tmp_path), name="a"))
    second = search(SearchConfig(**DDQN_SMALL, seed=3, runs_root=str(tmp_path), name="b"))
    for item in ("config.json", "metrics.csv", "best.json", "spectrum.png", "learning_curve.png", "checkpoint.json"):
        assert (first.run_dir / item).stat().st_size > 0
    pointer = json.loads((first.run_dir / "checkpoint.json").read_text())
    assert pointer["iterations"] == first.iterations
    assert (first.run_dir / pointer["path"] / "model.zip").is_file()
    assert list(first.run_dir.glob("events.out.tfevents.*"))
    assert (first.run_dir / "metrics.csv").read_text() == (second.run_dir / "metrics.csv").read_text()
    best = json.loads((first.run_dir / "best.json").read_text())
    assert best["design"] == json.loads((second.run_dir / "best.json").read_text())["design"]
    array = thz.LoopArray(**best["design"])
    assert best["fe_avg"] == pytest.approx(thz.spectrum(array, [0.2e12]).fe_avg[0], rel=1e-8)
    assert first.best_value == pytest.approx(best["fe_avg"], rel=1e-8)
    assert first.iterations == 800 and int(_rows(first.run_dir)[-1]["iteration"]) == 800


@pytest.mark.parametrize("agent", ["random", "de", "cmaes", "tpe"])
def test_baselines_spend_exactly_their_budget_and_report_a_verified_design(agent, tmp_path):
    steps = 150 if agent == "tpe" else 600
    result = search(SearchConfig(agent=agent, steps=steps, log_every=50, progress=False, runs_root=str(tmp_path)))
    assert result.iterations == steps
    rows = _rows(result.run_dir)
    assert [int(r["iteration"]) for r in rows] == list(range(50, steps + 1, 50))
    best = [float(r["best_objective"]) for r in rows]
    assert best == sorted(best) and best[-1] == pytest.approx(result.best_value)
    array = thz.LoopArray(**result.best_design)
    assert result.best["fe_avg"] == pytest.approx(thz.spectrum(array, [0.2e12], method="numpy").fe_avg[0], rel=1e-8)
    assert result.best_value == pytest.approx(result.best["fe_avg"], rel=1e-8)


def test_random_search_is_reproducible_and_reports_the_best_design_it_drew(tmp_path):
    settings = dict(kind="toy", agent="random", steps=400, log_every=100, progress=False, runs_root=str(tmp_path))
    first, second = (search(SearchConfig(**settings, name=name)) for name in ("a", "b"))
    assert first.best_design == second.best_design
    assert (first.run_dir / "metrics.csv").read_text() == (second.run_dir / "metrics.csv").read_text()
    core = gym.make("workbench/Toy-v0").unwrapped.core  # the same draws: one batch from default_rng(seed)
    drawn = core.grid.sample_many(np.random.default_rng(0), 400)
    values = core.model.values(core.grid.normalise(drawn))
    assert first.best_value == pytest.approx(values.max(), rel=1e-12)
    assert first.best["value"] == pytest.approx(values.max(), rel=1e-12)
    best = [float(r["best_objective"]) for r in _rows(first.run_dir)]
    assert best == [values[:n].max() for n in (100, 200, 300, 400)]


def test_sb3_algorithm_by_name_runs_within_the_budget(tmp_path):
    result = search(
        SearchConfig(kind="toy", agent="sb3:PPO", agent_options={"n_steps": 32}, **SMALL, runs_root=str(tmp_path))
    )
    assert result.iterations == 800  # 100 vector steps of 8: the budget, exactly
    assert result.best["value"] == pytest.approx(result.best_value, rel=1e-12)


def test_killed_search_resumes_from_its_checkpoint_without_losing_metrics(tmp_path, kill_at_checkpoint):
    run_dir = tmp_path / "run"
    args = ["search", "toy", "--steps", "6000", "--num-envs", "8", "--log-every", "250", "--checkpoint-every", "1000"]
    command = _cli(*args, "--runs-root", str(tmp_path), "--name", "run")
    checkpoint = kill_at_checkpoint(command, run_dir, "iterations", 2000)
    assert checkpoint < 6000 and not (run_dir / "best.json").exists()
    before = [r for r in _rows(run_dir) if int(r["iteration"]) <= checkpoint]

    out = subprocess.run(_cli("search", "toy", "--resume", str(run_dir), "--json"), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["iterations"] >= 6000 and payload["run_dir"] == str(run_dir)
    rows = _rows(run_dir)
    iterations = [int(r["iteration"]) for r in rows]
    assert rows[: len(before)] == before  # nothing logged before the checkpoint is lost or rewritten
    assert iterations == sorted(set(iterations)) and iterations[-1] >= 6000
    assert float(rows[-1]["best_objective"]) >= float(before[-1]["best_objective"])
    assert json.loads((run_dir / "best.json").read_text())["value"] == pytest.approx(payload["best"]["value"])


def _snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _unfinished_run(tmp_path):
    result = search(SearchConfig(**DDQN_SMALL, kind="toy", checkpoint_every=400, runs_root=str(tmp_path), name="r"))
    (result.run_dir / "best.json").unlink()  # as if killed after its last checkpoint
    return result.run_dir


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "checkpoint.json").unlink(), "no checkpoint yet"),
        (lambda d: (d / "checkpoint.json").write_text("{not json"), "corrupted"),
        (lambda d: next(d.glob("checkpoints/*/model.zip")).write_bytes(b"garbage"), "cannot be loaded"),
        (
            lambda d: (d / "config.json").write_text((d / "config.json").read_text().replace('"seed": 0', '"seed": 1')),
            "changed after the checkpoint",
        ),
        (lambda d: (d / "config.json").write_text('{"colour": 1}'), "unknown entries"),
        (lambda d: (d / "best.json").write_text("{}"), "finished search"),
    ],
)
def test_resume_rejects_bad_checkpoints_before_any_work_and_changes_nothing(tmp_path, damage, message):
    run_dir = _unfinished_run(tmp_path)
    damage(run_dir)
    before = _snapshot(run_dir)
    with pytest.raises(ValueError, match=message):
        resume(run_dir)
    assert _snapshot(run_dir) == before


def test_resume_of_a_baseline_run_or_a_missing_folder_is_rejected(tmp_path):
    settings = dict(kind="toy", agent="random", steps=50, log_every=50, progress=False)
    result = search(SearchConfig(**settings, runs_root=str(tmp_path)))
    with pytest.raises(ValueError, match="baseline"):
        resume(result.run_dir)
    with pytest.raises(ValueError, match="config.json"):
        resume(tmp_path / "nowhere")


def test_search_cli_prints_json_with_run_dir_speed_and_best(tmp_path):
    out = subprocess.run(
        _cli("search", "thz", "--steps", "400", "--num-envs", "8", "--runs-root", str(tmp_path), "--json"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["iterations_per_s"] > 0 and payload["best"]["fe_avg"] > 0
    assert set(payload["best"]["design"]) >= {"gap", "thickness", "side_x", "side_y", "period_x", "period_y"}


def test_search_cli_passes_agent_options_and_rejects_bad_ones(tmp_path):
    ok = subprocess.run(
        _cli(
            "search",
            "thz",
            "--agent",
            "de",
            "--option",
            "popsize=5",
            "--steps",
            "100",
            "--runs-root",
            str(tmp_path),
            "--json",
        ),
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["agent"] == "de"
    bad = subprocess.run(
        _cli("search", "thz", "--agent", "de", "--option", "colour=red", "--runs-root", str(tmp_path / "x")),
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "colour" in bad.stderr and not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(kind="optics"), "kind must be one of"),
        (dict(agent="ppo"), "agent must be one of"),
        (dict(agent="random", agent_options={"popsize": 3}), "agent_options"),
        (dict(agent="sb3:PPO", agent_options={"learning_rat": 3}), "learning_rat"),
        (dict(agent="ddqn", agent_options={"gamma": 1.5}), "gamma must be a finite number in \\[0, 1\\)"),
        (dict(agent="ddqn", agent_options={"learning_starts": 5}), "learning_starts"),
        (dict(objective="loudness"), "objective"),
        (dict(target_frequency=10e12), "target_frequency"),
        (dict(steps=0), "steps must be"),
        (dict(checkpoint_every=0), "checkpoint_every must be"),
        (dict(episode_steps=0), "episode_steps must be"),
        (dict(agent="sb3:PPO", steps=5000), "n_steps·num_envs = 2048·16"),
        (dict(num_envs=64, steps=32), "num_envs must be <= steps"),
        (dict(seed=-1), "seed must be an integer in"),
        (dict(agent="de", agent_options={"popsize": -5}), "popsize of agent 'de' must be an integer in"),
        (dict(agent="cmaes", agent_options={"sigma0": -1.0}), "sigma0"),
        (dict(agent="ddqn", agent_options={"learning_rate": -1e-3}), "learning_rate must be a finite number in"),
        (dict(agent="ddqn", agent_options={"buffer_size": -1}), "buffer_size must be an integer >= 1"),
        (dict(agent="ddqn", agent_options={"gamma": float("nan")}), "gamma"),
        (dict(agent="ddqn", agent_options={"replay_ratio": -1.0}), "replay_ratio must be a finite number in \\(0, 64\\]"),
        (dict(agent="ddqn", agent_options={"replay_ratio": 65}), "replay_ratio must be a finite number in"),
        (dict(agent="ddqn", agent_options={"n_steps": 0}), "n_steps must be an integer >= 1"),
        (dict(agent="ddqn", agent_options={"exploration_fraction": 0.0}), "exploration_fraction must be .* \\(0, 1\\]"),
        (dict(agent="ddqn", agent_options={"exploration_fraction": 1.5}), "exploration_fraction"),
        (dict(agent="ddqn", agent_options={"hidden_sizes": [0]}), "hidden_sizes must be 0 to 4 integers"),
        (dict(agent="ddqn", agent_options={"dueling": "yes"}), "dueling must be a bool"),
        (dict(agent="ddqn", agent_options={"gradient_steps": 4}), "gradient_steps"),
        (dict(env={"move_steps": [4, 1]}), "move_steps must be 1 to 8 increasing integers"),
        (dict(env={"colour": 1}), "colour"),
    ],
)
def test_bad_search_settings_are_rejected_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SearchConfig(runs_root=str(tmp_path), **kwargs)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("agent", ["ddqn", "sb3:PPO", "random"])
def test_every_agent_spends_exactly_its_budget_and_tensorboard_has_every_metrics_row(agent, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    options = {"n_steps": 16} if agent == "sb3:PPO" else {}
    cfg = SearchConfig(
        kind="toy", agent=agent, agent_options=options, steps=1000, num_envs=16, log_every=250, progress=False
    )
    result = search(dataclasses.replace(cfg, runs_root=str(tmp_path)))
    assert result.iterations == 1000  # 62 vector steps of 16, then one trimmed to 8
    rows = [int(r["iteration"]) for r in _rows(result.run_dir)]
    assert rows[-1] == 1000 and len(rows) == 4  # RL rows fall on the first vector step at or past a multiple
    assert all(0 <= row - 250 * (k + 1) < 16 for k, row in enumerate(rows))
    events = EventAccumulator(str(result.run_dir)).Reload()
    assert [e.step for e in events.Scalars("charts/best_objective")] == rows


def test_default_run_folders_of_searches_started_together_differ_and_a_taken_name_is_refused(tmp_path):
    cfg = SearchConfig(kind="toy", agent="random", steps=20, log_every=20, progress=False, runs_root=str(tmp_path))
    folders = {search(cfg).run_dir for _ in range(3)}  # within a second or two: same time stamp
    assert len(folders) == 3
    taken = dataclasses.replace(cfg, name=next(iter(folders)).name)
    with pytest.raises(ValueError, match="exists; choose another name"):
        search(taken)


@pytest.mark.parametrize(
    "args",
    [["thz"], ["toy", "--steps", "5000"], ["toy", "--agent", "random"], ["toy", "--option", "gamma=0.5"]],
    ids=["family", "steps", "agent", "option"],
)
def test_cli_resume_refuses_options_that_conflict_with_the_saved_config(tmp_path, args):
    run_dir = _unfinished_run(tmp_path)
    before = _snapshot(run_dir)
    out = subprocess.run(_cli("search", *args, "--resume", str(run_dir)), capture_output=True, text=True)
    assert out.returncode == 2 and "conflicts with" in out.stderr and "--resume" in out.stderr
    assert _snapshot(run_dir) == before


def test_resume_rejects_a_pointer_that_disagrees_with_its_state(tmp_path):
    run_dir = _unfinished_run(tmp_path)
    pointer = json.loads((run_dir / "checkpoint.json").read_text())
    (run_dir / "checkpoint.json").write_text(json.dumps(pointer | {"iterations": pointer["iterations"] - 8}))
    with pytest.raises(ValueError, match="inconsistent"):
        resume(run_dir)


def test_search_cli_table_prints_lengths_and_frequencies_in_the_units_people_read(tmp_path):
    args = ["search", "thz", "--agent", "random", "--steps", "64", "--log-every", "64", "--runs-root", str(tmp_path)]
    out = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.stdout.splitlines() if "│" in line}
    assert rows["design.gap"].endswith(" nm") and rows["design.side_x"].endswith(" µm")
    assert rows["resonance_hz"].endswith(" THz") and rows["target_frequency_hz"] == "0.2 THz"


def test_rl_episodes_last_episode_steps(tmp_path):
    from workbench.search._runner import make_venv

    cfg = SearchConfig(kind="toy", episode_steps=7, steps=64, num_envs=4, runs_root=str(tmp_path))
    venv = make_venv(cfg, cfg.num_envs)
    venv.reset(seed=0)
    truncated = [venv.step(venv.action_space.sample())[3].all() for _ in range(7)]
    assert truncated == [False] * 6 + [True]


def test_search_cli_errors_name_the_options_as_typed(tmp_path):
    out = subprocess.run(
        _cli("search", "toy", "--num-envs", "0", "--runs-root", str(tmp_path / "x")), capture_output=True, text=True
    )
    assert (
        out.returncode == 2
        and "--num-envs must be an integer in [1, 4096]" in out.stderr
        and "got --num-envs=0" in out.stderr
    )
    out = subprocess.run(
        _cli("search", "toy", "--option", "gamma=2", "--runs-root", str(tmp_path / "x")), capture_output=True, text=True
    )
    assert out.returncode == 2 and "--option gamma must be a finite number in [0, 1)" in out.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [([99, 99, 20], (1, 4, 16)), ([21, 3], (1, 4)), ([16], (1,)), ([2], (1,)), ([100_000], (1, 4, 16, 64, 256, 1024, 4096))],
)
def test_search_move_steps_are_powers_of_four_below_a_quarter_of_the_longest_axis(sizes, expected):
    from workbench.search.config import search_move_steps

    assert search_move_steps(sizes) == expected


def test_budget_scaled_settings_are_resolved_at_construction_and_recorded():
    from workbench.agents import budget_replay_ratio

    cfg = SearchConfig(steps=5000, num_envs=16)
    assert cfg.episode_steps == 313  # one episode per sub-environment: ceil(5000 / 16)
    assert cfg.env["move_steps"] == [1, 4, 16]
    assert SearchConfig(kind="acoustic", steps=2000).env["move_steps"] == [1, 4]
    assert "move_steps" not in SearchConfig(agent="cmaes").env  # baselines do not walk the grid
    assert "move_steps" not in SearchConfig(agent="sb3:SAC").env  # nor do continuous-action agents
    assert SearchConfig(env={"move_steps": [1]}).env["move_steps"] == [1]  # an explicit choice stays
    assert SearchConfig(steps=10_000_000, num_envs=16).episode_steps == 100_000  # the cap
    assert SearchConfig.from_json(json.dumps(dataclasses.asdict(cfg)), "config.json") == cfg
    assert [budget_replay_ratio(n) for n in (2000, 4000, 8000, 64_000, 200_000)] == [1.0, 1.0, 0.5, 1 / 16, 1 / 16]
