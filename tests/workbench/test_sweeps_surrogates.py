"""Sweeps of surrogate-assisted searches: spec entries, a tiny end-to-end sweep, resume of an interrupted attempt."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from workbench.sweeps import SpecError, SweepStore, load_spec, parse_spec, run_sweep
from workbench.sweeps.report import build_report
from workbench.sweeps.spec import build_config
from workbench.sweeps.worker import TrialTask, run_search

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sweeps" / "surrogate_vs_physics.yaml"
# Small and fast: 4×4 modes, 46 frequencies (η = 0.05 over 20–60 Hz), two masses.
SMALL_CAVITY = {
    "n_plate": 4,
    "n_transverse": 4,
    "band": [20.0, 60.0],
    "plate_loss": 0.05,
    "air_loss": 0.05,
    "n_masses": 2,
}
TINY_ROUNDS = {"verify": 8, "local": 4, "round_steps": 64, "epochs": 3, "refit_epochs": 1, "width": 16, "depth": 1}


def tiny_example(tmp_path: Path) -> dict:
    """The shipped example at a physics budget of 40 designs (20 to train, 2 rounds of 8 + 4), one seed."""
    data = yaml.safe_load(EXAMPLE.read_text())
    physics, surrogate = data["agents"]
    return data | {
        "budgets": [40],
        "seeds": 1,
        "settings": {"log_every": 8, "num_envs": 8},
        "env_config": SMALL_CAVITY,
        "runs_root": str(tmp_path / "runs"),
        "agents": [physics, surrogate | {"initial": 20} | TINY_ROUNDS],
    }


def test_the_example_compares_physics_and_surrogate_ddqn_at_equal_physics_budgets():
    spec = load_spec(EXAMPLE)
    physics, surrogate = spec.agents
    assert (physics.agent, surrogate.agent) == ("ddqn", "ddqn") and not physics.surrogate
    assert surrogate.surrogate == {"model": "surrogate", "initial": 500}
    trials = {t.method: t for t in spec.trials() if t.seed == 0}
    assert trials["ddqn-physics"].budget == trials["ddqn-surrogate"].budget == 1000
    config = build_config(trials["ddqn-surrogate"].config, "runs", "attempt-1")
    assert (config.physics_budget, config.initial, config.verify, config.local) == (1000, 500, 50, 10)
    assert config.search.steps == config.round_steps == 4000  # the agent is set up for one round
    assert "surrogate" not in spec.content()["agents"][0]  # physics-only entries hash as before
    default_label = parse_spec(
        yaml.safe_load(EXAMPLE.read_text()) | {"agents": [{"agent": "de", "model": "surrogate"}]}
    )
    assert default_label.agents[0].label == "de-surrogate"


@pytest.mark.parametrize(
    ("entry", "needles"),
    [
        ({"physics_budget": 50}, ["agents[1] sets 'physics_budget'", "from budgets", "physics_budget=50"]),
        ({"kappa": "much"}, ["agents[1].kappa must be", "a number", "kappa='much'"]),
        ({"kappa": -1}, ["kappa must be a finite number >= 0; got kappa=-1.0", "in trial ddqn-surrogate|"]),
        ({"initial": 2000}, ["physics_budget must exceed the first training set (2000 designs"]),
        ({"round_steps": 0}, ["round_steps must be an integer >= 1; got round_steps=0"]),
        ({"colour": 1}, ["unknown setting agents[1].colour=1"]),
    ],
)
def test_malformed_surrogate_entries_are_rejected_naming_file_field_and_value(tmp_path, entry, needles):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["agents"][1] = data["agents"][1] | entry
    with pytest.raises(SpecError) as error:
        parse_spec(data, "spec.yaml")
    assert str(error.value).startswith("spec.yaml: ") and all(n in str(error.value) for n in needles), error.value


def test_a_physics_family_without_a_surrogate_is_rejected_by_the_surrogate_entry(tmp_path):
    data = {"name": "toy", "env": "toy", "budgets": 100, "agents": [{"agent": "random", "model": "surrogate"}]}
    with pytest.raises(SpecError, match="kind must be one of thz, acoustic for a surrogate search; got 'toy'"):
        parse_spec(data, "toy.yaml")


def test_a_tiny_surrogate_vs_physics_sweep_runs_end_to_end_at_equal_physics_budgets(tmp_path):
    spec = parse_spec(tiny_example(tmp_path), "tiny.yaml")
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    outcome = run_sweep(spec, url, workers=2)
    assert outcome.status["done"] == 2 and outcome.status["failed"] == 0
    with SweepStore(url) as store:
        results = {t["method"]: t["result"] for t in store.trials(spec.name)}
        report = build_report(store, spec.name)
    physics, surrogate = results["ddqn-physics"], results["ddqn-surrogate"]
    assert physics["iterations"] == 40  # designs evaluated by the physics
    assert surrogate["iterations"] == surrogate["physics_evaluations"] == 40 and surrogate["rounds"] == 2
    assert surrogate["surrogate_evaluations"] > 0
    best = json.loads((Path(surrogate["run_dir"]) / "best.json").read_text())
    assert best["verified"] == "physics" and best["objective"] == pytest.approx(surrogate["best_value"], rel=1e-12)
    rows = [line for line in report.markdown.splitlines() if line.startswith("| ddqn-")]
    assert len(rows) == 2 and all("| 40 | 1/1 |" in row for row in rows)
    assert report.plot_path is not None and report.plot_path.stat().st_size > 0


def test_a_new_attempt_resumes_an_interrupted_surrogate_attempt_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    from workbench.surrogates import _active

    spec = parse_spec(tiny_example(tmp_path), "tiny.yaml")
    config = next(t for t in spec.trials() if t.method == "ddqn-surrogate").config

    def task(folder: str, attempt: int) -> TrialTask:
        return TrialTask("s", "t", attempt, "token", config, str(tmp_path / folder), 1, run_search)

    uninterrupted = run_search(task("reference", 1))
    run_round = _active._Agent.run

    def killed_in_round_2(agent, recorder, round_index):
        if round_index == 2:
            raise KeyboardInterrupt  # as if the worker died after the checkpoint of round 1
        return run_round(agent, recorder, round_index)

    monkeypatch.setattr(_active._Agent, "run", killed_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        run_search(task("trial", 1))
    monkeypatch.setattr(_active._Agent, "run", run_round)
    first = tmp_path / "trial" / "attempt-1"
    assert json.loads((first / "checkpoint.json").read_text())["round"] == 1 and not (first / "best.json").exists()
    resumed = run_search(task("trial", 2))
    assert resumed["resumed_from"] == str(first) and resumed["physics_evaluations"] == 40
    assert (resumed["best_value"], resumed["best_design"]) == (
        uninterrupted["best_value"],
        uninterrupted["best_design"],
    )
    assert _rows_but_timing(Path(resumed["run_dir"])) == _rows_but_timing(Path(uninterrupted["run_dir"]))


def _rows_but_timing(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "refit_s"} for row in csv.DictReader(handle)]
