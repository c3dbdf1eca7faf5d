"""Scripted examples run end to end, as users run them (CleanRL-style subprocess smoke tests, tiny budgets)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RL_EXAMPLES = ("sb3_ppo_thz.py", "tianshou_dqn_thz.py", "rllib_ppo_thz.py", "torch_ddqn_vector.py", "scripted_sweep.py")


def _run(script: str, *args: str, timeout: float = 600) -> str:
    """Run ``examples/<script>`` in a fresh interpreter from the repository root; its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _best_fe(stdout: str) -> float:
    match = re.search(r"best FE_avg at 0\.2 THz: ([\d,]+)", stdout)
    assert match, stdout
    return float(match.group(1).replace(",", ""))


def test_gap_scan_example_prints_resonances_and_writes_its_plot(tmp_path):
    out = tmp_path / "scan.png"
    stdout = _run("thz_gap_scan.py", "--out", str(out))
    assert stdout.count("f_res") == 7
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("script", RL_EXAMPLES)
def test_every_rl_example_says_which_gymnasium_versions_it_was_run_with(script):
    assert re.search(r"gymnasium \d+\.\d+\.\d+", (ROOT / "examples" / script).read_text())


def test_sb3_ppo_example_trains_on_the_continuous_env_given_by_id_string():
    stdout = _run("sb3_ppo_thz.py", "--steps", "128", "--num-envs", "2")
    assert "SB3 PPO: 128 env steps" in stdout
    assert _best_fe(stdout) > 0
    assert "frame of env 0: (320, 640, 3) uint8" in stdout


@pytest.mark.slow
def test_tianshou_double_dqn_example_trains_with_a_target_network():
    stdout = _run("tianshou_dqn_thz.py", "--steps", "256", "--num-envs", "2")
    assert "tianshou DQN (double-Q, target network)" in stdout
    assert _best_fe(stdout) > 0


@pytest.mark.slow
def test_rllib_ppo_example_trains_one_iteration_with_env_config():
    stdout = _run("rllib_ppo_thz.py", "--iterations", "1", "--batch", "128")
    match = re.search(r"RLlib PPO: 1 iterations, ([\d,.]+) env steps", stdout)
    assert match, stdout
    assert float(match.group(1).replace(",", "")) >= 128


def test_plain_torch_double_dqn_example_learns_on_the_native_vector_env():
    stdout = _run("torch_ddqn_vector.py", "--steps", "1024", "--num-envs", "8", "--learning-starts", "256")
    match = re.search(r"1,024 env steps .* (\d+) gradient steps", stdout)
    assert match and int(match.group(1)) > 0, stdout
    assert _best_fe(stdout) > 0


def test_scripted_sweep_example_runs_its_trials_and_writes_the_report(tmp_path):
    stdout = _run(
        "scripted_sweep.py",
        "--budget",
        "100",
        "--seeds",
        "2",
        "--agents",
        "random",
        "de",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert "4 done, 0 failed of 4 trials" in stdout
    assert (tmp_path / "report.md").is_file() and (tmp_path / "best_vs_evaluations.png").is_file()
