"""Packed storage: integer codes, BCQ bit planes and unaligned block-sparse panels.

All weight layouts are transposed, [K, N] = [C_in, C_out], so that a kernel tiling the output
reads contiguous rows of N output channels for each input channel k.

* **int8** (5 ≤ bits ≤ 8): ``codes`` (K, N), int8 for signed (symmetric) codes, uint8 for
  unsigned ones.
* **int4** (bits ≤ 4): ``packed`` (⌈K/2⌉, N) uint8; byte [j, n] holds code (2j, n) in its low
  nibble and code (2j+1, n) in its high nibble (an odd K is padded with a zero code). Signed
  codes are stored two's-complement in the nibble and sign-extended on unpacking by
  ``(p << 4).to(int8) >> 4`` (low) and ``p.to(int8) >> 4`` (high); unsigned codes by ``p & 0xF``
  and ``p >> 4``.
* **BCQ bit planes**: ``planes`` (q, ⌈K/8⌉, N) uint8; bit t of byte [i, j, n] is 1 where
  B_i[n, 8j + t] = +1 and 0 where it is −1 (padding bits are 0).
* **Unaligned 1×N block sparsity, as stored**: a block is N consecutive output channels
  [s, s + N) at one input channel k, with any start s; blocks never overlap. The m blocks are
  sorted by start, then by input channel: ``block_ptr`` (C_out + 1,) int32 (the blocks starting
  at output channel s are rows ``block_ptr[s]:block_ptr[s+1]``), ``block_cols`` (m,) int32 (k of
  each block) and ``block_values`` (m, N) with ``block_values[b, j] = W[s_b + j, k_b]`` (float
  weights, or integer codes minus the zero point, so that a missing block is exactly 0). An
  output tile [t·N, (t+1)·N) receives contributions from exactly the contiguous range of blocks
  whose start lies in [t·N − N + 1, (t+1)·N − 1].
* **Tile panels, the gather form a fused kernel consumes** (:func:`to_panels`): for each output
  tile t of N channels, ``panel_cols[panel_ptr[t]:panel_ptr[t+1]]`` (int32, ascending, no
  repeats) lists the input channels with a block touching the tile (an unaligned block is split
  at the tile boundary), and ``panel_values[p]`` (N,) holds that input channel's weights for the
  tile's outputs, zero where no block covers them. The tile's output is
  ``x[:, panel_cols[a:b]] @ panel_values[a:b]``: one gather and one dense dot.
"""

from __future__ import annotations

import numpy as np
import torch


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """(K, N) integer codes in [−8, 15] (each fits 4 bits, signed or unsigned) → (⌈K/2⌉, N) uint8."""
    if codes.dim() != 2:
        raise ValueError(f"codes must be a (K, N) matrix; got shape {tuple(codes.shape)}")
    c = codes.to(torch.int16) & 0xF
    if c.shape[0] % 2:
        c = torch.cat([c, torch.zeros(1, c.shape[1], dtype=c.dtype)])
    return (c[0::2] | (c[1::2] << 4)).to(torch.uint8)


def unpack_int4(packed: torch.Tensor, k: int, signed: bool) -> torch.Tensor:
    """Inverse of :func:`pack_int4`: (⌈K/2⌉, N) uint8 → (K, N) int8, sign-extended when ``signed``."""
    if signed:
        low = (packed << 4).view(torch.int8) >> 4
        high = packed.view(torch.int8) >> 4
    else:
        low = (packed & 0xF).to(torch.int8)
        high = (packed >> 4).to(torch.int8)
    out = torch.stack([low, high], dim=1).reshape(-1, packed.shape[1])
    return out[:k].contiguous()


def pack_bits(planes: torch.Tensor) -> torch.Tensor:
    """(q, K, N) ±1 bit planes → (q, ⌈K/8⌉, N) uint8, 1 bit per weight (see the module docstring)."""
    bits = (planes > 0).numpy()
    return torch.from_numpy(np.packbits(bits, axis=1, bitorder="little"))


def unpack_bits(packed: torch.Tensor, k: int) -> torch.Tensor:
    """Inverse of :func:`pack_bits` → (q, K, N) int8 in {−1, +1}."""
    bits = np.unpackbits(packed.numpy(), axis=1, count=k, bitorder="little")
    return torch.from_numpy(bits.astype(np.int8) * 2 - 1)


def to_panels(weight_t: torch.Tensor, mask_t: torch.Tensor, block: int) -> dict[str, torch.Tensor]:
    """Dense (K, N) weights and keep mask → tile panels (module docstring) with tiles of ``block`` outputs.

    Returns ``panel_ptr`` (n_tiles + 1,) int32, ``panel_cols`` (P,) int32 and ``panel_values``
    (P, block) of ``weight_t``'s dtype; N must be a multiple of ``block``.
    """
    k, n = weight_t.shape
    tiles = n // block
    kept = (weight_t * mask_t).reshape(k, tiles, block)
    touched = mask_t.reshape(k, tiles, block).any(dim=2)  # (K, tiles)
    ptr = [0]
    cols, values = [], []
    for t in range(tiles):
        idx = torch.nonzero(touched[:, t]).flatten()
        cols.append(idx)
        values.append(kept[idx, t])
        ptr.append(ptr[-1] + len(idx))
    return {
        "panel_ptr": torch.tensor(ptr, dtype=torch.int32),
        "panel_cols": torch.cat(cols).to(torch.int32),
        "panel_values": torch.cat(values),
    }


def from_panels(panels: dict[str, torch.Tensor], k: int) -> torch.Tensor:
    """Tile panels → dense (K, N) weights (zeros where pruned)."""
    ptr, cols, values = panels["panel_ptr"].tolist(), panels["panel_cols"].long(), panels["panel_values"]
    block = values.shape[1]
    out = torch.zeros(k, (len(ptr) - 1) * block, dtype=values.dtype)
    for t in range(len(ptr) - 1):
        out[cols[ptr[t] : ptr[t + 1]], t * block : (t + 1) * block] = values[ptr[t] : ptr[t + 1]]
    return out


def runs_to_blocks(keep_t: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Split each run of kept entries (length r·N) of each row of a (C_in, C_out) mask into r blocks.

    Returns (cols, starts), int64 arrays of the blocks' input channel and first output channel.
    """
    c_in = keep_t.shape[0]
    padded = np.zeros((c_in, keep_t.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = keep_t
    step = np.diff(padded, axis=1)
    run_cols, run_lo = np.nonzero(step == 1)
    _, run_hi = np.nonzero(step == -1)
    per_run = (run_hi - run_lo) // block
    first = np.repeat(run_lo, per_run)
    offset = np.arange(per_run.sum()) - np.repeat(np.cumsum(per_run) - per_run, per_run)
    return np.repeat(run_cols, per_run).astype(np.int64), (first + offset * block).astype(np.int64)


def to_blocks(weight: torch.Tensor, mask: torch.Tensor, block: int) -> dict[str, torch.Tensor]:
    """(C_out, C_in) weights and a keep mask made of 1×N blocks → the stored block list (module docstring)."""
    c_out = weight.shape[0]
    cols, starts = runs_to_blocks(mask.t().numpy(), block)
    order = np.lexsort((cols, starts))
    cols, starts = cols[order], starts[order]
    rows = torch.from_numpy(starts)[:, None] + torch.arange(block)
    return {
        "block_ptr": torch.from_numpy(np.searchsorted(starts, np.arange(c_out + 1))).to(torch.int32),
        "block_cols": torch.from_numpy(cols).to(torch.int32),
        "block_values": weight[rows, torch.from_numpy(cols)[:, None]].contiguous(),
    }


def from_blocks(blocks: dict[str, torch.Tensor], c_in: int) -> torch.Tensor:
    """The stored block list → dense (C_out, C_in) weights (zeros where pruned)."""
    ptr, values = blocks["block_ptr"].long(), blocks["block_values"]
    starts = torch.repeat_interleave(torch.arange(len(ptr) - 1), ptr[1:] - ptr[:-1])
    out = torch.zeros(len(ptr) - 1, c_in, dtype=values.dtype)
    out[starts[:, None] + torch.arange(values.shape[1]), blocks["block_cols"].long()[:, None]] = values
    return out
