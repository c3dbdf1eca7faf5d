"""``workbench surrogate data|train|eval`` and ``workbench bench surrogate`` as a user runs them (--json)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from workbench.cli import app

runner = CliRunner()
THZ_GOAL_KEYS = (
    "median_abs_log10_fe_error",
    "p95_abs_log10_fe_error",
    "resonance_rel_error_p95",
    "peak_fe_rel_error_p95",
)
ACOUSTIC_GOAL_KEYS = ("j_mae_db", "j_p95_db", "spearman")


def invoke(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("surrogate-cli")
    paths = {}
    for kind, extra in (("thz", []), ("acoustic", ["--env", "band=[20, 60]"])):
        for role, seed, n in (("train", 0, 48), ("test", 1, 16)):
            out = root / f"{kind}-{role}.h5"
            payload = invoke(
                "surrogate",
                "data",
                kind,
                "--n",
                str(n),
                "--seed",
                str(seed),
                "--out",
                str(out),
                *extra,
                "--no-progress",
                "--json",
            )
            assert payload["designs"] == n and out.is_file()
            paths[kind, role] = out
        ckpt = root / f"{kind}.pt"
        trained = invoke(
            "surrogate",
            "train",
            kind,
            "--data",
            str(paths[kind, "train"]),
            "--test",
            str(paths[kind, "test"]),
            "--out",
            str(ckpt),
            "--epochs",
            "2",
            "--width",
            "8",
            "--depth",
            "1",
            "--members",
            "2",
            "--no-progress",
            "--json",
        )
        assert trained["checkpoint"] == str(ckpt) and trained["size_bytes"] == ckpt.stat().st_size
        paths[kind, "ckpt"] = ckpt
    return paths


@pytest.mark.parametrize(("kind", "keys"), [("thz", THZ_GOAL_KEYS), ("acoustic", ACOUSTIC_GOAL_KEYS)])
def test_eval_prints_the_goal_keys_of_a_trained_checkpoint(files, kind, keys):
    payload = invoke(
        "surrogate", "eval", kind, "--model", str(files[kind, "ckpt"]), "--data", str(files[kind, "test"]), "--json"
    )
    assert payload["designs"] == 16
    for key in keys:
        assert isinstance(payload[key], float)


def test_bench_surrogate_reports_accuracy_and_speedup_of_both_families(files, tmp_path):
    out = tmp_path / "bench.json"
    payload = invoke(
        "bench",
        "surrogate",
        "--thz-model",
        str(files["thz", "ckpt"]),
        "--acoustic-model",
        str(files["acoustic", "ckpt"]),
        "--threads",
        "1",
        "--thz-designs",
        "32",
        "--acoustic-model-designs",
        "4",
        "--acoustic-surrogate-designs",
        "64",
        "--out",
        str(out),
        "--json",
    )
    assert payload["threads"] == 1 and json.loads(out.read_text())["threads"] == 1
    for key in (*THZ_GOAL_KEYS, "speedup", "numba_spectra_per_s", "surrogate_spectra_per_s"):
        assert payload["thz"][key] >= 0
    for key in ("j_mae_db", "j_p95_db", "speedup", "numba_designs_per_s", "surrogate_designs_per_s"):
        assert payload["acoustic"][key] >= 0


def test_bad_arguments_fail_before_any_file_is_written(tmp_path, files):
    out = tmp_path / "never.h5"
    result = runner.invoke(app, ["surrogate", "data", "thz", "--n", "0", "--out", str(out), "--json"])
    assert result.exit_code == 2 and "n must be an integer >= 1; got n=0" in result.output and not out.exists()
    ckpt = tmp_path / "never.pt"
    result = runner.invoke(
        app,
        ["surrogate", "train", "thz", "--data", str(files["thz", "train"]), "--out", str(ckpt), "--head", "fourier"],
    )
    assert result.exit_code == 2 and "head must be one of mlp, physics, hybrid" in result.output and not ckpt.exists()
    result = runner.invoke(
        app,
        ["surrogate", "train", "acoustic", "--data", str(files["acoustic", "train"]), "--out", str(ckpt)]
        + ["--architecture", "graph"],
    )
    assert result.exit_code == 2 and "architecture must be one of mlp, sets; got architecture='graph'" in result.output
    assert not ckpt.exists()
    result = runner.invoke(
        app,
        ["surrogate", "eval", "acoustic", "--model", str(files["thz", "ckpt"]), "--data", str(files["thz", "test"])],
    )
    assert result.exit_code == 2 and "holds kind='thz'; asked for kind='acoustic'" in result.output


def test_bench_surrogate_search_compares_with_a_physics_only_baseline(tmp_path):
    payload = invoke(
        "bench",
        "surrogate-search",
        "thz",
        "--seeds",
        "1",
        "--agent",
        "random",
        "--physics-budget",
        "40",
        "--baseline",
        "random",
        "--baseline-steps",
        "40",
        "--round-steps",
        "64",
        "--verify",
        "8",
        "--local",
        "4",
        "--runs-root",
        str(tmp_path),
        "--out",
        str(tmp_path / "b.json"),
        "--json",
    )
    (row,) = payload["seeds"]
    assert (payload["verify"], payload["local"], payload["round_steps"]) == (8, 4, 64)
    assert payload["physics_evaluations"] == row["physics_evaluations"] == 40
    assert payload["surrogate_evaluations"] == row["surrogate_evaluations"] > 0
    assert payload["mean_surrogate_objective"] == row["surrogate_objective"] > 0
    assert payload["mean_physics_only_objective"] == row["physics_only_objective"] > 0
    for run_dir in row["run_dirs"]:
        assert (tmp_path / run_dir.split("/")[-1] / "best.json").is_file()
