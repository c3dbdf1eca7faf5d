"""workbench.kernels: fused MLP kernel parity under the Triton interpreter, torch fast path, gradients, bad input."""

from __future__ import annotations

import os

os.environ.setdefault("TRITON_INTERPRET", "1")  # before anything can import triton

import copy  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from workbench.cli import app  # noqa: E402
from workbench.compress import QuantSpec, from_panels, prune, ptq, sparse_model, w8a8  # noqa: E402
from workbench.kernels import (  # noqa: E402
    FusedMLP,
    Unsupported,
    accelerate,
    error_bound,
    extract_layers,
    fused_forward,
    mlp_reference,
    select_backend,
    triton_available,
)
from workbench.kernels._backend import load_triton, triton_mode  # noqa: E402


def _mlp(dims: list[int], act: type[nn.Module] | nn.Module, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (k, n) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(k, n))
        if i < len(dims) - 2:
            layers.append(act() if isinstance(act, type) else act)
    return nn.Sequential(*layers).eval()


def _x(m: int, d: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(m, d, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def interpreter(request: pytest.FixtureRequest) -> bool:
    """True to run the test body here; False when it already passed in a fresh interpreter-mode process.

    Triton fixes compiled vs interpreted mode when it is first imported; if another test module
    imported it in compiled mode, this test is re-run in a subprocess with TRITON_INTERPRET=1.
    """
    if not triton_available():
        pytest.skip("triton cannot be imported (install the 'gpu' extra)")
    if triton_mode() in (None, "interpret"):
        return True
    env = os.environ | {"TRITON_INTERPRET": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid]
    done = subprocess.run(cmd, cwd=request.config.rootpath, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return False


def _within_bound(model: nn.Module, x: torch.Tensor) -> None:
    """Interpreter output within the float error bound of the float64 reference on the same weights."""
    y = FusedMLP(model, "interpret", strict=True)(x)
    exact, bound = error_bound(x, extract_layers(model))
    excess = (y.double() - exact).abs() - bound
    assert excess.max() <= 0, f"error exceeds the bound by {excess.max():.3g}"


# --- kernel parity under the interpreter (tiny ragged shapes, one configuration per kernel) ---


def test_fp32_kernel_within_float_bound_silu_gelu(interpreter: bool) -> None:
    if interpreter:
        model = _mlp([6, 40, 40, 5], nn.SiLU)
        model[3] = nn.GELU(approximate="tanh")
        _within_bound(model, _x(37, 6))


def test_fp32_kernel_four_hidden_layers_of_256_within_bound(interpreter: bool) -> None:
    if interpreter:
        _within_bound(_mlp([6, 256, 256, 256, 256, 128], nn.SiLU), _x(20, 6))


def test_w8a8_kernel_single_layer_bit_exact(interpreter: bool) -> None:
    if interpreter:
        model = w8a8(_mlp([40, 24], nn.ReLU))[0]
        x = _x(37, 40)
        assert torch.equal(FusedMLP(model, "interpret", strict=True)(x), mlp_reference(x, extract_layers(model)))


def test_w8a8_kernel_relu_mlp_bit_exact(interpreter: bool) -> None:
    if interpreter:
        model = w8a8(_mlp([6, 48, 48, 48, 7], nn.ReLU))[0]
        x = _x(29, 6)
        assert [layer.mode for layer in extract_layers(model)] == ["w8a8"] * 4
        assert torch.equal(FusedMLP(model, "interpret", strict=True)(x), mlp_reference(x, extract_layers(model)))


def test_int4_asymmetric_per_channel_odd_k_within_bound(interpreter: bool) -> None:
    if interpreter:
        model = ptq(_mlp([7, 33, 33, 5], nn.SiLU), QuantSpec(bits=4), method="rtn")[0]
        assert {layer.mode for layer in extract_layers(model)} == {"int4"}
        _within_bound(model, _x(37, 7))


def test_int4_symmetric_per_group_within_bound(interpreter: bool) -> None:
    if interpreter:
        spec = QuantSpec(bits=4, symmetric=True, granularity="group", group_size=8)
        model = ptq(_mlp([8, 24, 24, 3], nn.Tanh), spec, method="rtn")[0]
        assert extract_layers(model)[1].scale.shape == (3, 24)
        _within_bound(model, _x(21, 8))


def test_int8_weight_only_asymmetric_per_tensor_within_bound(interpreter: bool) -> None:
    if interpreter:
        spec = QuantSpec(bits=8, granularity="tensor")
        model = ptq(_mlp([5, 36, 36, 4], nn.GELU(approximate="tanh")), spec, method="rtn")[0]
        assert {layer.mode for layer in extract_layers(model)} == {"int8"}
        _within_bound(model, _x(19, 5))


def test_block_sparse_aligned_fp32_kernel_bit_exact_and_skips_pruned_blocks(interpreter: bool) -> None:
    """Integer-valued weights and inputs make every float dot exact, so kernel and reference agree bit for bit."""
    if interpreter:
        model = _mlp([6, 64, 64, 5], nn.ReLU)
        with torch.no_grad():
            for layer in model[::2]:
                layer.weight.copy_(torch.randint(-4, 5, layer.weight.shape))
                layer.bias.copy_(torch.randint(-4, 5, layer.bias.shape))
        pruned, masks, _ = prune(model, 0.75, method="aligned", block=16)
        sparse = sparse_model(pruned, masks, 16)
        layers = extract_layers(sparse)
        assert [layer.keep is not None for layer in layers] == [False, True, False]
        x = torch.randint(-3, 4, (37, 6)).float()
        assert torch.equal(FusedMLP(sparse, "interpret", strict=True)(x), mlp_reference(x, layers))
        kernels = load_triton(True)
        packed = kernels.pack(layers, "cpu")  # two persistent programs walk the 3 row tiles of 16
        assert torch.equal(kernels.run(packed, x, programs=2), mlp_reference(x, layers))
        ptr = packed["ptr"][1]
        assert int(ptr[-1] - ptr[0]) == int(masks["2"].sum()) // 16 == 64 * 64 // 16 // 4  # one panel row per block


def test_block_sparse_unaligned_int8_per_group_kernel_within_bound(interpreter: bool) -> None:
    if interpreter:
        pruned, masks, _ = prune(_mlp([5, 48, 48, 3], nn.SiLU), 0.75, method="bed", block=8)
        spec = QuantSpec(bits=8, symmetric=True, granularity="group", group_size=16)
        sparse = sparse_model(pruned, masks, 8, spec)
        starts = sparse[2].block_ptr.diff().nonzero().flatten()
        assert (starts % 8 != 0).any()  # BED placed blocks off the aligned grid
        layers = extract_layers(sparse)
        assert [(layer.mode, layer.keep is not None) for layer in layers][1] == ("int8", True)
        _within_bound(sparse, _x(21, 5))
        # the kernel's panels hold exactly the stored codes: rebuilt densely, they equal the layer's codes
        packed = load_triton(True).pack(layers, "cpu")
        ptr = packed["ptr"][1]
        panels = {"panel_ptr": ptr - ptr[0], "panel_cols": packed["cols"][ptr[0] : ptr[-1]]}
        panels["panel_values"] = packed["pvc"][ptr[0] : ptr[-1]].view(torch.int8)
        assert torch.equal(from_panels(panels, 64)[:48, :48], layers[1].codes)


def test_interpret_backward_matches_reference_autograd(interpreter: bool) -> None:
    if interpreter:
        model = ptq(_mlp([6, 32, 4], nn.SiLU), QuantSpec(bits=4), method="rtn")[0]
        x = _x(17, 6).requires_grad_(True)
        (FusedMLP(model, "interpret")(x) ** 2).sum().backward()
        leaf = x.detach().requires_grad_(True)
        (mlp_reference(leaf, extract_layers(model)) ** 2).sum().backward()
        torch.testing.assert_close(x.grad, leaf.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # one ahead-of-time compilation: 7-25 s on this loaded 2-core machine
def test_kernel_compiles_for_h100_without_a_gpu() -> None:
    """Specialisations mixing W8A8, int4 and int8 layers, and block-sparse float / int8 layers, build for sm_90."""
    if not triton_available():
        pytest.skip("triton cannot be imported (install the 'gpu' extra)")
    code = (
        "import json, torch.nn as nn; from workbench.compress import QuantSpec, ptq, w8a8; "
        "from workbench.kernels import extract_layers; from workbench.kernels._backend import load_triton; "
        "m = nn.Sequential(nn.Linear(6, 32), nn.SiLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)); "
        "a = extract_layers(w8a8(m)[0]); b = extract_layers(ptq(m, QuantSpec(4, True), 'rtn')[0]); "
        "c = extract_layers(ptq(m, QuantSpec(8), 'rtn')[0]); "
        "from workbench.compress import prune, sparse_model; p, k, _ = prune(m, 0.75, 'bed', 16); "
        "d = extract_layers(sparse_model(p, k, 16)); e = extract_layers(sparse_model(p, k, 16, QuantSpec(8, True))); "
        "t = load_triton(False); "
        "print(json.dumps([t.compile_ahead(z, arch=90, block_rows=64) for z in ([a[0], b[1], c[2]], [d[0], d[1], e[1]])]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert all(build["shared_bytes"] > 0 for build in json.loads(done.stdout.strip().splitlines()[-1]))


# --- the torch fast path and the compressed model run unchanged ---


@pytest.mark.parametrize("act", [nn.SiLU, nn.ReLU])
def test_torch_w8a8_fast_path_bit_exact_and_first_layer_matches_fake_quant(act: type[nn.Module]) -> None:
    model = w8a8(_mlp([6, 256, 64, 3], act))[0]
    x = _x(300, 6)  # more rows than one CPU row block (256 at width 256)
    y = fused_forward(model, x, backend="torch")
    assert torch.equal(y, mlp_reference(x, extract_layers(model)))
    # the compressed layer's own forward multiplies fake-quantized floats: same codes, other rounding
    # (compared on one layer: deeper, a rounding difference can move an activation code by one step)
    first = nn.Sequential(model[0])
    torch.testing.assert_close(fused_forward(first, x, backend="torch"), model[0](x), rtol=1e-5, atol=1e-5)


def test_torch_w8a8_numba_quantizer_rounds_ties_to_even_and_floors_tiny_rows() -> None:
    model = w8a8(_mlp([8, 32], nn.ReLU))[0]
    x = _x(6, 8)
    x[0] = torch.tensor([127.0, 2.5, -2.5, 3.5, -0.5, 0.5, 1.5, -127.0])  # scale exactly 1: every code is a tie
    x[1] = 0.0  # scale floor 1e-12
    x[2] = 1e-14  # below the floor: codes 0
    fused = FusedMLP(model, "torch")
    assert torch.equal(fused(x), mlp_reference(x, extract_layers(model)))
    assert torch.equal(fused(x)[1], model[0].bias.detach())


def test_torch_path_off_cpu_form_equals_numba_form_bit_for_bit() -> None:
    """The buffer-free form (used for non-CPU tensors) and the Numba form agree exactly on W8A8 layers."""
    from workbench.kernels._cpu import run_fast, workspace
    from workbench.kernels._reference import prepare

    layers = prepare(extract_layers(w8a8(_mlp([6, 64, 64, 3], nn.SiLU))[0]))
    x = _x(40, 6)
    with_buffers, without = torch.empty(40, 3), torch.empty(40, 3)
    run_fast(x, layers, with_buffers, workspace(layers, 64))  # a partial block: 40 of 64 rows
    run_fast(x, layers, without, None)
    assert torch.equal(with_buffers, without)


def test_torch_weight_only_fast_path_equals_compressed_forward_within_bound() -> None:
    spec = QuantSpec(bits=4, symmetric=True, granularity="group", group_size=2)
    model = ptq(_mlp([6, 64, 64, 3], nn.SiLU), spec, method="rtn")[0]
    x = _x(50, 6)
    y = FusedMLP(model, "torch")(x.reshape(5, 10, 6))
    assert y.shape == (5, 10, 3)
    exact, bound = error_bound(x, extract_layers(model))
    assert ((y.reshape(50, 3).double() - exact).abs() <= bound).all()
    assert ((model(x).detach().double() - exact).abs() <= bound).all()


def test_block_sparse_int4_codes_run_as_sparse_int8_on_torch_within_bound() -> None:
    pruned, masks, _ = prune(_mlp([8, 32, 32, 4], nn.SiLU), 0.5, method="bed", block=8)
    model = sparse_model(pruned, masks, 8, QuantSpec(bits=4, symmetric=True))
    layers = extract_layers(model)
    sparse = [layer for layer in layers if layer.mode == "int8" and layer.keep is not None]
    assert len(sparse) == len(masks) >= 1
    assert torch.equal(sparse[0].keep, masks["2"].t()) and not sparse[0].codes[~sparse[0].keep].any()
    x = _x(20, 8)
    exact, bound = error_bound(x, layers)
    assert ((FusedMLP(model, "torch")(x).double() - exact).abs() <= bound).all()
    assert ((model(x).detach().double() - exact).abs() <= bound).all()


def test_gradient_through_fused_mlp_matches_model_and_finite_differences() -> None:
    model = _mlp([6, 32, 32, 2], nn.SiLU)
    x = _x(8, 6).requires_grad_(True)
    fused = FusedMLP(model, "torch")
    fused(x).sum().backward()
    leaf = x.detach().requires_grad_(True)
    model(leaf).sum().backward()
    torch.testing.assert_close(x.grad, leaf.grad)
    direction = _x(8, 6, seed=3)
    eps = 1e-2
    with torch.no_grad():
        fd = (fused(x + eps * direction).sum() - fused(x - eps * direction).sum()) / (2 * eps)
    assert abs(float(fd) - float((x.grad * direction).sum())) <= 1e-3 * max(1.0, abs(float(fd)))


def test_w8a8_gradient_is_straight_through_the_rounding() -> None:
    model = w8a8(_mlp([6, 16, 2], nn.ReLU))[0]
    x = _x(4, 6).requires_grad_(True)
    FusedMLP(model, "torch")(x).sum().backward()
    first, second = extract_layers(model)
    w0, w1 = (layer.codes.float() * layer.scale for layer in (first, second))  # (K, N) dequantized
    relu_mask = (mlp_reference(x.detach(), [replace(first, act="none")]) > 0).float()
    expected = (relu_mask * w1.sum(dim=1)) @ w0.t()  # d(round(h/s)·s)/dh taken as 1
    torch.testing.assert_close(x.grad, expected, rtol=1e-5, atol=1e-6)


# --- bad input, fallbacks and backend choice ---


def test_width_above_256_runs_on_torch_and_falls_back_from_the_kernel_with_logged_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = _mlp([6, 300, 2], nn.SiLU)
    x = _x(3, 6)
    with caplog.at_level(logging.WARNING, logger="workbench.kernels"):
        on_torch = FusedMLP(model, "torch")
    assert not caplog.text and on_torch.reason is None
    exact, bound = error_bound(x, extract_layers(model, max_width=None))
    assert ((on_torch(x).double() - exact).abs() <= bound).all()
    with caplog.at_level(logging.WARNING, logger="workbench.kernels"):
        fused = FusedMLP(model, "interpret")
    assert "width must be <= 256" in caplog.text and "300" in caplog.text
    assert torch.equal(fused(x), model(x))
    with pytest.raises(Unsupported, match="width must be <= 256"):
        FusedMLP(model, "interpret", strict=True)
    with pytest.raises(Unsupported, match="width must be <= 256"):
        extract_layers(model)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (_mlp([6, 8, 2], nn.GELU), "activation must be one of"),
        (_mlp([6, 8, 8, 8, 8, 8, 2], nn.ReLU), r"number of linear layers must be in \[1, 5\]; got 6"),
        (nn.Sequential(nn.Linear(6, 8), nn.Linear(9, 2)), "C_in must equal"),
        (ptq(_mlp([6, 8, 2], nn.ReLU), QuantSpec(bits=4, granularity="ic"), method="rtn")[0], "granularity='ic'"),
        (nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.ReLU()), "each activation must follow a linear layer"),
    ],
)
def test_unsupported_models_raise_naming_the_bound(model: nn.Module, match: str) -> None:
    with pytest.raises(Unsupported, match=match):
        extract_layers(model)


def test_mixed_precision_w8a8_runs_its_float_input_layer_as_int8_weight_only_on_torch() -> None:
    """The layer that keeps a float input after the sensitivity choice is a plain int8 weight-only layer."""
    model = _mlp([6, 64, 64, 3], nn.SiLU)
    with torch.no_grad():
        model[2].weight[5] *= 1000.0  # an outlier channel in the last layer's input
        model[2].bias[5] *= 1000.0
        model[4].weight[:, 5] /= 1000.0
    compressed, report = w8a8(model, calib=_x(128, 6, seed=2), float_inputs=1)
    assert [name for name, layer in report.layers.items() if layer["float_input"]] == ["4"]
    layers = extract_layers(compressed)
    assert [layer.mode for layer in layers] == ["w8a8", "w8a8", "int8"]
    x = _x(300, 6)
    assert torch.equal(fused_forward(compressed, x, backend="torch"), mlp_reference(x, layers))
    last = nn.Sequential(compressed[4])
    h = _x(20, 64)
    exact, bound = error_bound(h, extract_layers(last))
    assert ((fused_forward(last, h, backend="torch").double() - exact).abs() <= bound).all()
    assert ((compressed[4](h).detach().double() - exact).abs() <= bound).all()


def test_w8a8_with_asymmetric_inputs_is_refused_and_runs_on_its_own_forward(caplog) -> None:
    """The kernels quantize W8A8 inputs on a symmetric grid; a layer with a per-row zero point must not run there."""
    model = w8a8(_mlp([6, 8, 2], nn.SiLU), act_symmetric=False)[0]
    with pytest.raises(Unsupported, match="act_symmetric must be True; got act_symmetric=False"):
        extract_layers(model)
    x = _x(10, 6)
    with caplog.at_level(logging.WARNING):
        fused = FusedMLP(model, backend="torch")
    assert fused.layers is None and "act_symmetric must be True" in fused.reason
    with torch.no_grad():
        assert torch.equal(fused(x), model(x))


def test_layers_with_input_smoothing_or_rotation_are_not_fused() -> None:
    """A W8A8 layer that divides or rotates its input first (SmoothQuant / QuaRot) must not run as plain W8A8."""
    rotated = w8a8(_mlp([6, 8, 2], nn.ReLU))[0]
    rotated[0].config["rotate"] = True
    with pytest.raises(Unsupported, match="smooth must be None and rotate False; got smooth=None, rotate=True"):
        extract_layers(rotated)
    smoothed = w8a8(_mlp([6, 8, 2], nn.ReLU))[0]
    smoothed[2].register_buffer("smooth", torch.ones(8))
    with pytest.raises(Unsupported, match="got smooth=a per-channel tensor, rotate=False"):
        extract_layers(smoothed)


def test_backend_choice_argument_environment_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.delenv("WORKBENCH_KERNEL_BACKEND", raising=False)
    assert select_backend(None, cpu) == "torch"
    monkeypatch.setenv("WORKBENCH_KERNEL_BACKEND", "interpret")
    assert select_backend(None, cpu) == "interpret"
    assert select_backend("torch", cpu) == "torch"
    monkeypatch.setenv("WORKBENCH_KERNEL_BACKEND", "cuda-magic")
    with pytest.raises(ValueError, match="backend must be one of .*got backend='cuda-magic'"):
        select_backend(None, cpu)
    with pytest.raises(ValueError, match="backend 'triton' needs a CUDA tensor; got device=cpu"):
        select_backend("triton", cpu)
    with pytest.raises(ValueError, match="x must have last dimension d_in=6; got shape"):
        FusedMLP(_mlp([6, 8, 2], nn.ReLU), "torch")(torch.zeros(3, 5))


def test_importing_the_package_does_not_import_triton() -> None:
    code = (
        "import sys, torch; before = 'triton' in sys.modules; import workbench.kernels as k, torch.nn as nn; "
        "k.FusedMLP(nn.Sequential(nn.Linear(2, 3)), 'torch')(torch.zeros(1, 2)); "
        "assert before or 'triton' not in sys.modules"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_bench_kernels_cli_json_rows() -> None:
    args = ["bench", "kernels", "--kinds", "acoustic", "--batch", "64", "--repeats", "1", "--num-envs", "4"]
    result = CliRunner().invoke(app, [*args, "--env-steps", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    keys = {"kernel", "backend", "batch", "width", "time_us", "speedup_vs_eager", "speedup_vs_compile", "max_abs_error"}
    assert all(set(row) == keys and row["batch"] == 64 and row["width"] == 128 for row in out["rows"])
    fast = {row["kernel"]: row for row in out["rows"] if row["backend"] == "torch"}
    assert set(fast) == {"fp32", "w8a8", "int8", "int4", "bsr75"} and fast["w8a8"]["max_abs_error"] == 0.0
    goal = set(out["cpu_goal_fast_path_not_slower_than_fp32_eager"])
    assert goal == {"w8a8@128", "int8@128", "int4@128", "bsr75@128"}
    env = {(row["model"], row["kernels"]): row for row in out["env_rows"]}
    assert set(env) == {("fp32", False), ("fp32", True), ("w8a8", False), ("w8a8", True)}
    assert env["fp32", True]["max_reward_diff_vs_fp32"] < 1e-3 and env["fp32", False]["speedup_vs_fp32"] == 1.0
    assert all(row["steps_per_s"] > 0 and row["num_envs"] == 4 for row in env.values())


def test_accelerate_runs_the_compressed_thz_surrogate_through_fused_mlp_in_its_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gymnasium as gym

    import envs  # noqa: F401
    from workbench.surrogates import load

    fp32 = load("thz")
    compressed = copy.copy(fp32)
    compressed.net = w8a8(fp32.net)[0]
    fused = accelerate(compressed, backend="torch")
    assert isinstance(fused.net.net, FusedMLP) and fused.net.net.reason is None  # 276 outputs: torch path
    assert not isinstance(compressed.net.net, FusedMLP) and fused.net.net.general is compressed.net.net
    calls = []
    run = FusedMLP.run
    monkeypatch.setattr(FusedMLP, "run", lambda self, x, backend: calls.append(x.shape) or run(self, x, backend))
    rewards = []
    for model in (compressed, fused):
        venv = gym.make_vec("workbench/NanogapLoop-v0", 4, vectorization_mode="vector_entry_point", model=model)
        venv.reset(seed=0)
        venv.action_space.seed(0)
        rewards.append(np.stack([venv.step(venv.action_space.sample())[1] for _ in range(3)]))
    assert len(calls) >= 3 and all(shape[1] == 13 for shape in calls)  # reset and every step
    np.testing.assert_allclose(rewards[1], rewards[0], rtol=1e-3, atol=1e-4)


def test_accelerate_rejects_models_without_an_mlp() -> None:
    with pytest.raises(ValueError, match="model must be an nn.Module or have a 'net' nn.Module; got object"):
        accelerate(object())
    with pytest.raises(ValueError, match="must hold at least one nn.Sequential MLP"):
        accelerate(nn.Sequential(nn.Linear(3, 3), nn.GELU()))


def test_bench_kernels_cli_rejects_bad_kind_before_work() -> None:
    result = CliRunner().invoke(app, ["bench", "kernels", "--kinds", "moon", "--json"])
    assert result.exit_code == 2 and "kinds must be a non-empty selection" in result.output
