"""Block selection for 1×N block pruning: aligned, BED (Block Expansion and Division) and the exact optimum.

A block is N consecutive output channels [s, s + N) at one input channel k of a (C_out, C_in)
weight. Aligned blocks start at multiples of N; unaligned blocks start anywhere but may not
overlap. Each selector keeps exactly m blocks and maximises (exactly or approximately) the kept
importance Σ score over kept entries, score ≥ 0 (|W| by default).

* :func:`aligned_select`: the m aligned blocks with the largest sums.
* :func:`bed_select`: BED's greedy. Per input channel it keeps a compacted list of the
  not-yet-kept entries and the best N-window over it; it repeatedly keeps the best window over
  all channels and deletes its entries from the list (expansion: a later window that straddles
  deleted entries merges with them, so kept entries form runs of r·N consecutive outputs), then
  splits every run into r blocks from its start (division). A tournament tree over the channels'
  best windows finds the next pick in O(log C_in), so the cost is O(m·(C_out + log C_in)).
* :func:`optimal_select`: the exact optimum. Per input channel a dynamic programme over
  positions gives the best score with j = 0..⌊C_out/N⌋ blocks; a second one over channels
  splits the budget m. O(C_in·⌊C_out/N⌋·(C_out + m)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

_NEG = -1e300


@dataclass(frozen=True)
class BlockSelection:
    """Chosen blocks of a (C_out, C_in) matrix.

    Attributes:
        mask: (C_out, C_in) bool, True where a weight is kept.
        cols: (m,) int64 input channel of each block.
        starts: (m,) int64 first output channel of each block (blocks cover [start, start + N)).
        score: kept importance, Σ score[mask].
    """

    mask: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    score: float


def _check(score: np.ndarray, n_blocks: int, block: int, aligned: bool) -> np.ndarray:
    score = np.asarray(score, dtype=np.float64)
    if score.ndim != 2:
        raise ValueError(f"score must be a (C_out, C_in) matrix; got shape {score.shape}")
    if not np.all(np.isfinite(score)) or np.any(score < 0):
        raise ValueError("score must be finite and >= 0 everywhere")
    c_out, c_in = score.shape
    if isinstance(block, bool) or not isinstance(block, int | np.integer) or not 1 <= block <= c_out:
        raise ValueError(f"block must be an integer in [1, C_out={c_out}]; got block={block!r}")
    if aligned and c_out % block:
        raise ValueError(f"block must divide C_out={c_out} for aligned blocks; got block={block}")
    most = c_in * (c_out // block)
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int | np.integer) or not 0 <= n_blocks <= most:
        raise ValueError(f"n_blocks must be an integer in [0, C_in·⌊C_out/block⌋={most}]; got n_blocks={n_blocks!r}")
    return np.ascontiguousarray(score.T)


@numba.njit(cache=True)
def _divide(score_t: np.ndarray, keep_t: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Division: every run of r·N kept entries of a row of the (C_in, C_out) mask → r blocks from its start.

    Returns (cols, starts, kept score) in one pass over the mask.
    """
    c_in, c_out = keep_t.shape
    n = 0
    for k in range(c_in):
        for t in range(c_out):
            n += keep_t[k, t]
    cols = np.empty(n // block, np.int64)
    starts = np.empty(n // block, np.int64)
    score = 0.0
    b = 0
    for k in range(c_in):
        run = 0
        for t in range(c_out + 1):
            if t < c_out and keep_t[k, t]:
                run += 1
                score += score_t[k, t]
            elif run:
                for r in range(run // block):
                    cols[b], starts[b] = k, t - run + r * block
                    b += 1
                run = 0
    return cols, starts, score


def _selection(score_t: np.ndarray, keep_t: np.ndarray, block: int) -> BlockSelection:
    cols, starts, score = _divide(score_t, keep_t, block)
    return BlockSelection(keep_t.T, cols, starts, float(score))


def aligned_select(score: np.ndarray, n_blocks: int, block: int) -> BlockSelection:
    """The ``n_blocks`` aligned blocks (starts at multiples of ``block``) with the largest score sums."""
    score_t = _check(score, n_blocks, block, aligned=True)
    c_in, c_out = score_t.shape
    sums = score_t.reshape(c_in, c_out // block, block).sum(axis=2).ravel()
    chosen = np.argsort(-sums, kind="stable")[:n_blocks]
    keep_t = np.zeros((c_in, c_out // block), dtype=bool)
    keep_t.ravel()[chosen] = True
    return _selection(score_t, np.repeat(keep_t, block, axis=1), block)


@numba.njit(cache=True)
def _best_window(vals: np.ndarray, length: int, block: int) -> tuple[float, int]:
    if length < block:
        return _NEG, -1
    s = 0.0
    for t in range(block):
        s += vals[t]
    best, arg = s, 0
    for t in range(block, length):
        s += vals[t] - vals[t - block]
        if s > best:
            best, arg = s, t - block + 1
    return best, arg


@numba.njit(cache=True)
def _winner(left: int, right: int, best: np.ndarray) -> int:
    """The channel of the larger best window (the left one on ties; −1 marks an empty leaf)."""
    if right < 0:
        return left
    if left < 0:
        return right
    return left if best[left] >= best[right] else right


@numba.njit(cache=True)
def _bed_kernel(score_t: np.ndarray, n_blocks: int, block: int) -> np.ndarray:
    c_in, c_out = score_t.shape
    vals = score_t.copy()
    idx = np.empty((c_in, c_out), np.int64)
    for k in range(c_in):
        for t in range(c_out):
            idx[k, t] = t
    lens = np.full(c_in, c_out, np.int64)
    best = np.empty(c_in)
    arg = np.empty(c_in, np.int64)
    for k in range(c_in):
        best[k], arg[k] = _best_window(vals[k], c_out, block)
    # tournament tree over the channels' best windows: the root holds the first channel of largest best
    size = 1
    while size < c_in:
        size *= 2
    tree = np.full(2 * size, -1, np.int64)
    tree[size : size + c_in] = np.arange(c_in)
    for node in range(size - 1, 0, -1):
        tree[node] = _winner(tree[2 * node], tree[2 * node + 1], best)
    keep = np.zeros((c_in, c_out), np.bool_)
    for _ in range(n_blocks):
        k = tree[1]
        a = arg[k]
        for t in range(a, a + block):
            keep[k, idx[k, t]] = True
        n = lens[k]
        for t in range(a + block, n):
            vals[k, t - block] = vals[k, t]
            idx[k, t - block] = idx[k, t]
        lens[k] = n - block
        best[k], arg[k] = _best_window(vals[k], lens[k], block)
        node = (size + k) // 2
        while node >= 1:
            tree[node] = _winner(tree[2 * node], tree[2 * node + 1], best)
            node //= 2
    return keep


def bed_select(score: np.ndarray, n_blocks: int, block: int) -> BlockSelection:
    """BED selection of ``n_blocks`` unaligned blocks of ``block`` outputs (module docstring).

    Args:
        score: (C_out, C_in) float, ≥ 0, importance of each weight.
        n_blocks: m, 0 ≤ m ≤ C_in·⌊C_out/N⌋.
        block: N, 1 ≤ N ≤ C_out.
    """
    score_t = _check(score, n_blocks, block, aligned=False)
    return _selection(score_t, _bed_kernel(score_t, int(n_blocks), int(block)), block)


@numba.njit(cache=True)
def _column_table(col: np.ndarray, block: int, most: int) -> np.ndarray:
    """f[i, j]: best score of j non-overlapping windows inside the first i entries of one column."""
    n = col.shape[0]
    prefix = np.zeros(n + 1)
    for t in range(n):
        prefix[t + 1] = prefix[t] + col[t]
    f = np.full((n + 1, most + 1), _NEG)
    f[:, 0] = 0.0
    for i in range(block, n + 1):
        window = prefix[i] - prefix[i - block]
        for j in range(1, most + 1):
            take = f[i - block, j - 1] + window
            f[i, j] = f[i - 1, j] if f[i - 1, j] >= take else take
    return f


@numba.njit(cache=True)
def _optimal_kernel(score_t: np.ndarray, n_blocks: int, block: int) -> np.ndarray:
    c_in, c_out = score_t.shape
    most = c_out // block
    best = np.empty((c_in, most + 1))
    for k in range(c_in):
        best[k] = _column_table(score_t[k], block, most)[c_out]
    g = np.full(n_blocks + 1, _NEG)
    g[0] = 0.0
    choice = np.zeros((c_in, n_blocks + 1), np.int64)
    for k in range(c_in):
        new = np.full(n_blocks + 1, _NEG)
        for j in range(n_blocks + 1):
            for t in range(min(most, j) + 1):
                v = g[j - t] + best[k, t]
                if v > new[j]:
                    new[j], choice[k, j] = v, t
        g = new
    keep = np.zeros((c_in, c_out), np.bool_)
    j = n_blocks
    for k in range(c_in - 1, -1, -1):
        t = choice[k, j]
        j -= t
        f = _column_table(score_t[k], block, most)
        i = c_out
        while t > 0:
            if f[i, t] == f[i - 1, t]:
                i -= 1
            else:
                for r in range(i - block, i):
                    keep[k, r] = True
                i -= block
                t -= 1
    return keep


def optimal_select(score: np.ndarray, n_blocks: int, block: int) -> BlockSelection:
    """The exact optimum: ``n_blocks`` non-overlapping unaligned blocks with the largest kept score."""
    score_t = _check(score, n_blocks, block, aligned=False)
    return _selection(score_t, _optimal_kernel(score_t, int(n_blocks), int(block)), block)
