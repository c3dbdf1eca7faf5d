"""The CPU fast path (backend ``"torch"``): the reference on cache-sized row blocks, W8A8 by int8 GEMMs.

:func:`run_fast` evaluates prepared layers on one row block without autograd: weight-only and
float layers as one ``addmm`` with the weights dequantized once (block-sparse layers too: with
their zeros, a dense GEMM beats torch's CSR / BSR products and gathered tile panels on one core at
75 % sparsity, see the kernels docs page), W8A8 layers as ``torch._int_mm`` (int8 × int8 → int32,
about twice a float32 GEMM's speed on CPUs with VNNI) between two Numba loops.

Why the Numba loops:
torch spends most of a W8A8 layer on CPU in element-wise passes around ``torch._int_mm``
(divide, round, clamp and cast the activations; cast, scale, scale and shift the int32 dot),
each a separate sweep over the row block. These loops do the same float32 operations, in the
same order and with the same IEEE rounding (no fast-math, so no reassociation or FMA
contraction), in one sweep each:

* :func:`quantize_codes`: s = max(max|h| / 127, 1e-12) per row and q = round-half-even(h / s)
  as int8; round-half-even is (v + 1.5·2²³) − 1.5·2²³, exact in float32 for |v| ≤ 2²², and
  |h / s| ≤ 127·(1 + 2⁻²³) by the choice of s = max|h|/127, so the reference's clamp never binds;
* :func:`scale_shift`: y = (float32(acc)·s_x)·s_w + b (|acc| < 2²⁴, so the cast is exact).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from numba import njit

from ._reference import QMAX, SCALE_FLOOR, PreparedLayer, activation, quantize_rows

_ROUNDER = np.float32(1.5 * 2**23)
_QMAX = np.float32(QMAX)
_FLOOR = np.float32(SCALE_FLOOR)


@njit(cache=True, nogil=True, boundscheck=False)
def quantize_codes(h: np.ndarray, scale: np.ndarray, out: np.ndarray) -> None:
    """h (M, K) float32 → per-row scales (M, 1) float32 and codes out (M, K) int8, as ``quantize_rows``.

    max|h| is taken on the int32 bit patterns with the sign bit cleared, whose integer order is
    the order of |h| (a reduction that vectorizes, unlike a float max without fast-math).
    """
    h_bits, scale_bits = h.view(np.int32), scale.view(np.int32)
    for i in range(h.shape[0]):
        top = np.int32(0)
        for j in range(h.shape[1]):
            top = max(top, h_bits[i, j] & np.int32(0x7FFFFFFF))
        scale_bits[i, 0] = top
    for i in range(h.shape[0]):
        s = scale[i, 0] / _QMAX
        scale[i, 0] = s if s > _FLOOR else _FLOOR
    for i in range(h.shape[0]):  # a separate sweep: LLVM vectorizes it (measured 46 vs 62 µs at 1024 × 128)
        s = scale[i, 0]
        for j in range(h.shape[1]):
            out[i, j] = np.int8((h[i, j] / s + _ROUNDER) - _ROUNDER)


@njit(cache=True, nogil=True, boundscheck=False)
def scale_shift(acc: np.ndarray, s_x: np.ndarray, s_w: np.ndarray, bias: np.ndarray, out: np.ndarray) -> None:
    """acc (M, N) int32, s_x (M, 1), s_w (N,), bias (N,) float32 → out (M, N) = (acc·s_x)·s_w + bias."""
    for i in range(acc.shape[0]):
        s, row, dst = s_x[i, 0], acc[i], out[i]  # row views: this form vectorizes (15 vs 22 µs at 1024 × 128)
        for j in range(row.shape[0]):
            dst[j] = (np.float32(row[j]) * s) * s_w[j] + bias[j]


@dataclass(frozen=True)
class Buffers:
    """One layer's buffers for a row block: output (rows, N) float32 and, for W8A8, codes (rows, K)
    int8, int32 dots (rows, N) and row scales (rows, 1); numpy views of the same memory (``*_np``),
    and of the layer's weight scales and bias, made once so that a block costs few Python calls."""

    out: torch.Tensor
    out_np: np.ndarray
    q: torch.Tensor | None = None
    q_np: np.ndarray | None = None
    acc: torch.Tensor | None = None
    acc_np: np.ndarray | None = None
    s_np: np.ndarray | None = None
    s_w_np: np.ndarray | None = None
    bias_np: np.ndarray | None = None

    def head(self, m: int) -> Buffers:
        """The first m rows."""
        rows = {name: getattr(self, name) for name in ("out", "out_np", "q", "q_np", "acc", "acc_np", "s_np")}
        return replace(self, **{k: None if v is None else v[:m] for k, v in rows.items()})


def workspace(layers: list[PreparedLayer], rows: int) -> list[Buffers]:
    """Per-layer :class:`Buffers` for row blocks of up to ``rows`` rows (CPU)."""
    work = []
    for layer in layers:
        k, n = layer.weight.shape
        out = torch.empty(rows, n)
        if layer.mode != "w8a8":
            work.append(Buffers(out, out.numpy()))
            continue
        q, acc = torch.empty(rows, k, dtype=torch.int8), torch.empty(rows, n, dtype=torch.int32)
        s_w, bias = layer.w_scale.reshape(-1).numpy(), layer.bias.numpy()
        work.append(
            Buffers(out, out.numpy(), q, q.numpy(), acc, acc.numpy(), np.empty((rows, 1), np.float32), s_w, bias)
        )
    return work


def run_fast(x: torch.Tensor, layers: list[PreparedLayer], y: torch.Tensor, work: list[Buffers] | None) -> None:
    """Forward of prepared layers on a row block x (M, K_0) float32 into y (M, N_last) (contiguous).

    Equals ``run_prepared`` (W8A8 layers bit for bit). ``work`` is a :func:`workspace` of at least
    M rows, reused between blocks so that no block allocates; None on another device than the
    CPU, where W8A8 layers take the reference's float product instead of the Numba loops.
    """
    m = x.shape[0]
    h, h_np = x, None
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        if work is None:
            out = y if last else torch.empty(m, layer.weight.shape[1], device=x.device)
            if layer.mode == "w8a8":
                q, s_x = quantize_rows(h)
                torch.add(torch.mm(q, layer.weight).mul_(s_x).mul_(layer.w_scale), layer.bias, out=out)
            else:
                torch.addmm(layer.bias, h, layer.weight, out=out)
        else:
            bufs = work[i] if m == work[i].out.shape[0] else work[i].head(m)
            out = y if last else bufs.out
            if layer.mode == "w8a8":
                quantize_codes(h.numpy() if h_np is None else h_np, bufs.s_np, bufs.q_np)
                torch._int_mm(bufs.q, layer.codes, out=bufs.acc)
                scale_shift(bufs.acc_np, bufs.s_np, bufs.s_w_np, bufs.bias_np, y.numpy() if last else bufs.out_np)
            else:
                torch.addmm(layer.bias, h, layer.weight, out=out)
        done = activation(out, layer.act, inplace=True)
        if done is not out:
            out.copy_(done)
        h, h_np = out, None if work is None or last else bufs.out_np
