"""Pure-torch references of the fused kernels, their float error bound, and the dequantized layers the CPU path reuses.

The reference evaluates exactly what the kernels evaluate, in the same order:

* weight-only layers: W = (c − z)·s (per group of input channels), y = act(h·W + b);
* W8A8 layers: s_x = max(amax|h|/127, 1e-12) per row, q = clamp(round-half-even(h/s_x), −128, 127),
  acc = q·C (int32), y = act((acc·s_x)·s_w + b).

Activations are torch's own (the kernels build theirs from ``sigmoid``, a few ulps apart, which
:func:`error_bound` allows for). The W8A8 dot is formed as a float32 product of integer-valued tensors, which is exact: every
partial sum is an integer of magnitude ≤ K·128·127 < 2²⁴ for K ≤ 256, so the result equals the
int32 accumulation bit for bit, in any summation order (and runs at BLAS speed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from workbench.compress import unpack_int4

from ._spec import FusedLayer

QMAX = 127
SCALE_FLOOR = 1e-12
UNIT_ROUNDOFF = 2.0**-24
ACT_LIPSCHITZ = 1.13  # ≥ max |act'| of SiLU (1.0998), GELU-tanh (1.129), ReLU and tanh (1)


@dataclass(frozen=True)
class PreparedLayer:
    """A layer ready for torch: ``weight`` (K, N) float32 (dequantized, or the integer codes for W8A8)."""

    mode: str
    weight: torch.Tensor
    bias: torch.Tensor
    act: str
    w_scale: torch.Tensor | None = None  # (1, N) per-output-channel weight scale of a W8A8 layer
    codes: torch.Tensor | None = None  # (K, N) int8 codes of a W8A8 layer


def codes_matrix(layer: FusedLayer) -> torch.Tensor:
    """The (K, N) integer codes of a quantized layer (int4 unpacked), as int16."""
    if layer.mode == "int4":
        return unpack_int4(layer.codes, layer.c_in, layer.signed).to(torch.int16)
    return layer.codes.to(torch.int16)


def dense_weight(layer: FusedLayer) -> torch.Tensor:
    """The (K, N) float32 weight a weight-only or float layer multiplies by: (c − z)·s."""
    if layer.mode == "float":
        return layer.weight
    if layer.mode == "w8a8":
        raise ValueError("dense_weight needs a float or weight-only layer; got mode='w8a8'")
    rows = lambda p: p.repeat_interleave(layer.group, dim=0)[: layer.c_in]  # noqa: E731
    return (codes_matrix(layer).float() - rows(layer.zero)) * rows(layer.scale)


def prepare(layers: list[FusedLayer], device: torch.device | str = "cpu") -> list[PreparedLayer]:
    """Unpack and dequantize once (the torch fast path reuses the result for every call)."""
    out = []
    for layer in layers:
        bias = layer.bias.to(device)
        if layer.mode == "w8a8":
            codes = layer.codes.to(device)
            out.append(PreparedLayer("w8a8", codes.float(), bias, layer.act, layer.scale.to(device), codes))
        else:
            out.append(PreparedLayer(layer.mode, dense_weight(layer).to(device), bias, layer.act))
    return out


def activation(h: torch.Tensor, act: str, inplace: bool = False) -> torch.Tensor:
    """The model's activations by torch: SiLU, GELU (tanh approximation), ReLU, tanh or none."""
    if act == "silu":
        return F.silu(h, inplace=inplace)
    if act == "gelu_tanh":
        return F.gelu(h, approximate="tanh")
    if act == "relu":
        return F.relu(h, inplace=inplace)
    if act == "tanh":
        return h.tanh_() if inplace else torch.tanh(h)
    return h


def row_scales(h: torch.Tensor) -> torch.Tensor:
    """Per-row activation scales (M, 1) of h (M, K): max(amax|h| / 127, 1e-12)."""
    hd = h.detach()
    amax = torch.maximum(hd.amax(dim=1, keepdim=True), -hd.amin(dim=1, keepdim=True))  # = max|h|, no copy
    return (amax / QMAX).clamp_min(SCALE_FLOOR)


def quantize_rows(h: torch.Tensor, ste: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row int8 codes (as float, integer-valued) and scales (M, 1) of activations h (M, K).

    With ``ste`` the rounding passes gradients straight through (the scale is held constant).
    """
    scale = row_scales(h)
    v = h / scale
    if ste:
        return v + (torch.clamp(torch.round(v), -QMAX - 1, QMAX) - v).detach(), scale
    return v.round_().clamp_(-QMAX - 1, QMAX), scale


def run_prepared(x: torch.Tensor, layers: list[PreparedLayer], ste: bool = False) -> torch.Tensor:
    """Forward of prepared layers on x (M, K_0) float32 → (M, N_last) float32 (``ste``: straight-through rounding)."""
    h = x
    for layer in layers:
        if layer.mode == "w8a8":
            q, s_x = quantize_rows(h, ste)
            h = (q @ layer.weight) * s_x * layer.w_scale + layer.bias
        else:
            h = torch.addmm(layer.bias, h, layer.weight)
        h = activation(h, layer.act)
    return h


def mlp_reference(x: torch.Tensor, layers: list[FusedLayer], ste: bool = False) -> torch.Tensor:
    """The reference forward of a fused-layer chain: x (M, K_0) float32 → (M, N_last) float32."""
    return run_prepared(x, prepare(layers, x.device), ste)


def error_bound(x: torch.Tensor, layers: list[FusedLayer]) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 reference output and a first-order bound on |y_fp32 − y_exact| (both (M, N_last)).

    Per layer, with γ_K = K·u/(1 − K·u) and u = 2⁻²⁴: a dot of length K with inputs off by e
    is off by at most e·|W| + γ_K·(|h|·|W| + |b|) + u·|z|; the activation adds Lip·(that) plus
    4u·(|z| + |act(z)|) for its own rounding (Lip = 1.13 bounds the slope of every supported
    activation). Only float and weight-only layers have such a bound.
    """
    h = x.double()
    err = torch.zeros_like(h)
    for layer in layers:
        w = dense_weight(layer).double()
        gamma = layer.c_in * UNIT_ROUNDOFF / (1 - layer.c_in * UNIT_ROUNDOFF)
        z = h @ w + layer.bias.double()
        dz = err @ w.abs() + gamma * (h.abs() @ w.abs() + layer.bias.double().abs()) + UNIT_ROUNDOFF * z.abs()
        h = activation(z, layer.act)
        err = dz if layer.act == "none" else ACT_LIPSCHITZ * dz + 4 * UNIT_ROUNDOFF * (z.abs() + h.abs())
    return h, err
