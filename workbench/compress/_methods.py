"""Compression methods applied to whole networks: PTQ (RTN, AdaDim, FlexRound, LRQ), W8A8, BCQ,
scale-only fine-tuning (PEQA, AlphaTuning) and 1×N block pruning with fine-tuning."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._bed import BlockSelection, aligned_select, bed_select, optimal_select
from ._layers import (
    LayerPayload,
    compress_model,
    compressed_layers,
    hadamard,
    quantizable_layers,
    set_module,
    weight_matrix,
)
from ._quant import FlexRoundQuantizer, LRQQuantizer, QuantSpec, adadim_choice, bcq_init, quantize, rtn_params

PTQ_METHODS = ("rtn", "adadim", "flexround", "lrq")
PRUNE_METHODS = ("aligned", "bed", "dp")
BLOCKS = ("layer", "model")
W8A8_ROUNDINGS = ("rtn", "flexround")


@dataclass
class Report:
    """What a method did: wall time of its calibration / selection, s, and per-layer details."""

    seconds: float = 0.0
    layers: dict[str, dict] = field(default_factory=dict)


def _check_layers(model: nn.Module, names: list[str] | None) -> dict[str, nn.Module]:
    layers = dict(quantizable_layers(model))
    if not layers:
        raise ValueError("model must contain at least one nn.Linear or 1×1 convolution; got none")
    if names is None:
        return layers
    for name in names:
        if name not in layers:
            raise ValueError(f"layers must be names of {sorted(layers)}; got {name!r}")
    return {name: layers[name] for name in names}


def _check_calibration(calib: torch.Tensor | None, name: str = "calib") -> torch.Tensor:
    if calib is None or not isinstance(calib, torch.Tensor) or calib.dim() < 2 or calib.shape[0] < 1:
        shape = None if not isinstance(calib, torch.Tensor) else tuple(calib.shape)
        raise ValueError(f"{name} must be a tensor of >= 1 calibration inputs (n, ...); got {name} of shape {shape}")
    return calib


def _check_positive_int(name: str, value: int, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")


class _QuantLayer(nn.Module):
    """A Linear / 1×1 conv whose weight comes from a learnable quantizer (used during calibration)."""

    def __init__(self, layer: nn.Module, quantizer: FlexRoundQuantizer) -> None:
        super().__init__()
        self.layer, self.quantizer = layer, quantizer
        for p in layer.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.quantizer().reshape(self.layer.weight.shape)
        if isinstance(self.layer, nn.Linear):
            return F.linear(x, w, self.layer.bias)
        conv = F.conv1d if isinstance(self.layer, nn.Conv1d) else F.conv2d
        return conv(x, w, self.layer.bias)


def _capture(model: nn.Module, module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Input and output of ``module`` when ``model`` runs on ``x`` (no gradient)."""
    seen: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, args: tuple, out: torch.Tensor) -> None:
        seen["x"], seen["y"] = args[0].detach(), out.detach()

    handle = module.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen["x"], seen["y"]


def _optimise(
    params: list[nn.Parameter],
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    iters: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> None:
    """Adam with a cosine schedule to 0 on random minibatches of indices into n samples."""
    optimiser = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(iters, 1))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(iters):
        loss = loss_fn(torch.randint(n, (min(batch_size, n),), generator=gen))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()


def ptq(
    model: nn.Module,
    spec: QuantSpec,
    method: str = "flexround",
    calib: torch.Tensor | None = None,
    iters: int = 1000,
    lr: float | None = None,
    batch_size: int = 256,
    blocks: str = "layer",
    rank: int | None = None,
    layers: list[str] | None = None,
    seed: int = 0,
) -> tuple[nn.Module, Report]:
    """Post-training weight quantization of every Linear / 1×1 conv (or ``layers``).

    Args:
        model: the fp32 network (not modified).
        spec: the integer grid; ``"adadim"`` overrides the granularity per layer (``"channel"`` or ``"ic"``).
        method: ``"rtn"``, ``"adadim"``, ``"flexround"`` or ``"lrq"``.
        calib: (n, ...) calibration inputs of the network; required by every method but ``"rtn"``.
        iters: optimiser steps per block (FlexRound / LRQ).
        lr: Adam learning rate; None uses 3e-3 (FlexRound) or 9e-4 (LRQ).
        batch_size: calibration rows per step.
        blocks: ``"layer"`` (sequential reconstruction of each layer's output from the already
            quantized inputs) or ``"model"`` (the network's output, all layers at once).
        rank: LRQ rank k; None uses min(C_out, C_in)//4 (at least 1) per layer.
        layers: names of the layers to quantize (default all).
        seed: minibatch seed.

    Returns:
        The compressed model and a :class:`Report` (``seconds`` = calibration time).
    """
    if method not in PTQ_METHODS:
        raise ValueError(f"method must be one of {PTQ_METHODS}; got method={method!r}")
    if blocks not in BLOCKS:
        raise ValueError(f"blocks must be one of {BLOCKS}; got blocks={blocks!r}")
    _check_positive_int("iters", iters, 0)
    _check_positive_int("batch_size", batch_size)
    model = copy.deepcopy(model).eval()
    targets = _check_layers(model, layers)
    for name, layer in targets.items():
        spec.check_shape(tuple(weight_matrix(layer).shape), name)
    if method != "rtn":
        calib = _check_calibration(calib)
    start = time.perf_counter()
    report = Report()
    if method in ("rtn", "adadim"):
        payloads = {}
        for name, layer in targets.items():
            w = weight_matrix(layer)
            layer_spec = spec
            if method == "adadim":
                x, _ = _capture(model, layer, calib)
                granularity = adadim_choice(w, x.reshape(-1, w.shape[1]), spec.bits, spec.symmetric)
                layer_spec = replace(spec, granularity=granularity, group_size=None)
                report.layers[name] = {"granularity": granularity}
            scale, zero = rtn_params(w, layer_spec)
            payloads[name] = LayerPayload(
                codes=quantize(w, scale, zero, layer_spec), spec=layer_spec, scale=scale, zero=zero
            )
        report.seconds = time.perf_counter() - start
        return compress_model(model, payloads), report
    lr = lr if lr is not None else (3e-3 if method == "flexround" else 9e-4)
    work = copy.deepcopy(model)
    work_layers = dict(quantizable_layers(work))
    quantizers: dict[str, FlexRoundQuantizer] = {}
    for name in targets:
        w = weight_matrix(work_layers[name])
        if method == "flexround":
            quantizers[name] = FlexRoundQuantizer(w, spec, learn_col=work_layers[name].weight.dim() > 2)
        else:
            k = rank if rank is not None else max(1, min(w.shape) // 4)
            quantizers[name] = LRQQuantizer(w, spec, k)
    for p in work.parameters():
        p.requires_grad_(False)
    wrapped = {}
    for name in targets:
        wrapped[name] = _QuantLayer(work_layers[name], quantizers[name])
        set_module(work, name, wrapped[name])
    if blocks == "model":
        with torch.no_grad():
            target = model(calib)
        params = [p for q in quantizers.values() for p in q.parameters()]
        _optimise(params, lambda i: F.mse_loss(work(calib[i]), target[i]), len(calib), iters, lr, batch_size, seed)
    else:
        fp_layers = dict(quantizable_layers(model))
        for name in targets:
            _, y_fp = _capture(model, fp_layers[name], calib)
            x_q, _ = _capture(work, wrapped[name], calib)
            layer = wrapped[name]
            _optimise(
                list(quantizers[name].parameters()),
                lambda i, layer=layer, x_q=x_q, y_fp=y_fp: F.mse_loss(layer(x_q[i]), y_fp[i]),
                len(calib),
                iters,
                lr,
                batch_size,
                seed,
            )
    payloads = {}
    for name, quantizer in quantizers.items():
        codes, scale, zero = quantizer.export()
        payloads[name] = LayerPayload(codes=codes, spec=spec, scale=scale, zero=zero)
    report.seconds = time.perf_counter() - start
    return compress_model(model, payloads), report


def w8a8(
    model: nn.Module,
    layers: list[str] | None = None,
    act_layers: list[str] | None = None,
    smooth: float | None = None,
    calib: torch.Tensor | None = None,
    rotate: bool = False,
    float_inputs: int = 0,
    outputs: Callable[[nn.Module], torch.Tensor] | None = None,
    rounding: str = "rtn",
    iters: int = 200,
    act_symmetric: bool = True,
    seed: int = 0,
) -> tuple[nn.Module, Report]:
    """8-bit symmetric per-channel weights and dynamic per-row 8-bit activations (W8A8).

    ``layers`` get int8 weights (default all); of those, ``act_layers`` (default all of them) also
    quantize their inputs per row; the others keep float inputs. ``act_symmetric`` False gives each
    input row an asymmetric grid with a zero point (see ``row_grid``): inputs that follow a SiLU or
    ReLU are one-sided, and a symmetric grid spends half its codes on values they never take.

    ``smooth`` = α in [0, 1] turns on SmoothQuant's scale migration for the layers with quantized
    inputs: per input channel j, s_j = max|X_j|^α / max|W_j|^(1−α) from the fp32 inputs X on the
    calibration inputs ``calib`` (required then); the input is divided by s before its per-row
    quantization and the weight multiplied by s before its own, so outlier input channels stop
    setting every row's activation grid. The report lists each layer's max s / min s.

    ``rotate`` (QuaRot's online Hadamard rotation) multiplies the (smoothed) input of every layer
    with quantized inputs and a power-of-two C_in by the orthonormal Hadamard matrix H and the
    weight by the same H (x·Wᵀ = (x·H)·(W·H)ᵀ), which spreads outlier channels over the whole row
    before both grids are set; other layers are left unrotated (``report.layers[name]["rotated"]``).

    ``float_inputs`` = k > 0 is a sensitivity-based mixed-precision budget: each layer with
    quantized inputs is scored on ``calib`` (required then) by :func:`act_sensitivity`, the
    output error its 8-bit input alone adds, and the k highest-scoring layers keep float inputs
    (their weights stay int8). ``outputs`` (see :func:`act_sensitivity`) scores a quantity the
    task cares about instead of the raw output. ``report.layers[name]`` holds ``"act_sensitivity"``
    and ``"float_input"``. The held-out error plays no part in the choice.

    ``rounding`` = ``"rtn"`` rounds the (smoothed, rotated) weights to nearest; ``"flexround"``
    learns FlexRound's element-wise rounding of them instead (``iters`` Adam steps per layer,
    minibatch ``seed``; ``calib`` required): layer by layer in network order, each layer, fed on
    ``calib`` the input it sees at inference (the output of the layers compressed before it, then
    smoothed, rotated and quantized per row as the layer does), is fitted to the fp32 layer's
    output, so the weight grid also absorbs part of the activation error. The grid stays int8 per
    channel, so the stored format and the kernels are unchanged.
    """
    if smooth is not None and not (isinstance(smooth, float | int) and 0.0 <= smooth <= 1.0):
        raise ValueError(f"smooth must be in [0, 1] or None; got smooth={smooth!r}")
    if rounding not in W8A8_ROUNDINGS:
        raise ValueError(f"rounding must be one of {W8A8_ROUNDINGS}; got rounding={rounding!r}")
    if not isinstance(act_symmetric, bool):
        raise ValueError(f"act_symmetric must be a bool; got act_symmetric={act_symmetric!r}")
    _check_positive_int("iters", iters, 0)
    targets = _check_layers(model, layers)
    with_act = set(targets if act_layers is None else _check_layers(model, act_layers)) & set(targets)
    if isinstance(float_inputs, bool) or not isinstance(float_inputs, int) or not 0 <= float_inputs <= len(with_act):
        raise ValueError(
            f"float_inputs must be an integer in [0, {len(with_act)}] (the layers with quantized inputs); "
            f"got float_inputs={float_inputs!r}"
        )
    if smooth is not None or float_inputs or rounding != "rtn":
        calib = _check_calibration(calib)
    start = time.perf_counter()
    spec = QuantSpec(bits=8, symmetric=True, granularity="channel")
    report = Report()
    payloads = {}
    stored = {}  # the float weight each layer's codes round: W, or W·diag(s)·H
    for name, layer in targets.items():
        w = weight_matrix(layer)
        factor = None
        if smooth is not None and name in with_act:
            x, _ = _capture(model, layer, calib)
            channels = x.movedim(-1 if isinstance(layer, nn.Linear) else 1, 0).reshape(w.shape[1], -1)
            x_max = channels.abs().amax(dim=1)
            w_max = w.abs().amax(dim=0)
            factor = (x_max.clamp_min(1e-5) ** smooth / w_max.clamp_min(1e-5) ** (1.0 - smooth)).clamp(1e-4, 1e4)
            w = w * factor
            report.layers[name] = {"smooth_spread": float(factor.max() / factor.min())}
        turn = rotate and name in with_act and w.shape[1] & (w.shape[1] - 1) == 0
        if turn:
            w = w @ hadamard(w.shape[1])
        if rotate:
            report.layers.setdefault(name, {})["rotated"] = turn
        scale, zero = rtn_params(w, spec)
        stored[name] = w
        payloads[name] = LayerPayload(
            codes=quantize(w, scale, zero, spec),
            spec=spec,
            scale=scale,
            zero=zero,
            act_bits=8 if name in with_act else None,
            act_symmetric=act_symmetric,
            smooth=factor,
            rotate=turn,
        )
    if float_inputs:
        candidates = {name: payloads[name] for name in targets if name in with_act}
        scores = act_sensitivity(model, candidates, calib, outputs)
        chosen = sorted(scores, key=scores.__getitem__, reverse=True)[:float_inputs]
        for name, score in scores.items():
            report.layers.setdefault(name, {}).update(act_sensitivity=score, float_input=name in chosen)
        for name in chosen:  # a float input needs neither migration nor rotation: plain int8 weights
            w = stored[name] = weight_matrix(targets[name])
            scale, zero = rtn_params(w, spec)
            payloads[name] = LayerPayload(codes=quantize(w, scale, zero, spec), spec=spec, scale=scale, zero=zero)
    if rounding == "flexround":
        payloads = _learned_rounding(model, payloads, stored, calib, iters, seed)
    report.seconds = time.perf_counter() - start
    return compress_model(model, payloads), report


def _learned_rounding(
    model: nn.Module,
    payloads: dict[str, LayerPayload],
    stored: dict[str, torch.Tensor],
    calib: torch.Tensor,
    iters: int,
    seed: int,
) -> dict[str, LayerPayload]:
    """FlexRound codes for quantized payloads, layer by layer in network order (see :func:`w8a8`)."""
    fp_layers = dict(quantizable_layers(model))
    done: dict[str, LayerPayload] = {}
    for name, payload in payloads.items():
        work = compress_model(model, done | {name: payload})
        layer = work.get_submodule(name)
        dim = -1 if layer.kind == "linear" else 1
        x, _ = _capture(work, layer, calib)
        x = layer._input(x, dim).movedim(dim, -1).detach()
        y = _capture(model, fp_layers[name], calib)[1].movedim(dim, -1)
        bias = getattr(layer, "bias", None)
        quantizer = FlexRoundQuantizer(stored[name], payload.spec)
        _optimise(
            list(quantizer.parameters()),
            lambda i, x=x, y=y, bias=bias, quantizer=quantizer: F.mse_loss(F.linear(x[i], quantizer(), bias), y[i]),
            len(calib),
            iters,
            3e-3,
            256,
            seed,
        )
        codes, scale, zero = quantizer.export()
        done[name] = replace(payload, codes=codes, scale=scale, zero=zero)
    return done


def act_sensitivity(
    model: nn.Module,
    payloads: dict[str, LayerPayload],
    calib: torch.Tensor,
    outputs: Callable[[nn.Module], torch.Tensor] | None = None,
) -> dict[str, float]:
    """How much each layer's 8-bit input alone perturbs the model's output on ``calib``.

    For each named W8A8 payload (``act_bits`` = 8), the model with only that layer compressed is
    run twice on ``calib`` (n, ...): with the layer's input quantized and with it kept float (same
    int8 weights, smoothing and rotation). The score is the squared difference of the two outputs
    over the fp32 output's mean square (dimensionless): the error the layer's activation grid adds,
    separated from its weight rounding, as in one-layer-at-a-time sensitivity analysis for
    mixed-precision post-training quantization.

    ``outputs`` maps a network shaped like ``model`` to the compared quantity (default: the
    network applied to ``calib``), e.g. what a surrogate's head makes of the network's output.
    """
    calib = _check_calibration(calib)
    if outputs is None:

        def outputs(network: nn.Module) -> torch.Tensor:
            return network(calib)

    scores = {}
    with torch.no_grad():
        reference = outputs(model).float().square().mean().clamp_min(1e-30)
        for name, payload in payloads.items():
            if payload.act_bits != 8:
                raise ValueError(
                    f"payloads must quantize their inputs (act_bits=8); got act_bits={payload.act_bits!r} for {name!r}"
                )
            quantized = outputs(compress_model(model, {name: payload}))
            floating = outputs(compress_model(model, {name: replace(payload, act_bits=None)}))
            scores[name] = float((quantized - floating).square().mean() / reference)
    return scores


def bcq(
    model: nn.Module, q: int, rounds: int = 15, group_size: int | None = None, layers: list[str] | None = None
) -> tuple[nn.Module, Report]:
    """Binary-coding quantization (q bit planes, per-row or per-group α) of every layer; see ``bcq_init``."""
    start = time.perf_counter()
    report = Report()
    payloads = {}
    for name, layer in _check_layers(model, layers).items():
        alpha, planes, history = bcq_init(weight_matrix(layer), q, rounds, group_size)
        payloads[name] = LayerPayload(alpha=alpha, planes=planes)
        report.layers[name] = {"squared_error": history}
    report.seconds = time.perf_counter() - start
    return compress_model(model, payloads), report


def tune_scales(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor],
    n: int,
    steps: int,
    lr: float = 1e-2,
    batch_size: int = 256,
    alpha: str = "all",
    seed: int = 0,
) -> tuple[nn.Module, Report]:
    """PEQA / AlphaTuning: train only the quantization scales of a compressed model on a task loss.

    Integer codes and bit planes are buffers and never change; biases and uncompressed layers
    stay frozen. AdamW with a linear decay to 0; each layer's step size is ``lr`` times the mean
    magnitude of its scales, since 8-bit and 2-bit scales differ by two orders of magnitude.

    Args:
        model: a model from :func:`ptq`, :func:`w8a8` or :func:`bcq` (not modified).
        loss_fn: (model, (batch,) int64 sample indices) → scalar loss on the task data.
        n: number of task samples the indices run over.
        steps: optimiser steps, ≥ 0.
        lr: relative AdamW learning rate (fraction of a layer's mean |scale| per step).
        batch_size: samples per step.
        alpha: for BCQ layers, ``"all"`` trains every αᵢ, ``"alpha1"`` only α₁.
        seed: minibatch seed.

    Returns:
        The tuned copy and a Report with ``layers[name]["trained"]`` (number of trained scalars).
    """
    if alpha not in ("all", "alpha1"):
        raise ValueError(f"alpha must be 'all' or 'alpha1'; got alpha={alpha!r}")
    _check_positive_int("steps", steps, 0)
    _check_positive_int("n", n)
    tuned = copy.deepcopy(model)
    layers = [(name, m) for name, m in compressed_layers(tuned) if m.fmt != "float"]
    if not layers:
        raise ValueError("model must contain quantized layers (from ptq, w8a8 or bcq); got none")
    for p in tuned.parameters():
        p.requires_grad_(False)
    report = Report()
    params, masks = [], {}
    for name, layer in layers:
        p = layer.alpha if layer.fmt == "bcq" else layer.scale
        p.requires_grad_(True)
        params.append(p)
        if layer.fmt == "bcq" and alpha == "alpha1":
            masks[p] = torch.zeros_like(p)
            masks[p][0] = 1.0
        report.layers[name] = {"trained": int(masks[p].sum()) if p in masks else p.numel()}
    groups = [{"params": [p], "lr": lr * float(p.detach().abs().mean().clamp_min(1e-12))} for p in params]
    optimiser = torch.optim.AdamW(groups, lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 1.0 - i / max(steps, 1))
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        loss = loss_fn(tuned, torch.randint(n, (min(batch_size, n),), generator=gen))
        optimiser.zero_grad()
        loss.backward()
        for p, mask in masks.items():
            p.grad.mul_(mask)
        optimiser.step()
        schedule.step()
    for p in params:
        p.requires_grad_(False)
    report.seconds = time.perf_counter() - start
    return tuned.eval(), report


def block_budget(shape: tuple[int, int], sparsity: float, block: int) -> int:
    """Blocks kept in a (C_out, C_in) matrix at ``sparsity``: ⌊(1 − sparsity)·C_out·C_in / N⌋."""
    return int(np.floor((1.0 - sparsity) * shape[0] * shape[1] / block + 1e-9))


def select_blocks(method: str, weight: torch.Tensor, sparsity: float, block: int) -> BlockSelection:
    """1×N block selection of one (C_out, C_in) weight by |W|: ``"aligned"``, ``"bed"`` or ``"dp"``."""
    if method not in PRUNE_METHODS:
        raise ValueError(f"method must be one of {PRUNE_METHODS}; got method={method!r}")
    select = {"aligned": aligned_select, "bed": bed_select, "dp": optimal_select}[method]
    score = weight.detach().abs().double().numpy()
    return select(score, block_budget(tuple(weight.shape), sparsity, block), block)


def prune(
    model: nn.Module,
    sparsity: float,
    method: str = "bed",
    block: int = 16,
    layers: list[str] | None = None,
) -> tuple[nn.Module, dict[str, torch.Tensor], Report]:
    """Prune 1×N blocks (N consecutive output channels at one input channel) by |W|.

    Args:
        model: the fp32 network (not modified).
        sparsity: fraction of each chosen layer's weights removed, 0 ≤ sparsity < 1.
        method: ``"aligned"``, ``"bed"`` (unaligned, BED) or ``"dp"`` (unaligned, exact optimum).
        block: N; must divide C_out of every pruned layer.
        layers: names of the layers to prune; default every layer but the first and the last.

    Returns:
        (pruned copy with the removed weights set to 0, {layer name: (C_out, C_in) bool keep mask},
        Report with ``seconds`` = selection time and per-layer ``score`` = kept Σ|W|).
    """
    if not (isinstance(sparsity, float | int) and not isinstance(sparsity, bool) and 0.0 <= sparsity < 1.0):
        raise ValueError(f"sparsity must be in [0, 1); got sparsity={sparsity!r}")
    if method not in PRUNE_METHODS:
        raise ValueError(f"method must be one of {PRUNE_METHODS}; got method={method!r}")
    _check_positive_int("block", block)
    all_layers = _check_layers(model, None)
    names = list(all_layers)[1:-1] if layers is None else list(_check_layers(model, layers))
    if not names:
        raise ValueError("layers must name at least one layer to prune; the model has no hidden layers")
    for name in names:
        c_out = weight_matrix(all_layers[name]).shape[0]
        if c_out % block:
            raise ValueError(f"block must divide C_out of layer {name}; got block={block}, C_out={c_out}")
    pruned = copy.deepcopy(model)
    pruned_layers = dict(quantizable_layers(pruned))
    masks, report = {}, Report()
    for name in names:
        w = weight_matrix(pruned_layers[name])
        start = time.perf_counter()
        chosen = select_blocks(method, w, float(sparsity), block)
        report.seconds += time.perf_counter() - start
        masks[name] = torch.from_numpy(chosen.mask)
        report.layers[name] = {"score": chosen.score, "blocks": len(chosen.cols)}
        with torch.no_grad():
            pruned_layers[name].weight.mul_(masks[name].reshape(pruned_layers[name].weight.shape))
    return pruned, masks, report


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> Callable[[], None]:
    """A callable that zeroes the pruned weights of ``model`` again (call after every optimiser step)."""
    layers = dict(quantizable_layers(model))

    @torch.no_grad()
    def reapply() -> None:
        for name, mask in masks.items():
            layers[name].weight.mul_(mask.reshape(layers[name].weight.shape))

    return reapply


def sparse_model(
    model: nn.Module, masks: dict[str, torch.Tensor], block: int, spec: QuantSpec | None = None
) -> nn.Module:
    """Pack a pruned model: masked layers as 1×N block lists (float, or RTN codes of ``spec``), the rest dense."""
    layers = dict(quantizable_layers(model))
    payloads = {}
    for name, mask in masks.items():
        w = weight_matrix(layers[name])
        if spec is None:
            payloads[name] = LayerPayload(weight=w, mask=mask, block=block)
        else:
            scale, zero = rtn_params(w, spec)
            payloads[name] = LayerPayload(
                codes=quantize(w, scale, zero, spec), spec=spec, scale=scale, zero=zero, mask=mask, block=block
            )
    return compress_model(model, payloads)
