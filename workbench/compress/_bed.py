"""Block selection for 1×N block pruning: aligned, BED (Block Expansion and Division) and the exact optimum.

A block is N consecutive output channels [s, s + N) at one input channel k of a (C_out, C_in)
weight. Aligned blocks start at multiples of N; unaligned blocks start anywhere but may not
overlap. Each selector keeps exactly m blocks and maximises (exactly or approximately) the kept
importance Σ score over kept entries, score ≥ 0 (|W| by default).

* :func:`aligned_select`: the m aligned blocks with the largest sums.
* :func:`bed_select`: BED's greedy. Per input channel it keeps the N-window sums over the list of
  not-yet-kept entries; it repeatedly keeps the best window over all channels and deletes its
  entries from the list (expansion: a later window that straddles deleted entries merges with them,
  so kept entries form runs of r·N consecutive outputs), then splits every run into r blocks from
  its start (division). Kept runs store their two ends, so the list needs no compaction: a pick
  re-sums only the N − 1 windows that now reach across it and rescans the N-wide chunks of window
  starts it changed; a per-channel chunk maximum and a tournament tree over the channels give the
  next pick. Per pick O(N + C_out/N + log C_in) while no earlier run is straddled (at most
  O(C_out)); the one-off window sums cost O(C_in·C_out).
* :func:`optimal_select`: the exact optimum. Per input channel a dynamic programme over positions
  gives F_k(j), the best score with j = 0..⌊C_out/N⌋ blocks, in O(C_out·⌊C_out/N⌋). F_k is
  concave in j: the window-per-position constraints, plus the count, form an interval (totally
  unimodular) matrix, so the linear relaxation is integral and its optimal value is concave in the
  right-hand side j. Splitting the budget m over channels is then exact by taking the m largest
  marginal gains F_k(j + 1) − F_k(j) over all channels, so the whole is O(C_in·C_out·⌊C_out/N⌋)
  plus a sort of C_in·⌊C_out/N⌋ gains (a knapsack over channels would add O(C_in·⌊C_out/N⌋·m)).
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
def _winner(left: int, right: int, best: np.ndarray) -> int:
    """The channel of the larger best window (the left one on ties; −1 marks an empty leaf)."""
    if right < 0:
        return left
    if left < 0:
        return right
    return left if best[left] >= best[right] else right


@numba.njit(cache=True)
def _chunk_best(win_k: np.ndarray, chunk: int, block: int) -> tuple[float, int]:
    """Largest window (first on ties) among the window starts [chunk·N, (chunk + 1)·N) of one channel."""
    best, arg = _NEG, -1
    for t in range(chunk * block, min((chunk + 1) * block, win_k.shape[0])):
        if win_k[t] > best:
            best, arg = win_k[t], t
    return best, arg


@numba.njit(cache=True)
def _channel_best(cbest_k: np.ndarray, carg_k: np.ndarray) -> tuple[float, int]:
    best, arg = _NEG, -1
    for c in range(cbest_k.shape[0]):
        if cbest_k[c] > best:
            best, arg = cbest_k[c], carg_k[c]
    return best, arg


@numba.njit(cache=True)
def _bed_kernel(score_t: np.ndarray, n_blocks: int, block: int) -> np.ndarray:
    c_in, c_out = score_t.shape
    # win[k, t]: sum of the N-window of channel k's not-yet-kept entries that starts at output t (_NEG
    # where t is kept or fewer than N entries follow). Kept entries form maximal runs; a run [a, b]
    # stores its start at run_lo[k, b] and its end at run_hi[k, a], so a neighbour walk jumps over it.
    win = np.empty((c_in, c_out))
    run_lo = np.empty((c_in, c_out), np.int64)
    run_hi = np.empty((c_in, c_out), np.int64)
    n_chunks = (c_out + block - 1) // block
    cbest = np.empty((c_in, n_chunks))
    carg = np.empty((c_in, n_chunks), np.int64)
    best = np.empty(c_in)
    arg = np.empty(c_in, np.int64)
    for k in range(c_in):
        s = 0.0
        for t in range(block - 1):
            s += score_t[k, t]
        for t in range(c_out - block + 1):
            s += score_t[k, t + block - 1]
            win[k, t] = s
            s -= score_t[k, t]
        win[k, c_out - block + 1 :] = _NEG
        for c in range(n_chunks):
            cbest[k, c], carg[k, c] = _chunk_best(win[k], c, block)
        best[k], arg[k] = _channel_best(cbest[k], carg[k])
    size = 1
    while size < c_in:
        size *= 2
    tree = np.full(2 * size, -1, np.int64)
    tree[size : size + c_in] = np.arange(c_in)
    for node in range(size - 1, 0, -1):
        tree[node] = _winner(tree[2 * node], tree[2 * node + 1], best)
    keep = np.zeros((c_in, c_out), np.bool_)
    seq = np.empty(2 * block, np.int64)  # up to N − 1 entries before the pick, then up to N − 1 after it
    for _ in range(n_blocks):
        k = tree[1]
        p = arg[k]
        n_pred = 0
        t = p - 1
        while t >= 0 and n_pred < block - 1:
            if keep[k, t]:
                t = run_lo[k, t] - 1
                continue
            seq[block - 2 - n_pred] = t
            n_pred += 1
            t -= 1
        if n_pred < block - 1:
            seq[:n_pred] = seq[block - 1 - n_pred : block - 1].copy()
        lo = p - 1 if p > 0 and keep[k, p - 1] else p
        if lo < p:
            lo = run_lo[k, p - 1]
        t, taken = p, 0
        while taken < block:  # keep the window's entries (expansion: it may straddle kept runs)
            if keep[k, t]:
                t = run_hi[k, t] + 1
                continue
            keep[k, t] = True
            win[k, t] = _NEG
            taken += 1
            t += 1
        hi = t - 1
        if t < c_out and keep[k, t]:
            hi = run_hi[k, t]
            t = hi + 1
        run_lo[k, hi], run_hi[k, lo] = lo, hi
        n_seq = n_pred
        while t < c_out and n_seq < n_pred + block - 1:
            seq[n_seq] = t
            n_seq += 1
            t += 1
            if t < c_out and keep[k, t]:
                t = run_hi[k, t] + 1
        # the windows that started before the pick now reach across it
        s = 0.0
        for i in range(n_pred):
            if i + block > n_seq:
                win[k, seq[i]] = _NEG
            elif i == 0:
                for j in range(block):
                    s += score_t[k, seq[j]]
                win[k, seq[i]] = s
            else:
                s += score_t[k, seq[i + block - 1]] - score_t[k, seq[i - 1]]
                win[k, seq[i]] = s
        first = seq[0] if n_pred else p
        c = first // block
        while c * block <= hi:  # chunks between the first changed window and the end of the run
            cbest[k, c], carg[k, c] = _chunk_best(win[k], c, block)
            c += 1
        best[k], arg[k] = _channel_best(cbest[k], carg[k])
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
def _column_gains(score_t: np.ndarray, block: int) -> np.ndarray:
    """gains[k, j] = F_k(j + 1) − F_k(j), F_k(j) the best score of j windows in channel k; (C_in, ⌊C_out/N⌋)."""
    c_in, c_out = score_t.shape
    most = c_out // block
    gains = np.empty((c_in, most))
    for k in range(c_in):
        f = _column_table(score_t[k], block, most)[c_out]
        for j in range(most):
            gains[k, j] = f[j + 1] - f[j]
    return gains


@numba.njit(cache=True)
def _optimal_mask(score_t: np.ndarray, counts: np.ndarray, block: int) -> np.ndarray:
    """The best ``counts[k]`` windows of every channel k, traced back through its table."""
    c_in, c_out = score_t.shape
    most = c_out // block
    keep = np.zeros((c_in, c_out), np.bool_)
    for k in range(c_in):
        t = counts[k]
        if t == 0:
            continue
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
    gains = _column_gains(score_t, int(block))
    # F_k is concave, so the largest n_blocks gains over all channels (each channel's gains come
    # non-increasing, ties broken towards the earlier entry) sum to the optimum
    chosen = np.argsort(-gains.ravel(), kind="stable")[: int(n_blocks)]
    counts = np.bincount(chosen // gains.shape[1], minlength=gains.shape[0])
    return _selection(score_t, _optimal_mask(score_t, counts, int(block)), block)
