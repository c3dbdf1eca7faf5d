"""workbench.compress: quantizers, BCQ, block selection, packing, compressed models and bad input."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from workbench.compress import (
    CompressedLinear,
    FlexRoundQuantizer,
    LayerPayload,
    LRQQuantizer,
    QuantSpec,
    act_sensitivity,
    adadim_choice,
    aligned_select,
    apply_masks,
    bcq,
    bcq_init,
    bed_select,
    compress_model,
    compressed_layers,
    dequantize,
    from_blocks,
    from_panels,
    hadamard,
    load_compressed,
    model_bytes,
    optimal_select,
    pack_bits,
    pack_int4,
    prune,
    ptq,
    quantizable_layers,
    quantize,
    row_grid,
    rtn_params,
    save_compressed,
    sparse_model,
    to_blocks,
    to_panels,
    tune_scales,
    unpack_bits,
    unpack_int4,
    w8a8,
)
from workbench.compress._layers import quantize_rows

torch.set_num_threads(1)

SPECS = [
    QuantSpec(bits=b, symmetric=s, granularity=g, group_size=8 if g == "group" else None)
    for b, s, g in itertools.product((2, 4, 8), (False, True), ("tensor", "channel", "group", "ic"))
]


def mlp(seed: int = 0, widths: tuple[int, ...] = (5, 32, 32, 16, 3)) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1]).eval()


def rtn_weight(w: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    scale, zero = rtn_params(w, spec)
    return dequantize(quantize(w, scale, zero, spec), scale, zero, spec)


# --- round-to-nearest grids -------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_rtn_codes_in_range_and_error_at_most_half_a_step(spec):
    w = torch.randn(16, 32)
    scale, zero = rtn_params(w, spec)
    codes = quantize(w, scale, zero, spec)
    assert codes.min() >= spec.qmin and codes.max() <= spec.qmax
    step = scale.repeat_interleave(8, dim=1) if spec.granularity == "group" else scale.expand(16, 32)
    err = (w - dequantize(codes, scale, zero, spec)).abs()
    if not spec.symmetric:  # asymmetric min/max grids hold the whole range: no clipping
        assert torch.all(err <= step / 2 * (1 + 1e-5) + 1e-7)


# --- FlexRound / LRQ ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_flexround_and_lrq_start_bit_exactly_at_rtn(spec):
    w = torch.randn(16, 32)
    expected = rtn_weight(w, spec)
    codes, scale, zero = quantize(w, *rtn_params(w, spec), spec), *rtn_params(w, spec)
    for quantizer in (FlexRoundQuantizer(w, spec, learn_col=True), LRQQuantizer(w, spec, rank=4)):
        with torch.no_grad():
            assert torch.equal(quantizer(), expected)
        got_codes, got_scale, got_zero = quantizer.export()
        assert torch.equal(got_codes, codes) and torch.equal(got_scale, scale) and torch.equal(got_zero, zero)


@given(seed=st.integers(0, 10_000), bits=st.sampled_from([2, 3, 4, 8]))
def test_flexround_start_equals_rtn_for_random_weights(seed, bits):
    w = torch.randn(8, 12, generator=torch.Generator().manual_seed(seed)) * 10 ** (seed % 5 - 2)
    spec = QuantSpec(bits=bits)
    with torch.no_grad():
        assert torch.equal(FlexRoundQuantizer(w, spec)(), rtn_weight(w, spec))


@pytest.mark.parametrize(
    "make", [lambda w, s: FlexRoundQuantizer(w, s, learn_col=True), lambda w, s: LRQQuantizer(w, s, 3)]
)
def test_straight_through_gradients_reach_every_learnable_scale(make):
    w = torch.randn(12, 20)
    quantizer = make(w, QuantSpec(bits=4))
    (quantizer() * torch.randn(12, 20)).sum().backward()
    for name, p in quantizer.named_parameters():
        if name == "lrq_u":  # L = 0 at the start, so ∂/∂U = Lᵀ·(…) = 0; U moves once L has
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_flexround_s2_gradient_is_minus_upstream_times_weight_at_the_start():
    """At the start S = s₁, so ∂Ŵ/∂log S₂ = −s₁·W/S = −W (straight-through; a min/max grid clips nothing)."""
    w = torch.randn(10, 14)
    quantizer = FlexRoundQuantizer(w, QuantSpec(bits=4))
    upstream = torch.randn(10, 14)
    (quantizer() * upstream).sum().backward()
    torch.testing.assert_close(quantizer.log_s2.grad, -upstream * w, rtol=1e-5, atol=1e-6)


def test_flexround_reconstruction_beats_rtn_on_a_small_mlp():
    model = mlp()
    calib = torch.rand(256, 5)
    spec = QuantSpec(bits=3)
    with torch.no_grad():
        target = model(calib)
    errors = {}
    for method in ("rtn", "flexround", "lrq"):
        q, _ = ptq(model, spec, method, calib, iters=80, blocks="model")
        with torch.no_grad():
            errors[method] = float((q(calib) - target).pow(2).mean())
    assert errors["flexround"] < errors["rtn"] and errors["lrq"] < errors["rtn"]


def test_layerwise_flexround_runs_on_1x1_convolutions_and_matches_the_linear_path():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv1d(4, 8, 1), nn.SiLU(), nn.Conv1d(8, 3, 1)).eval()
    linear = nn.Sequential(nn.Linear(4, 8), nn.SiLU(), nn.Linear(8, 3)).eval()
    with torch.no_grad():
        for c, lin in ((conv[0], linear[0]), (conv[2], linear[2])):
            lin.weight.copy_(c.weight[:, :, 0])
            lin.bias.copy_(c.bias)
    spec = QuantSpec(bits=4)
    q_conv, _ = ptq(conv, spec, "rtn")
    q_lin, _ = ptq(linear, spec, "rtn")
    x = torch.randn(2, 4, 7)
    torch.testing.assert_close(q_conv(x), q_lin(x.transpose(1, 2)).transpose(1, 2))
    q_flex, _ = ptq(conv, spec, "flexround", torch.randn(32, 4, 7), iters=5, blocks="layer")
    assert q_flex(x).shape == (2, 3, 7)


# --- PEQA and AlphaTuning -------------------------------------------------------------------


def _codes(model: nn.Module) -> list[torch.Tensor]:
    return [m._unpacked().clone() for _, m in compressed_layers(model)]


@pytest.mark.parametrize("start", ["int4", "bcq"])
def test_scale_tuning_never_changes_an_integer_code_or_bit_plane(start):
    model = mlp()
    x, y = torch.rand(256, 5), torch.randn(256, 3)
    q = ptq(model, QuantSpec(bits=4), "rtn")[0] if start == "int4" else bcq(model, q=2)[0]
    packed_before = [dict(m.named_buffers()) for _, m in compressed_layers(q)]
    tuned, report = tune_scales(q, lambda m, i: (m(x[i]) - y[i]).pow(2).mean(), 256, steps=30, lr=1e-2)
    for before, (_, layer) in zip(packed_before, compressed_layers(tuned)):
        for name, tensor in layer.named_buffers():
            assert torch.equal(tensor, before[name]), name
    for a, b in zip(_codes(q), _codes(tuned)):
        assert torch.equal(a, b)
    scales = [(m.alpha if m.fmt == "bcq" else m.scale) for _, m in compressed_layers(tuned)]
    original = [(m.alpha if m.fmt == "bcq" else m.scale) for _, m in compressed_layers(q)]
    assert any(not torch.equal(a, b) for a, b in zip(scales, original))
    trained = sum(v["trained"] for v in report.layers.values())
    assert trained == sum(s.numel() for s in scales)
    with torch.no_grad():
        assert (tuned(x) - y).pow(2).mean() < (q(x) - y).pow(2).mean()


def test_alphatuning_alpha1_trains_only_the_first_plane_scale():
    model = mlp()
    q, _ = bcq(model, q=3)
    x, y = torch.rand(64, 5), torch.randn(64, 3)
    tuned, report = tune_scales(q, lambda m, i: (m(x[i]) - y[i]).pow(2).mean(), 64, steps=10, lr=1e-2, alpha="alpha1")
    for (_, a), (_, b) in zip(compressed_layers(q), compressed_layers(tuned)):
        assert torch.equal(a.alpha[1:], b.alpha[1:]) and not torch.equal(a.alpha[0], b.alpha[0])
    assert all(v["trained"] == a.alpha[0].numel() for v, (_, a) in zip(report.layers.values(), compressed_layers(q)))


# --- BCQ -----------------------------------------------------------------------------------------


@given(seed=st.integers(0, 10_000), q=st.integers(1, 4), group=st.sampled_from([None, 4]))
def test_bcq_error_is_non_increasing_over_rounds(seed, q, group):
    w = torch.randn(6, 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    _, _, history = bcq_init(w, q, rounds=8, group_size=group)
    assert all(b <= a * (1 + 1e-12) + 1e-12 for a, b in zip(history, history[1:]))


def test_bcq_with_one_plane_has_alpha_equal_to_mean_absolute_weight():
    w = torch.randn(5, 12, dtype=torch.float64)
    for rounds in (0, 5):
        alpha, planes, _ = bcq_init(w, 1, rounds)
        torch.testing.assert_close(alpha[0, :, 0], w.abs().mean(dim=1))
        assert torch.equal(planes[0], torch.where(w >= 0, 1, -1).to(torch.int8))


def test_bcq_with_enough_bit_planes_reconstructs_the_weights():
    w = torch.randn(8, 32, dtype=torch.float64)
    errors = []
    for q in (2, 4, 8):
        alpha, planes, _ = bcq_init(w, q, rounds=3)
        errors.append(float((w - (alpha * planes).sum(0)).norm() / w.norm()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < min(3e-2, errors[0] / 4)


# --- block selection ------------------------------------------------------------------------------


def _brute_force(score: np.ndarray, m: int, block: int) -> float:
    c_out, c_in = score.shape
    slots = [(k, s) for k in range(c_in) for s in range(c_out - block + 1)]
    best = -1.0
    for combo in itertools.combinations(slots, m):
        mask = np.zeros_like(score, dtype=int)
        for k, s in combo:
            mask[s : s + block, k] += 1
        if mask.max() <= 1:
            best = max(best, float(score[mask == 1].sum()))
    return best


def _check_selection(selection, score: np.ndarray, m: int, block: int) -> None:
    assert selection.mask.sum() == m * block
    assert len(selection.cols) == m
    cover = np.zeros(score.shape, dtype=int)
    for k, s in zip(selection.cols, selection.starts):
        assert 0 <= s <= score.shape[0] - block
        cover[s : s + block, k] += 1
    assert cover.max() <= 1 and np.array_equal(cover == 1, selection.mask)
    assert selection.score == pytest.approx(score[selection.mask].sum())


@pytest.mark.parametrize("seed", range(4))
def test_exact_selection_is_optimal_against_brute_force(seed):
    score = np.random.default_rng(seed).random((6, 2))
    for m in (1, 2, 3):
        assert optimal_select(score, m, 2).score == pytest.approx(_brute_force(score, m, 2))


@given(seed=st.integers(0, 10_000), block=st.sampled_from([1, 2, 3]), m=st.integers(1, 4), ties=st.booleans())
def test_exact_selection_is_optimal_against_brute_force_on_several_channels_and_ties(seed, block, m, ties):
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 3, (7, 3)).astype(float) if ties else rng.random((7, 3))
    m = min(m, 3 * (7 // block))
    selection = optimal_select(score, m, block)
    _check_selection(selection, score, m, block)
    assert selection.score == pytest.approx(_brute_force(score, m, block))


def _greedy_reference(score: np.ndarray, m: int, block: int) -> np.ndarray:
    """BED's greedy on explicitly compacted lists (first best window on ties, lowest channel first)."""
    c_out, c_in = score.shape
    values = [list(score[:, k]) for k in range(c_in)]
    rows = [list(range(c_out)) for _ in range(c_in)]
    mask = np.zeros(score.shape, dtype=bool)
    for _ in range(m):
        best, pick = -1.0, None
        for k in range(c_in):
            for a in range(len(values[k]) - block + 1):
                if sum(values[k][a : a + block]) > best:
                    best, pick = sum(values[k][a : a + block]), (k, a)
        k, a = pick
        mask[rows[k][a : a + block], k] = True
        del values[k][a : a + block], rows[k][a : a + block]
    return mask


@given(seed=st.integers(0, 10_000), block=st.sampled_from([1, 2, 3, 5]), fill=st.floats(0.0, 1.0))
def test_bed_picks_the_same_windows_as_the_greedy_on_compacted_lists(seed, block, fill):
    score = np.random.default_rng(seed).integers(0, 4, (20, 4)).astype(float)  # integer sums: exact ties
    m = int(fill * 4 * (20 // block))
    selection = bed_select(score, m, block)
    _check_selection(selection, score, m, block)
    assert np.array_equal(selection.mask, _greedy_reference(score, m, block))


@given(seed=st.integers(0, 10_000), block=st.sampled_from([2, 4, 8]), fill=st.floats(0.05, 0.95))
def test_bed_is_close_to_the_optimum_and_both_keep_exactly_m_blocks(seed, block, fill):
    score = np.abs(np.random.default_rng(seed).standard_normal((32, 16)))
    m = max(1, int(fill * 16 * (32 // block)))
    bed, dp, aligned = bed_select(score, m, block), optimal_select(score, m, block), aligned_select(score, m, block)
    for selection in (bed, dp, aligned):
        _check_selection(selection, score, m, block)
    assert dp.score >= bed.score - 1e-9 and dp.score >= aligned.score - 1e-9
    assert bed.score >= 0.9 * dp.score
    assert np.all(aligned.starts % block == 0)


def test_pruning_keeps_the_budget_and_fine_tuning_keeps_pruned_weights_at_zero():
    model = mlp(widths=(5, 32, 32, 32, 3))
    pruned, masks, report = prune(model, 0.5, "bed", block=8)
    assert set(masks) == {"2", "4"}
    x, y = torch.rand(128, 5), torch.randn(128, 3)
    reapply = apply_masks(pruned, masks)
    optimiser = torch.optim.SGD(pruned.parameters(), lr=0.1)
    for _ in range(3):
        optimiser.zero_grad()
        (pruned(x) - y).pow(2).mean().backward()
        optimiser.step()
        reapply()
    for name, mask in masks.items():
        assert mask.sum() == 32 * 32 // 2
        assert torch.all(pruned.get_submodule(name).weight[~mask] == 0)
    packed = sparse_model(pruned, masks, 8)
    with torch.no_grad():
        torch.testing.assert_close(packed(x), pruned(x))
    assert report.seconds > 0 and all(v["blocks"] == 64 for v in report.layers.values())


# --- packing --------------------------------------------------------------------------------


@given(seed=st.integers(0, 10_000), k=st.integers(1, 9), signed=st.booleans())
def test_int4_packing_round_trips_with_sign_extension(seed, k, signed):
    lo, hi = (-8, 8) if signed else (0, 16)
    codes = torch.randint(lo, hi, (k, 5), generator=torch.Generator().manual_seed(seed), dtype=torch.int16)
    packed = pack_int4(codes)
    assert packed.dtype == torch.uint8 and packed.shape == ((k + 1) // 2, 5)
    assert torch.equal(unpack_int4(packed, k, signed).to(torch.int16), codes)


def test_bit_planes_and_panels_round_trip():
    planes = torch.where(torch.rand(3, 13, 4) > 0.5, 1, -1).to(torch.int8)
    packed = pack_bits(planes)
    assert packed.shape == (3, 2, 4)
    assert torch.equal(unpack_bits(packed, 13), planes)
    w = torch.randn(32, 6)
    selection = bed_select(w.abs().numpy(), 5, 8)
    mask = torch.from_numpy(selection.mask)
    panels = to_panels(w.t(), mask.t(), 8)
    assert torch.equal(from_panels(panels, 6).t(), w * mask)
    assert panels["panel_ptr"][-1] == len(panels["panel_cols"]) == len(panels["panel_values"])
    blocks = to_blocks(w, mask, 8)
    assert torch.equal(from_blocks(blocks, 6), w * mask) and blocks["block_values"].shape == (5, 8)
    starts = torch.repeat_interleave(torch.arange(32), (blocks["block_ptr"][1:] - blocks["block_ptr"][:-1]).long())
    assert sorted(zip(starts.tolist(), blocks["block_cols"].tolist())) == sorted(
        zip(selection.starts.tolist(), selection.cols.tolist())
    )


def test_block_sparse_layer_stores_m_blocks_and_derives_kernel_panels():
    model = mlp(widths=(5, 32, 32, 3))
    pruned, masks, _ = prune(model, 0.75, "bed", block=8)
    packed = sparse_model(pruned, masks, 8, QuantSpec(bits=4, symmetric=True))
    layer = dict(compressed_layers(packed))["2"]
    assert layer.block_values.shape == (32 * 32 // 4 // 8, 8) and layer.block_values.dtype == torch.int8
    panels = layer.tile_panels()
    codes = from_panels(panels, 32).t()
    torch.testing.assert_close(layer.dense_weight(), layer.scale * codes.float(), rtol=0, atol=0)


@pytest.mark.parametrize("spec", [QuantSpec(bits=4, symmetric=True), QuantSpec(bits=3), QuantSpec(bits=8)], ids=str)
def test_compressed_layer_dequantizes_its_packed_codes_exactly(spec):
    model = mlp()
    q, _ = ptq(model, spec, "rtn")
    for (_, layer), original in zip(compressed_layers(q), (m for m in model if isinstance(m, nn.Linear))):
        assert layer.fmt == ("int4" if spec.bits <= 4 else "int8")
        torch.testing.assert_close(layer.dense_weight(), rtn_weight(original.weight.detach(), spec), rtol=0, atol=0)
    assert model_bytes(q) < model_bytes(model) / (2.5 if spec.bits <= 4 else 1.5)


# --- compressed models ------------------------------------------------------------------------


def test_w8a8_quantizes_inputs_per_row_and_stays_close():
    model = mlp()
    q, _ = w8a8(model)
    x = torch.rand(64, 5)
    layer = compressed_layers(q)[0][1]
    s = x.abs().amax(dim=1, keepdim=True) / 127
    expected = torch.nn.functional.linear(torch.round(x / s) * s, layer.dense_weight(), layer.bias)
    torch.testing.assert_close(layer(x), expected)
    with torch.no_grad():
        assert (q(x) - model(x)).abs().max() < 0.05 * model(x).abs().max()


@given(
    seed=st.integers(0, 10_000),
    shift=st.sampled_from([-3.0, -0.278, 0.0, 1.0]),
    spread=st.floats(1e-3, 1e3),
)
def test_asymmetric_row_grid_round_trips_within_half_a_step_and_halves_the_step_of_one_sided_rows(seed, shift, spread):
    x = (torch.randn(8, 64, generator=torch.Generator().manual_seed(seed)).abs() + shift) * spread
    scale, zero = row_grid(x, 8, dim=1, symmetric=False)
    codes = torch.round(x / scale) + zero
    assert codes.min() >= -128 and codes.max() <= 127 and torch.equal(zero, torch.round(zero))
    assert ((codes - zero) * scale - x).abs().max() <= 0.5001 * scale.max()
    torch.testing.assert_close(quantize_rows(x, 8, 1, symmetric=False), (codes - zero) * scale)
    sym_scale, sym_zero = row_grid(x, 8, dim=1)
    assert not sym_zero.any()
    assert (scale <= sym_scale * 127 / 255 * (1 + 1e-6)).all() if shift >= 0 else (scale <= sym_scale).all()
    with pytest.raises(ValueError, match=r"bits must be an integer in \[2, 8\]; got bits=9"):
        row_grid(x, 9, dim=1)


def test_asymmetric_w8a8_integer_dot_with_zero_point_correction_matches_the_float_reference():
    """The kernel form s_x·s_w·(Σ q·c − z·Σ c) + b equals the fake-quant forward, and stays within the
    int8 input error (s_x/2)·Σ|Ŵ| of the float input's output."""
    model = mlp()
    q, _ = w8a8(model, act_symmetric=False)
    layer = dict(compressed_layers(q))["2"]
    assert layer.act_symmetric is False and layer.config["act_symmetric"] is False
    x = torch.nn.functional.silu(torch.randn(64, 32) * 3)  # one-sided, like every hidden input of the surrogates
    s_x, z = row_grid(x, 8, dim=1, symmetric=False)
    q_x = torch.clamp(torch.round(x / s_x) + z, -128, 127).to(torch.int64)
    codes = layer.codes.t().to(torch.int64)  # (C_out, C_in) int8 codes
    acc = q_x @ codes.t() - z.to(torch.int64) * codes.sum(dim=1)  # integer dot, zero point corrected
    y = (s_x * layer.scale.t()) * acc.double() + layer.bias
    with torch.no_grad():
        torch.testing.assert_close(y.float(), layer(x), rtol=1e-5, atol=1e-5)
        exact = torch.nn.functional.linear(x, layer.dense_weight(), layer.bias)
        bound = s_x / 2 * layer.dense_weight().abs().sum(dim=1)
        assert ((y - exact).abs() <= bound + 1e-5).all()


def test_asymmetric_inputs_lower_the_w8a8_error_of_one_sided_inputs_and_save_and_load(tmp_path):
    """The hidden layers' inputs follow a SiLU (≥ −0.278): a grid with a zero point spreads 255 steps over
    [min, max] instead of [−amax, amax], so the error their 8-bit grids add to int8 weights alone drops
    (here to about 0.6×: the toy's small activations spend a good part of their range below 0)."""
    model, x, hidden = mlp(), torch.randn(512, 5) * 2, ["2", "4", "6"]
    weights_only = w8a8(model, act_layers=[])[0]
    sym = w8a8(model, act_layers=hidden)[0]
    asym = w8a8(model, act_layers=hidden, act_symmetric=False)[0]
    with torch.no_grad():
        ref = weights_only(x)
        errors = [float((net(x) - ref).pow(2).mean()) for net in (sym, asym)]
    assert 0 < errors[1] < 0.75 * errors[0]
    loaded = load_compressed(save_compressed(asym, tmp_path / "asym.pt", {"model": "toy"}), mlp(seed=3))
    assert all(m.act_symmetric is False for _, m in compressed_layers(loaded))
    with torch.no_grad():
        assert torch.equal(loaded(x), asym(x))


def test_smoothquant_factors_follow_the_published_rule_and_the_forward_divides_the_input_by_them():
    model = mlp()
    calib = torch.randn(128, 5) * torch.tensor([100.0, 1.0, 0.1, 1.0, 1.0])
    alpha = 0.5
    q, report = w8a8(model, smooth=alpha, calib=calib)
    layer = compressed_layers(q)[0][1]
    w = model[0].weight.detach()
    expected = calib.abs().amax(0) ** alpha / w.abs().amax(0) ** (1 - alpha)
    torch.testing.assert_close(layer.smooth, expected)
    assert report.layers["0"]["smooth_spread"] == pytest.approx(float(expected.max() / expected.min()), rel=1e-6)
    x = calib[:16]
    xs = x / layer.smooth
    step = xs.abs().amax(dim=1, keepdim=True) / 127
    ref = torch.nn.functional.linear(torch.round(xs / step) * step, layer.dense_weight(), layer.bias)
    torch.testing.assert_close(layer(x), ref)
    weight_step = (w * expected).abs().amax(dim=1, keepdim=True) / 127  # the int8 grid of W·diag(s)
    assert ((layer.dense_weight() - w * expected).abs() <= weight_step / 2 + 1e-6).all()


def test_smoothquant_lowers_the_error_of_an_input_with_an_outlier_channel():
    torch.manual_seed(0)
    layer = nn.Linear(16, 32)
    model = nn.Sequential(layer).eval()
    scales = torch.ones(16)
    scales[3] = 300.0
    calib = torch.randn(256, 16) * scales
    with torch.no_grad():
        layer.weight[:, 3] /= 300.0  # the outlier channel matters as much as the others
        ref = model(calib)
        plain = (w8a8(model)[0](calib) - ref).pow(2).mean()
        smooth = (w8a8(model, smooth=0.5, calib=calib)[0](calib) - ref).pow(2).mean()
    assert smooth < 0.2 * plain


def test_hadamard_is_orthonormal_and_refuses_other_sizes():
    h = hadamard(16)
    torch.testing.assert_close(h @ h.t(), torch.eye(16))
    assert set(torch.unique(h.abs()).tolist()) == {0.25}
    with pytest.raises(ValueError, match="n must be a power of two >= 1; got n=6"):
        hadamard(6)


def test_rotated_w8a8_quantizes_the_rotated_input_against_the_rotated_weight():
    model = mlp()
    q, report = w8a8(model, rotate=True)
    rotated = {name: layer["rotated"] for name, layer in report.layers.items()}
    assert rotated == {"0": False, "2": True, "4": True, "6": True}  # C_in 5, 32, 32, 16: powers of two turn
    layer = dict(compressed_layers(q))["2"]
    h, w = hadamard(32), model[2].weight.detach()
    step = (w @ h).abs().amax(dim=1, keepdim=True) / 127
    assert ((layer.dense_weight() - w @ h).abs() <= step / 2 + 1e-6).all()
    x = torch.randn(16, 32)
    xr = x @ h
    s = xr.abs().amax(dim=1, keepdim=True) / 127
    torch.testing.assert_close(
        layer(x), torch.nn.functional.linear(torch.round(xr / s) * s, layer.dense_weight(), layer.bias)
    )


def _outlier_mlp() -> nn.Sequential:
    """mlp() whose layer "4" sees one input channel 1,000× larger than the rest (same function up to rounding)."""
    model = mlp()
    with torch.no_grad():
        model[2].weight[7] *= 1000.0
        model[2].bias[7] *= 1000.0
        model[4].weight[:, 7] /= 1000.0
    return model


def test_mixed_precision_w8a8_keeps_the_float_input_of_the_most_sensitive_layer():
    model, calib = _outlier_mlp(), torch.randn(256, 5, generator=torch.Generator().manual_seed(1))
    q, report = w8a8(model, calib=calib, float_inputs=1)
    scores = {name: layer["act_sensitivity"] for name, layer in report.layers.items()}
    assert max(scores, key=scores.__getitem__) == "4"
    assert {name: layer["float_input"] for name, layer in report.layers.items()} == {
        "0": False,
        "2": False,
        "4": True,
        "6": False,
    }
    layers = dict(compressed_layers(q))
    assert layers["4"].act_bits is None and all(layers[n].act_bits == 8 for n in ("0", "2", "6"))
    # the float-input layer holds the plain int8 RTN weight and multiplies its input unchanged
    w = model[4].weight.detach()
    torch.testing.assert_close(layers["4"].dense_weight(), rtn_weight(w, QuantSpec(bits=8, symmetric=True)))
    x = torch.randn(8, 32)
    assert torch.equal(layers["4"](x), torch.nn.functional.linear(x, layers["4"].dense_weight(), layers["4"].bias))
    with torch.no_grad():
        ref = model(calib)
        plain = (w8a8(model)[0](calib) - ref).pow(2).mean()
        mixed = (q(calib) - ref).pow(2).mean()
    assert mixed < 0.1 * plain


@pytest.mark.parametrize("first_output_only", [False, True])
def test_act_sensitivity_is_the_output_change_of_quantizing_one_input_over_the_output_power(first_output_only):
    model, calib = mlp(), torch.randn(64, 5, generator=torch.Generator().manual_seed(2))
    payloads = {}
    for name in ("2", "6"):
        w = dict(quantizable_layers(model))[name].weight.detach()
        spec = QuantSpec(bits=8, symmetric=True)
        scale, zero = rtn_params(w, spec)
        payloads[name] = LayerPayload(
            codes=quantize(w, scale, zero, spec), spec=spec, scale=scale, zero=zero, act_bits=8
        )

    def outputs(network: nn.Module) -> torch.Tensor:
        return network(calib)[:, :1] if first_output_only else network(calib)

    scores = act_sensitivity(model, payloads, calib, outputs if first_output_only else None)
    with torch.no_grad():
        power = outputs(model).square().mean()
        for name, payload in payloads.items():
            quantized = outputs(compress_model(model, {name: payload}))
            floating = outputs(compress_model(model, {name: replace(payload, act_bits=None)}))
            assert scores[name] == pytest.approx(float((quantized - floating).square().mean() / power), rel=1e-6)
            assert scores[name] > 0


def test_smoothed_weight_only_layer_still_divides_its_input():
    """Codes holding W·diag(s) need x / s even when the input stays float (used by act_sensitivity)."""
    layer = nn.Linear(8, 4)
    s = torch.linspace(0.5, 4.0, 8)
    w = layer.weight.detach() * s
    spec = QuantSpec(bits=8, symmetric=True)
    scale, zero = rtn_params(w, spec)
    payload = LayerPayload(codes=quantize(w, scale, zero, spec), spec=spec, scale=scale, zero=zero, smooth=s)
    packed = CompressedLinear.from_payload(layer, payload)
    x = torch.randn(5, 8)
    torch.testing.assert_close(packed(x), torch.nn.functional.linear(x / s, packed.dense_weight(), layer.bias))


def test_mixed_precision_w8a8_saves_and_loads_bit_for_bit(tmp_path):
    model, calib = _outlier_mlp(), torch.randn(64, 5)
    q = w8a8(model, calib=calib, rotate=True, float_inputs=2)[0]
    path = save_compressed(q, tmp_path / "mixed.pt", {"model": "toy"})
    loaded = load_compressed(path, mlp(seed=3))
    x = torch.randn(16, 5)
    with torch.no_grad():
        assert torch.equal(loaded(x), q(x))
    assert [m.act_bits for _, m in compressed_layers(loaded)] == [m.act_bits for _, m in compressed_layers(q)]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"float_inputs": -1}, r"float_inputs must be an integer in \[0, 4\] .* got float_inputs=-1"),
        ({"float_inputs": 5}, r"float_inputs must be an integer in \[0, 4\] .* got float_inputs=5"),
        ({"float_inputs": True}, r"float_inputs must be an integer in \[0, 4\] .* got float_inputs=True"),
        ({"float_inputs": 2, "act_layers": ["2"], "calib": torch.ones(4, 5)}, r"in \[0, 1\] .* got float_inputs=2"),
        ({"float_inputs": 1}, "calib must be a tensor of >= 1 calibration inputs .* got calib of shape None"),
    ],
)
def test_mixed_precision_w8a8_refuses_a_bad_budget_or_missing_calibration(options, match):
    with pytest.raises(ValueError, match=match):
        w8a8(mlp(), **options)


@pytest.mark.parametrize("rotate", [False, True])
def test_w8a8_learned_rounding_starts_at_rtn_and_lowers_the_calibration_error(rotate):
    model, calib = _outlier_mlp(), torch.randn(512, 5, generator=torch.Generator().manual_seed(2))
    options = {"calib": calib, "rotate": rotate, "float_inputs": 1}
    rtn = w8a8(model, **options)[0]
    start = w8a8(model, rounding="flexround", iters=0, **options)[0]
    learned = w8a8(model, rounding="flexround", iters=150, **options)[0]
    for (_, a), (_, b), (_, c) in zip(compressed_layers(rtn), compressed_layers(start), compressed_layers(learned)):
        assert torch.equal(a.codes, b.codes) and torch.equal(a.scale, b.scale)
        assert (a.fmt, a.act_bits, a.config["rotate"]) == (c.fmt, c.act_bits, c.config["rotate"])
    with torch.no_grad():
        target = model(calib)
        before, after = [float((net(calib) - target).pow(2).mean()) for net in (rtn, learned)]
    assert after < before
    assert any(
        not torch.equal(a.codes, c.codes) for (_, a), (_, c) in zip(compressed_layers(rtn), compressed_layers(learned))
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"rounding": "adaround"}, r"rounding must be one of \('rtn', 'flexround'\); got rounding='adaround'"),
        ({"act_symmetric": "no"}, r"act_symmetric must be a bool; got act_symmetric='no'"),
        ({"rounding": "flexround"}, "calib must be a tensor of >= 1 calibration inputs .* got calib of shape None"),
        (
            {"rounding": "flexround", "iters": -1, "calib": torch.ones(4, 5)},
            r"iters must be an integer >= 0; got iters=-1",
        ),
    ],
)
def test_w8a8_learned_rounding_refuses_a_bad_option_or_missing_calibration(options, match):
    with pytest.raises(ValueError, match=match):
        w8a8(mlp(), **options)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"smooth": 1.5, "calib": torch.ones(4, 5)}, r"smooth must be in \[0, 1\] or None; got smooth=1.5"),
        ({"smooth": 0.5}, "calib must be a tensor of >= 1 calibration inputs .* got calib of shape None"),
    ],
)
def test_smoothquant_refuses_a_bad_strength_or_missing_calibration(options, match):
    with pytest.raises(ValueError, match=match):
        w8a8(mlp(), **options)


def test_adadim_picks_input_channels_when_input_scales_differ():
    """Weights and inputs with column scales that cancel: every input matters, per-row grids drop the small columns."""
    scales = torch.tensor([1e-3, 1.0, 1e-2, 10.0])
    w, x = torch.randn(16, 4) * scales, torch.randn(64, 4) / scales
    assert adadim_choice(w, x, bits=4) == "ic"
    assert adadim_choice(torch.randn(16, 4), torch.randn(64, 4), bits=4) == "channel"


def test_save_and_load_round_trip_and_refuse_another_model(tmp_path):
    model = mlp(widths=(8, 32, 32, 16, 3))
    pruned, masks, _ = prune(model, 0.5, "dp", block=8)
    parts = {
        "int4": ptq(model, QuantSpec(bits=4, granularity="group", group_size=8), "rtn")[0],
        "bcq": bcq(model, q=2)[0],
        "sparse-int": sparse_model(pruned, masks, 8, QuantSpec(bits=8)),
        "w8a8": w8a8(model)[0],
    }
    x = torch.rand(16, 8)
    for name, compressed in parts.items():
        path = save_compressed(compressed, tmp_path / f"{name}.pt", {"model": "toy"})
        loaded = load_compressed(path, mlp(seed=1, widths=(8, 32, 32, 16, 3)), expect={"model": "toy"})
        with torch.no_grad():
            assert torch.equal(loaded(x), compressed(x)), name
        assert [n for n, _ in compressed_layers(loaded)] == [n for n, _ in compressed_layers(compressed)]
        assert all(isinstance(m, CompressedLinear) for _, m in compressed_layers(loaded))
    with pytest.raises(ValueError, match="checkpoint model must be 'thz'; got model='toy'"):
        load_compressed(tmp_path / "int4.pt", mlp(), expect={"model": "thz"})
    with pytest.raises(ValueError, match=r"layer 0 shape must be \(32, 5\); got shape=\(32, 8\)"):
        load_compressed(tmp_path / "int4.pt", mlp())


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: QuantSpec(bits=1), r"bits must be an integer in \[2, 8\]; got bits=1"),
        (lambda: QuantSpec(bits=16), r"bits must be an integer in \[2, 8\]; got bits=16"),
        (lambda: QuantSpec(granularity="group"), "group_size must be an integer >= 1 .* got group_size=None"),
        (
            lambda: ptq(mlp(), QuantSpec(granularity="group", group_size=3), "rtn"),
            "group_size must divide the input channels of 0; got group_size=3, C_in=5",
        ),
        (
            lambda: ptq(mlp(), QuantSpec(), "flexround", None),
            r"calib must be a tensor of >= 1 calibration inputs .* got calib of shape None",
        ),
        (lambda: ptq(mlp(), QuantSpec(), "gptq"), "method must be one of .* got method='gptq'"),
        (lambda: prune(mlp(), 1.0), r"sparsity must be in \[0, 1\); got sparsity=1.0"),
        (lambda: prune(mlp(), -0.1), r"sparsity must be in \[0, 1\); got sparsity=-0.1"),
        (lambda: prune(mlp(), 0.5, block=5), "block must divide C_out of layer 2; got block=5, C_out=32"),
        (lambda: bed_select(np.ones((8, 2)), 5, 4), r"n_blocks must be an integer in \[0, .*=4\]; got n_blocks=5"),
        (lambda: aligned_select(np.ones((10, 2)), 1, 4), "block must divide C_out=10 for aligned blocks; got block=4"),
        (
            lambda: LRQQuantizer(torch.ones(4, 6), QuantSpec(), rank=5),
            r"rank must be an integer in \[1, .*=4\]; got rank=5",
        ),
        (lambda: bcq_init(torch.ones(4, 6), 2, group_size=4), "group_size must divide C_in=6; got group_size=4"),
    ],
)
def test_bad_input_raises_value_error_naming_parameter_bound_and_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
