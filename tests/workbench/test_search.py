"""End-to-end THz search: run folder contents, reproducibility, CLI JSON and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analytic import thz
from workbench.search import SearchConfig, search

SMALL = dict(steps=800, num_envs=8, log_every=200, batch_size=32)


def test_search_writes_the_run_folder_and_is_reproducible(tmp_path):
    first = search(SearchConfig(**SMALL, seed=3, runs_root=str(tmp_path), name="a"))
    second = search(SearchConfig(**SMALL, seed=3, runs_root=str(tmp_path), name="b"))
    for item in ("config.json", "metrics.csv", "best.json", "spectrum.png", "learning_curve.png", "checkpoint.zip"):
        assert (first.run_dir / item).stat().st_size > 0
    assert list(first.run_dir.glob("events.out.tfevents.*"))
    assert (first.run_dir / "metrics.csv").read_text() == (second.run_dir / "metrics.csv").read_text()
    best = json.loads((first.run_dir / "best.json").read_text())
    assert best["design"] == json.loads((second.run_dir / "best.json").read_text())["design"]
    array = thz.LoopArray(**best["design"])
    assert best["fe_avg"] == pytest.approx(thz.spectrum(array, [0.2e12]).fe_avg[0], rel=1e-8)
    assert first.best_value == pytest.approx(best["fe_avg"], rel=1e-8)
    assert first.iterations >= 800


def test_search_cli_prints_json_with_run_dir_speed_and_best(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "search",
            "thz",
            "--steps",
            "400",
            "--num-envs",
            "8",
            "--runs-root",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["iterations_per_s"] > 0 and payload["best"]["fe_avg"] > 0
    assert set(payload["best"]["design"]) >= {"gap", "thickness", "side_x", "side_y", "period_x", "period_y"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(agent="ppo"), "agent must be one of"),
        (dict(objective="loudness"), "objective"),
        (dict(target_frequency=10e12), "target_frequency"),
        (dict(steps=0), "steps must be"),
        (dict(env={"colour": 1}), "colour"),
    ],
)
def test_bad_search_settings_are_rejected_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        SearchConfig(runs_root=str(tmp_path), **kwargs)
    assert not any(tmp_path.iterdir())
