"""workbench.compress on the shipped surrogates: compressed trunks, calibration designs, physics-trained
methods, compressed checkpoints through ``surrogates.load`` and the envs, the CLI, the bench and the loop."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import envs  # noqa: F401  (registers the environments)
from workbench.cli import app
from workbench.compress import (
    PRUNE_METHODS,
    PTQ_METHODS,
    CompressedLinear,
    QuantSpec,
    calibration_inputs,
    compress_surrogate,
    compressed_layers,
    save_surrogate,
    surrogate_error,
)
from workbench.compress._bench import BenchSize, run_bench, write_outputs
from workbench.compress._loop import compare_in_loop
from workbench.compress._surrogate import METHODS, design_grid, hidden_layers, network_inputs, thz_log_t, trunk
from workbench.search import SearchConfig
from workbench.surrogates import ActiveConfig, load, make_dataset, sobol_indices

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def thz():
    return load("thz")


@pytest.fixture(scope="module")
def thz_data(thz):
    return make_dataset("thz", 24, 5, env=thz.metadata["env"])


def test_method_names_cover_the_library_methods():
    assert set(PTQ_METHODS) <= set(METHODS) and {"prune-" + m for m in PRUNE_METHODS} <= set(METHODS)


def test_hidden_layers_are_the_inner_linears_of_every_mlp(thz):
    assert hidden_layers(trunk(thz)) == ["2", "4", "6"]
    members = trunk(load("acoustic")).members  # the shipped members read the masses as a set: encoder, then head
    inner = ("encoder.2", "head.2", "head.4")
    assert hidden_layers(trunk(load("acoustic"))) == [f"members.{k}.{i}" for k in range(len(members)) for i in inner]


def test_thz_log_t_of_the_trunk_is_the_surrogates_own_prediction(thz):
    """The mixed-precision W8A8 score reads ln|t| back from trunk inputs alone (Rayleigh frequencies un-standardised)."""
    index = sobol_indices(design_grid(thz), 32, 5)
    log_t = thz_log_t(thz, network_inputs(thz, index))(trunk(thz))
    expected = np.log(np.abs(thz.predict(design_grid(thz).lengths(index))[0]))
    np.testing.assert_allclose(log_t.detach().numpy(), expected, rtol=1e-5, atol=1e-5)  # float32 round trip


def test_calibration_inputs_are_standardised_features_of_valid_designs(thz):
    x = calibration_inputs(thz, 256, 0)
    assert x.shape == (256, trunk(thz)[0].in_features) and torch.isfinite(x).all()
    assert x.mean(0).abs().max() < 1.0 and (x.std(0) > 0.1).all()
    torch.testing.assert_close(calibration_inputs(thz, 256, 0), x)
    with pytest.raises(ValueError, match="n must be an integer >= 1; got n=0"):
        calibration_inputs(thz, 0, 0)


def test_rtn_surrogate_packs_every_trunk_layer_and_leaves_the_original_alone(thz, thz_data):
    before = {k: v.clone() for k, v in thz.net.state_dict().items()}
    small, _ = compress_surrogate(thz, "rtn", QuantSpec(bits=4))
    assert all(isinstance(m, CompressedLinear) and m.fmt == "int4" for _, m in compressed_layers(trunk(small)))
    assert len(compressed_layers(trunk(small))) == 5
    assert small.metadata["compression"]["method"] == "rtn" and "compression" not in thz.metadata
    assert all(torch.equal(v, thz.net.state_dict()[k]) for k, v in before.items())
    base, error = surrogate_error(thz, thz_data), surrogate_error(small, thz_data)
    assert 0 < base < error < 10 * base + 0.1


def test_flexround_surrogate_reconstructs_the_fp32_trunk_better_than_rtn_on_its_calibration_designs(thz):
    calib = calibration_inputs(thz, 64, 1)
    rtn, _ = compress_surrogate(thz, "rtn", QuantSpec(bits=4))
    flex, _ = compress_surrogate(thz, "flexround", QuantSpec(bits=4), calib, iters=8)
    with torch.no_grad():
        target = trunk(thz)(calib)
        errors = [(trunk(m)(calib) - target).pow(2).mean() for m in (rtn, flex)]
    assert errors[1] < errors[0]


def test_peqa_on_physics_data_changes_scales_never_codes(thz, thz_data):
    rtn, _ = compress_surrogate(thz, "rtn", QuantSpec(bits=4))
    peqa, _ = compress_surrogate(thz, "peqa", QuantSpec(bits=4), data=thz_data, steps=3)
    for (_, a), (_, b) in zip(compressed_layers(trunk(rtn)), compressed_layers(trunk(peqa))):
        assert torch.equal(a.codes, b.codes) and not torch.equal(a.scale, b.scale)


def test_pruned_surrogate_keeps_pruned_weights_at_zero_through_its_own_fine_tuning(thz, thz_data):
    pruned, _ = compress_surrogate(thz, "prune-bed", sparsity=0.5, block=16, data=thz_data, epochs=1)
    layers = dict(compressed_layers(trunk(pruned)))
    assert sorted(layers) == ["2", "4", "6"]
    for name in layers:
        dense = layers[name].dense_weight()
        assert (dense != 0).float().mean() <= 0.5
        assert not torch.equal(dense, dict(trunk(thz).named_modules())[name].weight * (dense != 0))  # fine-tuned


def test_compressed_surrogate_saves_loads_through_surrogates_load_and_refuses_another_kind(tmp_path, thz, thz_data):
    small, _ = compress_surrogate(thz, "rtn", QuantSpec(bits=4))
    path = save_surrogate(small, tmp_path / "thz-int4.pt")
    back = load("thz", path, env=SearchConfig(kind="thz").env_config())
    np.testing.assert_array_equal(back.predict(thz_data.designs[:4])[0], small.predict(thz_data.designs[:4])[0])
    assert back.metadata["compression"] == small.metadata["compression"]
    with pytest.raises(ValueError, match="holds model='thz'; asked for 'acoustic'"):
        load("acoustic", path)
    with pytest.raises(ValueError, match="disagrees with the env on eps_gap"):
        load("thz", path, env={"eps_gap": 4.0})
    with pytest.raises(ValueError, match="model must be an fp32 checkpoint .* got the compressed surrogate"):
        ActiveConfig(SearchConfig(kind="thz"), physics_budget=20_000, model=str(path))


@pytest.mark.parametrize("kind", ["thz", "acoustic"])
def test_env_with_a_compressed_surrogate_as_model_steps_with_finite_rewards(kind):
    fp32 = load(kind)
    small, _ = compress_surrogate(fp32, "w8a8", smooth=0.5, calib=calibration_inputs(fp32, 64, 0))
    cfg = SearchConfig(kind=kind)
    env = gym.make(cfg.env_id, config=cfg.env_config(), model=small)
    env.reset(seed=0)
    rewards = [env.step(env.action_space.sample())[1] for _ in range(6)]
    assert np.all(np.isfinite(rewards)) and small.surrogate_evaluations > 0


def test_compress_refuses_bad_input_naming_the_parameter():
    surrogate = load("thz")
    for options, match in (
        ({"method": "gptq"}, "method must be one of .* got method='gptq'"),
        ({"method": "prune-bed", "sparsity": 1.0}, r"sparsity must be in \[0, 1\); got sparsity=1.0"),
        ({"method": "prune-bed", "sparsity": 0.5}, "needs physics data; got data=None"),
        ({"method": "flexround", "smooth": 0.5}, "smooth, rotate, float_inputs, rounding and act_symmetric are w8a8"),
        ({"method": "rtn", "float_inputs": 1}, "are w8a8 options.* float_inputs=1"),
        ({"method": "lrq", "act_symmetric": False}, "are w8a8 options.* act_symmetric=False with method='lrq'"),
        ({"method": "rtn", "rounding": "flexround"}, "are w8a8 options.* rounding='flexround', .* with method='rtn'"),
        ({"method": "w8a8", "float_inputs": 6}, r"float_inputs must be an integer in \[0, 5\] .* got float_inputs=6"),
        ({"spec": QuantSpec(granularity="group", group_size=5)}, "group_size must divide the input channels of 0"),
        ({"method": "flexround"}, "calib must be a tensor of >= 1 calibration inputs"),
    ):
        with pytest.raises(ValueError, match=match):
            compress_surrogate(surrogate, **options)


def test_cli_refuses_bad_bits_and_sparsity_before_any_work(tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.pt"
    for args, message in (
        (["--bits", "1"], "bits must be in [2, 8]; got bits=1"),
        (["--method", "prune-bed", "--sparsity", "1.2"], "sparsity must be in [0, 1); got sparsity=1.2"),
        (["--method", "nope"], "method must be one of"),
        (["--method", "w8a8", "--rounding", "up"], "rounding must be one of ('rtn', 'flexround'); got rounding='up'"),
        (["--rounding", "flexround"], "rounding='flexround' needs method w8a8; got method='flexround'"),
        (["--act-asymmetric"], "act_asymmetric needs method w8a8; got method='flexround'"),
        (["--granularity", "group", "--group-size", "5"], "group_size must divide the input channels of 0"),
    ):
        result = runner.invoke(app, ["compress", "thz", *args, "--out", str(out)])
        assert result.exit_code == 2 and message in result.output
    assert not out.exists()


def test_cli_compresses_the_shipped_thz_surrogate_into_a_loadable_checkpoint(tmp_path, thz):
    out = tmp_path / "thz-int4.pt"
    args = ["compress", "thz", "--method", "rtn", "--bits", "4", "--designs", "16", "--calib", "16"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert row["bytes"] < row["fp32_bytes"] / 5 and row["error"] > row["fp32_error"] > 0 and row["path"] == str(out)
    assert row["metric"] == "median_abs_log10_fe_error"
    reference, _ = compress_surrogate(thz, "rtn", QuantSpec(bits=4))
    x = calibration_inputs(thz, 8, 3)
    with torch.no_grad():
        assert torch.equal(trunk(load("thz", out))(x), trunk(reference)(x))


def test_bench_rows_cover_every_method_bits_and_sparsity_and_write_table_and_figure(tmp_path):
    size = BenchSize(16, 16, 8, 8, calib=32, iters=1, tune_steps=1, finetune_epochs=1, bits=(8, 4), sparsities=(0.5,))
    result = run_bench(("thz",), size, seed=0, log=lambda _msg: None)
    rows = result["rows"]
    keys = {"model", "method", "bits", "sparsity", "error", "added_error", "bytes", "calibration_s"}
    assert all(keys <= set(r) and np.isfinite(r["error"]) for r in rows)
    found = {(r["method"], r["bits"], r["sparsity"]) for r in rows}
    for method in ("rtn", "adadim", "flexround", "lrq", "peqa", "bcq", "alphatuning"):
        assert all((method, b, 0.0) in found for b in (8, 4))
    w8a8_rows = ("w8a8", "w8a8-smooth", "w8a8-rotate", "w8a8-mixed", "w8a8-rotate-mixed", "w8a8-rotate-mixed-flexround")
    assert {(method, 8, 0.0) for method in (*w8a8_rows, "w8a8-asym", "w8a8-asym-mixed-flexround")} <= found
    goals = {"flexround4_over_rtn4", "w8a8_asym_mixed_flexround_added_fraction", "sparsity_0.5"}
    assert goals <= set(result["goals"]["thz"])
    for method in ("prune-aligned", "prune-bed", "prune-dp"):
        assert (method, 32, 0.5) in found
    bed = [r for r in rows if r["method"] == "prune-bed"]
    assert all(0.9 <= r["dp_retained_fraction"] <= 1.0 and r["speedup_vs_dp"] > 0 for r in bed)
    size_of = {(r["method"], r["bits"]): r["bytes"] for r in rows if r["sparsity"] == 0}
    assert size_of[("rtn", 4)] < size_of[("rtn", 8)] < size_of[("fp32", 32)]
    assert result["peqa"][0]["trained_fraction"] < 0.02
    paths = write_outputs(result, tmp_path)
    assert json.loads(Path(paths["json"]).read_text())["rows"] == rows
    assert Path(paths["markdown"]).read_text().count("| thz |") == len(rows)
    assert Path(paths["png"]).stat().st_size > 0


def test_in_loop_comparison_runs_both_arms_on_the_same_budget_with_physics_verified_bests(tmp_path):
    tiny = {"initial": 20, "epochs": 2, "refit_epochs": 1, "width": 16, "depth": 1}
    result = compare_in_loop(
        "thz",
        1,
        physics_budget=36,
        verify=8,
        round_steps=32,
        calib=32,
        iters=2,
        runs_root=str(tmp_path),
        num_envs=8,
        log=lambda _msg: None,
        **tiny,
    )
    row = result["seeds"][0]
    for arm in ("fp32", "flexround4"):
        best = json.loads((Path(row[arm]["run_dir"]) / "best.json").read_text())
        assert row[arm]["physics_evaluations"] == 36 and best["verified"] == "physics"
        assert best["objective"] == pytest.approx(row[arm]["objective"])
    assert row["difference"] == pytest.approx(100 * (row["flexround4"]["objective"] / row["fp32"]["objective"] - 1))


def test_bench_commands_refuse_bad_options_before_running(tmp_path):
    runner = CliRunner()
    for args, message in (
        (["bench", "compress", "--bits", "1"], "bits must be an integer in [2, 8]; got bits=1"),
        (["bench", "compress", "--sparsities", "0.5,1.5"], "sparsities must lie in (0, 1); got sparsities='0.5,1.5'"),
        (["bench", "compress", "--kinds", "sound"], "kinds must be drawn from"),
        (["bench", "compress-search", "thz", "--method", "gptq"], "method must be flexround or lrq; got method='gptq'"),
        (["bench", "compress-search", "sound"], "kind must be one of"),
    ):
        result = runner.invoke(app, [*args, *(["--out", str(tmp_path / "o")] if args[1] == "compress" else [])])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_search_serves_a_fresh_copy_after_every_refit_and_trains_the_fitted_surrogate(tmp_path):
    from workbench.surrogates import surrogate_search

    served = []

    def serve(surrogate):
        copy, _ = compress_surrogate(surrogate, "rtn", QuantSpec(bits=8))
        served.append((surrogate, copy))
        return copy

    search = SearchConfig(kind="thz", agent="random", num_envs=8, runs_root=str(tmp_path), progress=False)
    tiny = {"initial": 20, "verify": 8, "round_steps": 32, "epochs": 2, "refit_epochs": 1, "width": 16, "depth": 1}
    result = surrogate_search(ActiveConfig(search, physics_budget=36, **tiny), serve=serve)
    assert len(served) == result.rounds + 1  # the first fit and every refit
    assert len({id(fitted) for fitted, _ in served}) == 1  # refits train the one fp32 surrogate
    assert all(copy.surrogate_evaluations > 0 for _, copy in served[:-1])  # each round's agent asked its copy
