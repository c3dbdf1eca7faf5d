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
* **Unaligned block sparsity (tile panels)**: a block is N_b consecutive output channels
  [s, s + N_b) at one input channel k, with any start s. The output is cut into tiles of N_b
  channels; a block with an unaligned start touches two tiles and is split there. For each
  tile t, the input channels that touch it are listed in ``panel_cols[panel_ptr[t]:panel_ptr[t+1]]``
  (int32, ascending, no repeats), and ``panel_values[p]`` (N_b,) holds the weights of that input
  channel for the N_b outputs of the tile, zero where no block covers them. A tile's product is
  ``x[:, panel_cols[a:b]] @ panel_values[a:b]`` for output channels [t·N_b, (t+1)·N_b): a gather
  plus one dense dot, the form a fused Triton kernel consumes. ``panel_values`` holds float
  weights or int8 codes (then the layer's scales apply per output channel as for dense codes).
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
