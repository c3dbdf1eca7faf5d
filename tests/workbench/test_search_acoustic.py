"""``workbench search acoustic``: plate-cavity searches through the shared search machinery and CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from workbench.search import SearchConfig, search

# Small and fast: 4×4 modes, 46 frequencies (η = 0.05 over 20–60 Hz), two masses.
SMALL = {"n_plate": 4, "n_transverse": 4, "band": (20.0, 60.0), "plate_loss": 0.05, "air_loss": 0.05, "n_masses": 2}


def test_ddqn_quiet_search_writes_the_run_folder_with_a_verified_best_design(tmp_path):
    cfg = SearchConfig(
        kind="acoustic",
        steps=256,
        num_envs=8,
        agent_options={"batch_size": 32},
        log_every=64,
        progress=False,
        runs_root=str(tmp_path),
        env=SMALL,
    )
    assert (cfg.objective, cfg.target_frequency) == ("quiet", 60.0)
    result = search(cfg)
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "metrics.csv", "best.json", "response.png", "learning_curve.png"} <= names
    assert result.run_dir.name.startswith("acoustic-") and result.iterations == 256
    best = json.loads((result.run_dir / "best.json").read_text())
    assert best["objective"] == result.best_value == pytest.approx(-best["lp_band_db"], rel=1e-9)
    assert best["total_mass_kg"] <= best["mass_budget_kg"] * (1 + 1e-12)
    assert abs(best["lp_band_double_modes_db"] - best["lp_band_db"]) < 1.0  # 4 modes resolve 20–60 Hz
    assert best["band_points"] == 46 and best["design"]["material"] in ("polymer", "aluminium", "steel")
    with open(result.run_dir / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["iteration"]) for r in rows] == [64, 128, 192, 256]
    assert float(rows[-1]["best_objective"]) == result.best_value


def test_tune_search_with_a_baseline_reports_f1_against_the_target(tmp_path):
    cfg = SearchConfig(
        kind="acoustic",
        objective="tune",
        target_frequency=80.0,
        agent="de",
        steps=200,
        log_every=100,
        progress=False,
        runs_root=str(tmp_path),
        env=SMALL,
    )
    result = search(cfg)
    best = result.best
    assert best["target_frequency_hz"] == 80.0
    assert best["objective"] == pytest.approx(-abs(best["f1_hz"] - 80.0) / 80.0, rel=1e-5, abs=1e-9)
    assert result.spectrum.lp_avg.shape == (46,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(objective="loud"), "objective"),
        (dict(objective="field_enhancement"), "objective"),
        (dict(target_frequency=-60.0), "target_frequency"),
        (dict(env={"n_plate": 0}), "n_plate"),
        (dict(env={"mass_budget": 0.01}), "mass_budget"),
    ],
)
def test_bad_acoustic_settings_are_rejected_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SearchConfig(kind="acoustic", runs_root=str(tmp_path), **kwargs)
    assert not any(tmp_path.iterdir())


def test_search_cli_runs_the_acoustic_family_with_its_defaults(tmp_path):
    command = [sys.executable, "-m", "workbench.cli", "search", "acoustic", "--steps", "32", "--agent", "random"]
    # One BLAS thread: the NumPy reference's many small solves run ~10× slower with OpenBLAS threads on 2 busy cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [*command, "--runs-root", str(tmp_path), "--json"], capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    best = payload["best"]
    assert payload["iterations"] == 32 and best["band_points"] == 602 and best["modes"]["n_plate"] == 8
    assert best["objective"] == pytest.approx(-best["lp_band_db"], rel=1e-9)
    assert set(best["design"]) >= {"material", "thickness", "lx", "ly", "lz", "mass_4"}
