"""The whole-MLP fused Triton kernel (imported only by the ``triton`` and ``interpret`` backends).

A persistent grid of programs walks the row tiles. For each tile of BM rows a program loads x,
runs every layer with the hidden activations held in registers (h = act(h·W_l + b_l)) and
stores only the last layer's output. All layers are padded to one width P (a power of two,
32 ≤ P ≤ 256) with zero weights, scales and biases, so padded columns stay exactly 0 through
every supported activation. Per-layer formats and activations are compile-time constants (3 bits
per layer in ``MODES`` / ``ACTS``), so each model compiles to one straight-line specialisation.

Block-sparse layers (modes 6: float, 7: signed int8 centred codes) are stored as tile panels
(``workbench.compress.to_panels`` with tiles of TN = 16 output channels): for each tile, the input
channels with a kept weight in it and their [TN] weight rows. Such a layer writes h to its
program's scratch row block (one per program of the persistent grid, so it stays in cache). For
each output tile it loops over that tile's panel rows only (BK at a time): it gathers h[:, cols],
loads the panel slice and accumulates one dot, so pruned blocks cost nothing. Each tile's
activated output goes to the second half of the scratch block, which becomes h again once every
tile is done.

W8A8 rounding is round-half-even built from ``floor`` and IEEE division (``div_rn``), which
matches ``torch.round`` of the reference; int4 codes are consumed in their packed layout by
splitting h into even and odd input channels (two dots of K = P/2), so no interleave is needed.
"""

from __future__ import annotations

import functools
import os

import torch
import triton
import triton.language as tl

from workbench.compress import to_panels

from ._spec import ACTIVATIONS, FusedLayer

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
# mode codes: float, w8a8, int8 signed, int8 unsigned, int4 signed, int4 unsigned
_MODE_CODE = {("float", True): 0, ("w8a8", True): 1, ("int8", True): 2, ("int8", False): 3}
_MODE_CODE |= {("int4", True): 4, ("int4", False): 5}
_SPARSE_CODE = {"float": 6, "int8": 7}  # block-sparse float / signed int8 (centred codes)
TILE_N = 16  # output channels per panel tile (the smallest dot width; 1×16 blocks fill a tile)
TILE_K = 32  # panel rows per dot
PROGRAMS_PER_SM = 4  # persistent grid size on a GPU, per multiprocessor
_ACT_CODE = {name: i for i, name in enumerate(ACTIVATIONS)}


@triton.jit
def _act(h, ACT: tl.constexpr):
    if ACT == 1:
        h = h * tl.sigmoid(h)
    elif ACT == 2:
        u = 0.7978845608028654 * (h + 0.044715 * h * h * h)
        h = 0.5 * h * (1.0 + (2.0 * tl.sigmoid(2.0 * u) - 1.0))
    elif ACT == 3:
        h = tl.maximum(h, 0.0)
    elif ACT == 4:
        h = 2.0 * tl.sigmoid(2.0 * h) - 1.0
    return h


@triton.jit
def _weights(
    k, layer, wf_ptr, c8_ptr, c4_ptr, scale_ptr, zero_ptr, group_ptr, G, MODE: tl.constexpr, P: tl.constexpr
):  # fmt: skip
    """Rows k ([R, 1] input channels) of layer ``layer``'s [K, P] weight: float32, or int8 codes for W8A8."""
    n = tl.arange(0, P)[None, :]
    if MODE == 0:
        w = tl.load(wf_ptr + layer * P * P + k * P + n)
    elif MODE == 1:
        w = tl.load(c8_ptr + layer * P * P + k * P + n).to(tl.int8, bitcast=True)
    else:
        if MODE >= 4:
            packed = tl.load(c4_ptr + layer * (P // 2) * P + (k // 2) * P + n)
            if MODE == 4:
                lo = (packed << 4).to(tl.int8, bitcast=True) >> 4
                c = tl.where(k % 2 == 0, lo, packed.to(tl.int8, bitcast=True) >> 4)
            else:
                c = tl.where(k % 2 == 0, packed & 0xF, packed >> 4)
        elif MODE == 2:
            c = tl.load(c8_ptr + layer * P * P + k * P + n).to(tl.int8, bitcast=True)
        else:
            c = tl.load(c8_ptr + layer * P * P + k * P + n)
        grp = k // tl.load(group_ptr + layer)
        ok = grp < G
        s = tl.load(scale_ptr + layer * G * P + grp * P + n, mask=ok, other=0.0)
        z = tl.load(zero_ptr + layer * G * P + grp * P + n, mask=ok, other=0.0)
        w = (c.to(tl.float32) - z) * s
    return w


@triton.jit
def _dot(a, w, acc, INT: tl.constexpr, DOT_BF16: tl.constexpr):
    if INT:
        acc = tl.dot(a, w, acc, out_dtype=tl.int32)
    elif DOT_BF16:
        acc = tl.dot(a.to(tl.bfloat16), w.to(tl.bfloat16), acc)
    else:
        acc = tl.dot(a, w, acc, input_precision="ieee")
    return acc


@triton.jit
def _layer(
    h, layer, wf_ptr, c8_ptr, c4_ptr, scale_ptr, zero_ptr, bias_ptr, group_ptr, G,
    MODE: tl.constexpr, ACT: tl.constexpr, P: tl.constexpr, BM: tl.constexpr, DOT_BF16: tl.constexpr,
):  # fmt: skip
    """act(h·W + b) for one layer of format MODE (see ``_MODE_CODE``); h is [BM, P] float32.

    The dot runs over K in C interleaved slices (input channels j, j + C, j + 2C, ...; C = 1, 2, 4
    for P = 32, 64, ≥ 128) obtained by splitting h in registers, so only a [P/C, P] slice of the
    weight is live at a time and every dot keeps K ≥ 32 (the int8 tensor-core minimum).
    """
    cols = tl.arange(0, P)
    if MODE == 1:
        s_x = tl.maximum(tl.div_rn(tl.max(tl.abs(h), axis=1), 127.0), 1e-12)
        v = tl.div_rn(h, s_x[:, None])
        f = tl.floor(v)
        d = v - f
        odd = (f - 2.0 * tl.floor(f * 0.5)) == 1.0
        q = f + tl.where((d > 0.5) | ((d == 0.5) & odd), 1.0, 0.0)
        a = tl.minimum(tl.maximum(q, -128.0), 127.0).to(tl.int8)
        acc = tl.zeros((BM, P), dtype=tl.int32)
    else:
        a = h
        acc = tl.zeros((BM, P), dtype=tl.float32)
    if P == 32:
        parts = (a,)
    else:
        even, odd_cols = tl.split(tl.reshape(a, (BM, P // 2, 2)))  # a[:, 0::2], a[:, 1::2]
        if P == 64:
            parts = (even, odd_cols)
        else:
            a0, a2 = tl.split(tl.reshape(even, (BM, P // 4, 2)))  # a[:, 0::4], a[:, 2::4]
            a1, a3 = tl.split(tl.reshape(odd_cols, (BM, P // 4, 2)))  # a[:, 1::4], a[:, 3::4]
            parts = (a0, a1, a2, a3)
    r = tl.arange(0, P // len(parts))[:, None]
    for j in tl.static_range(len(parts)):
        acc = _dot(
            parts[j],
            _weights(len(parts) * r + j, layer, wf_ptr, c8_ptr, c4_ptr, scale_ptr, zero_ptr, group_ptr, G, MODE, P),
            acc,
            MODE == 1,
            DOT_BF16,
        )
    if MODE == 1:
        h = acc.to(tl.float32) * s_x[:, None] * tl.load(scale_ptr + layer * G * P + cols)[None, :]
    else:
        h = acc
    return _act(h + tl.load(bias_ptr + layer * P + cols)[None, :], ACT)


@triton.jit
def _sparse_layer(
    h, layer, scratch, ptr_ptr, cols_ptr, pvf_ptr, pvc_ptr, scale_ptr, bias_ptr, group_ptr, G,
    MODE: tl.constexpr, ACT: tl.constexpr, P: tl.constexpr, BM: tl.constexpr, DOT_BF16: tl.constexpr,
    TN: tl.constexpr, BK: tl.constexpr,
):  # fmt: skip
    """act(h·W + b) of a block-sparse layer from its tile panels; ``scratch`` points at this program's [2, BM, P]."""
    r = tl.arange(0, BM)[:, None]
    tl.store(scratch + r * P + tl.arange(0, P)[None, :], h)
    tl.debug_barrier()
    n = tl.arange(0, TN)[None, :]
    j = tl.arange(0, BK)
    tiles: tl.constexpr = P // TN
    for t in range(tiles):
        lo = tl.load(ptr_ptr + layer * (tiles + 1) + t)
        hi = tl.load(ptr_ptr + layer * (tiles + 1) + t + 1)
        acc = tl.zeros((BM, TN), dtype=tl.float32)
        for a in range(lo, hi, BK):
            idx = a + j
            ok = idx < hi
            k = tl.load(cols_ptr + idx, mask=ok, other=0)
            xa = tl.load(scratch + r * P + k[None, :], mask=ok[None, :], other=0.0)
            if MODE == 6:
                w = tl.load(pvf_ptr + idx[:, None] * TN + n, mask=ok[:, None], other=0.0)
            else:
                c = tl.load(pvc_ptr + idx[:, None] * TN + n, mask=ok[:, None], other=0).to(tl.int8, bitcast=True)
                grp = (k // tl.load(group_ptr + layer))[:, None]
                s = tl.load(scale_ptr + layer * G * P + grp * P + t * TN + n, mask=ok[:, None] & (grp < G), other=0.0)
                w = c.to(tl.float32) * s
            acc = _dot(xa, w, acc, False, DOT_BF16)
        y = _act(acc + tl.load(bias_ptr + layer * P + t * TN + n), ACT)
        tl.store(scratch + BM * P + r * P + t * TN + n, y)
    tl.debug_barrier()
    return tl.load(scratch + BM * P + r * P + tl.arange(0, P)[None, :])


@triton.jit
def _fused_mlp(
    x_ptr, y_ptr, wf_ptr, c8_ptr, c4_ptr, scale_ptr, zero_ptr, bias_ptr, group_ptr,
    ptr_ptr, cols_ptr, pvf_ptr, pvc_ptr, scratch_ptr,
    M, D_IN, D_OUT, G,
    L: tl.constexpr, MODES: tl.constexpr, ACTS: tl.constexpr,
    P: tl.constexpr, BM: tl.constexpr, DOT_BF16: tl.constexpr, TN: tl.constexpr, BK: tl.constexpr,
):  # fmt: skip
    pid = tl.program_id(0)
    scratch = scratch_ptr + pid.to(tl.int64) * 2 * BM * P
    cols = tl.arange(0, P)
    for tile in range(pid, tl.cdiv(M, BM), tl.num_programs(0)):  # persistent: a program walks row tiles
        rows = (tile * BM + tl.arange(0, BM)).to(tl.int64)  # tile·BM < M fits int32; row·D does not
        live = rows[:, None] < M
        h = tl.load(x_ptr + rows[:, None] * D_IN + cols[None, :], mask=live & (cols[None, :] < D_IN), other=0.0)
        for layer in tl.static_range(L):
            if ((MODES >> (3 * layer)) & 7) >= 6:
                h = _sparse_layer(
                    h, layer, scratch, ptr_ptr, cols_ptr, pvf_ptr, pvc_ptr, scale_ptr, bias_ptr, group_ptr, G,
                    (MODES >> (3 * layer)) & 7, (ACTS >> (3 * layer)) & 7, P, BM, DOT_BF16, TN, BK,
                )  # fmt: skip
            else:
                h = _layer(
                    h, layer, wf_ptr, c8_ptr, c4_ptr, scale_ptr, zero_ptr, bias_ptr, group_ptr, G,
                    (MODES >> (3 * layer)) & 7, (ACTS >> (3 * layer)) & 7, P, BM, DOT_BF16,
                )  # fmt: skip
        tl.store(y_ptr + rows[:, None] * D_OUT + cols[None, :], h, mask=live & (cols[None, :] < D_OUT))


def padded_width(layers: list[FusedLayer]) -> int:
    """The common padded width P: the next power of two ≥ every layer dimension, at least 32."""
    widest = max(max(layer.c_in, layer.c_out) for layer in layers)
    return max(32, triton.next_power_of_2(widest))


def _panels(layers: list[FusedLayer], p: int) -> dict[str, torch.Tensor]:
    """Tile panels of every block-sparse layer, concatenated (dense layers get empty tiles).

    ``ptr`` (L, P/TN + 1) int32 indexes ``cols`` (R,) int32 and the panel rows: ``pvf`` (R, TN)
    float32 for float layers, ``pvc`` (R, TN) int8 codes stored as uint8 for int8 layers (each a
    one-element placeholder when no layer uses it).
    """
    ptr = torch.zeros(len(layers), p // TILE_N + 1, dtype=torch.int32)
    found = []
    start = 0
    for i, layer in enumerate(layers):
        if layer.keep is not None:
            stored = layer.weight if layer.mode == "float" else layer.codes.view(torch.uint8)
            padded = torch.zeros(p, p, dtype=stored.dtype)
            padded[: layer.c_in, : layer.c_out] = stored
            keep = torch.zeros(p, p, dtype=torch.bool)
            keep[: layer.c_in, : layer.c_out] = layer.keep
            found.append((layer.mode, to_panels(padded, keep, TILE_N)))
            ptr[i] = found[-1][1]["panel_ptr"] + start
            start += len(found[-1][1]["panel_cols"])
        else:
            ptr[i] = start
    pvf = torch.zeros((start, TILE_N) if any(mode == "float" for mode, _ in found) else (1,), dtype=torch.float32)
    pvc = torch.zeros((start, TILE_N) if any(mode == "int8" for mode, _ in found) else (1,), dtype=torch.uint8)
    row = 0
    for mode, panel in found:
        rows = len(panel["panel_cols"])
        (pvf if mode == "float" else pvc)[row : row + rows] = panel["panel_values"]
        row += rows
    cols = torch.cat([panel["panel_cols"] for _, panel in found]) if found else torch.zeros(1, dtype=torch.int32)
    return {"ptr": ptr, "cols": cols, "pvf": pvf, "pvc": pvc}


def pack(layers: list[FusedLayer], device: torch.device | str) -> dict:
    """Stack and zero-pad every layer's tensors into the kernel's buffers (done once per model)."""
    n, p = len(layers), padded_width(layers)
    n_groups = max(1 if layer.scale is None else layer.scale.shape[0] for layer in layers)
    used = {layer.mode for layer in layers if layer.keep is None}
    wf = torch.zeros((n, p, p) if "float" in used else (1,), dtype=torch.float32)
    c8 = torch.zeros((n, p, p) if used & {"w8a8", "int8"} else (1,), dtype=torch.uint8)
    c4 = torch.zeros((n, p // 2, p) if "int4" in used else (1,), dtype=torch.uint8)
    scale = torch.zeros(n, n_groups, p)
    zero = torch.zeros(n, n_groups, p)
    bias = torch.zeros(n, p)
    group = torch.ones(n, dtype=torch.int32)
    panels = _panels(layers, p)
    modes = acts = 0
    for i, layer in enumerate(layers):
        k, m = layer.c_in, layer.c_out
        bias[i, :m] = layer.bias
        code = _MODE_CODE[(layer.mode, layer.signed)] if layer.keep is None else _SPARSE_CODE[layer.mode]
        modes |= code << (3 * i)
        acts |= _ACT_CODE[layer.act] << (3 * i)
        if layer.keep is not None and layer.mode == "float":
            continue
        if layer.mode == "float":
            wf[i, :k, :m] = layer.weight
            continue
        scale[i, : layer.scale.shape[0], :m] = layer.scale
        if layer.zero is not None:
            zero[i, : layer.zero.shape[0], :m] = layer.zero
        group[i] = layer.group
        if layer.mode == "int4":
            c4[i, : layer.codes.shape[0], :m] = layer.codes
        elif layer.keep is None:
            c8[i, :k, :m] = layer.codes.view(torch.uint8) if layer.codes.dtype == torch.int8 else layer.codes
    buffers = {"wf": wf, "c8": c8, "c4": c4, "scale": scale, "zero": zero, "bias": bias, "group": group} | panels
    meta = {"L": n, "MODES": modes, "ACTS": acts, "P": p, "G": n_groups, "d_in": layers[0].c_in}
    return {name: t.to(device) for name, t in buffers.items()} | meta | {"d_out": layers[-1].c_out}


@functools.cache
def _multiprocessors(device: int) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def run(
    packed: dict, x: torch.Tensor, bf16: bool = False, block_rows: int | None = None, programs: int | None = None
) -> torch.Tensor:
    """Launch the fused kernel on x (M, d_in) float32 (contiguous) → (M, d_out) float32.

    ``programs``: the persistent grid (each program walks row tiles; a block-sparse model keeps
    one scratch block per program); default one per row tile under the interpreter and
    ``PROGRAMS_PER_SM`` per multiprocessor on a GPU, at most one per row tile.
    """
    m = x.shape[0]
    p = packed["P"]
    bm = block_rows or (16 if INTERPRETED else (32 if p >= 256 else 64))
    y = torch.empty(m, packed["d_out"], dtype=torch.float32, device=x.device)
    if m == 0:
        return y
    tiles = triton.cdiv(m, bm)
    if programs is None and x.is_cuda:
        programs = PROGRAMS_PER_SM * _multiprocessors(x.device.index or 0)
    grid = (min(tiles, programs or tiles),)
    sparse = any((packed["MODES"] >> (3 * i)) & 7 >= 6 for i in range(packed["L"]))
    scratch = torch.empty((grid[0] * 2 * bm * p) if sparse else 1, dtype=torch.float32, device=x.device)
    _fused_mlp[grid](
        x, y, packed["wf"], packed["c8"], packed["c4"], packed["scale"], packed["zero"], packed["bias"],
        packed["group"], packed["ptr"], packed["cols"], packed["pvf"], packed["pvc"], scratch,
        m, packed["d_in"], packed["d_out"], packed["G"],
        L=packed["L"], MODES=packed["MODES"], ACTS=packed["ACTS"], P=p, BM=bm, DOT_BF16=bf16, TN=TILE_N, BK=TILE_K,
        **({} if INTERPRETED else {"enable_fp_fusion": False}),  # no FMA: W8A8 epilogue rounds as torch does
    )  # fmt: skip
    return y


def compile_ahead(layers: list[FusedLayer], arch: int = 90, block_rows: int = 64, bf16: bool = False) -> dict:
    """Compile the kernel for ``layers`` to a CUDA target without a GPU (triton's bundled ptxas).

    A static check that the specialisation builds for compute capability ``arch`` (90 = H100):
    returns its shared memory in bytes; raises triton's CompilationError if not.
    """
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    packed = pack(layers, "cpu")
    names = ["x_ptr", "y_ptr", "wf_ptr", "c8_ptr", "c4_ptr", "scale_ptr", "zero_ptr", "bias_ptr", "group_ptr"]
    names += ["ptr_ptr", "cols_ptr", "pvf_ptr", "pvc_ptr", "scratch_ptr"]
    types = ["*fp32", "*fp32", "*fp32", "*u8", "*u8", "*fp32", "*fp32", "*fp32", "*i32"]
    types += ["*i32", "*i32", "*fp32", "*u8", "*fp32"]
    signature = dict(zip(names, types, strict=True)) | dict.fromkeys(("M", "D_IN", "D_OUT", "G"), "i32")
    constants = {"L": packed["L"], "MODES": packed["MODES"], "ACTS": packed["ACTS"], "P": packed["P"]}
    constants |= {"BM": block_rows, "DOT_BF16": bf16, "TN": TILE_N, "BK": TILE_K}
    signature |= dict.fromkeys(constants, "constexpr")
    index = {name: i for i, name in enumerate(signature)}
    source = ASTSource(_fused_mlp, signature, constexprs={(index[k],): v for k, v in constants.items()})
    options = {"num_warps": 4, "enable_fp_fusion": False}
    kernel = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    return {"shared_bytes": kernel.metadata.shared}
