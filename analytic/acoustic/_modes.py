"""Natural frequencies: rigid cavity, coupled plate–cavity (depth-exact, Sylvester inertia) and the full-form cross-check."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq

from ._full import full_form_eigenfrequencies
from ._geometry import Air, PlateCavity, PointMass, _bounded, check_air, check_mass
from ._modal import ModalTables, modal_tables, mode_counts, plate_shapes, rigid_cavity_frequencies
from ._reference import depth_exact_matrix

GROWTH = 1.5
"""Mode counts grow by this factor per axis between convergence checks of :func:`coupled_modes`."""

MAX_CONVERGENCE_MODES = 96
"""Per-axis cap on the plate and transverse mode counts reached by the convergence loop."""

BISECTION_RTOL = 1e-11
"""Relative width at which a bracketed natural frequency is returned."""


MAX_COUNT = 200
"""Most coupled natural frequencies per call (each costs a bisection on dense eigenvalue problems)."""

MAX_CAVITY_COUNT = 1000
"""Most rigid-cavity natural frequencies per call of :func:`cavity_modes`."""

MAX_FULL_FORM_SIZE = 3000
"""Largest dense unsymmetric eigenproblem (plate + cavity modes) of :func:`coupled_modes_full`."""

MAX_CONVERGENCE_PRODUCT = 2048
"""Most plate (or transverse) modes in all that the convergence loop of :func:`coupled_modes` reaches."""


def _check_count(count: int, high: int = MAX_COUNT) -> int:
    if isinstance(count, bool) or not (isinstance(count, (int, np.integer)) and 1 <= count <= high):
        raise ValueError(f"count must be an int in [1, {high}] (number of frequencies); got count={count!r}")
    return int(count)


def cavity_modes(size: Sequence[float], air: Air | None = None, count: int = 10) -> np.ndarray:
    """Lowest ``count`` non-zero natural frequencies of the rigid box ``size`` ((lx, ly, lz) or (lx, lz), m), Hz ascending.

    ``air`` defaults to :class:`Air` () (c = 343 m/s); each length in [0.01, 100] m; count in [1, 1000].

    f = (c/2)·√(Σ (n_d/L_d)²) over every index combination except (0, …, 0); shape (count,).
    """
    try:
        sizes = tuple(_bounded("cavity_modes", "size", v, "m", "length") for v in size)
    except TypeError:
        sizes = ()
    if len(sizes) not in (2, 3):
        raise ValueError(f"size must be 2 or 3 lengths in metres; got size={size!r}")
    return rigid_cavity_frequencies(sizes, check_air(air).speed, _check_count(count, MAX_CAVITY_COUNT))


POLE_GUARD = 1e-9
"""Relative distance kept between an inertia evaluation and a pole of g (a rigid-cavity resonance).

Exactly at a pole the sign of the diverging depth term is decided by rounding (and by the k_z² floor
at cut-on) while the pole count is decided by a different rounded comparison, so the two can
disagree and the count be off by one. Evaluations are therefore moved this far off every pole."""

POLE_GROUP_RTOL = 1e-10
"""Poles of different transverse modes closer than this (relative) are one multiple pole."""


class _Inertia:
    """Counting functions ν_b(ω) = #{coupled natural frequencies < ω} of the lossless depth-exact form, per block.

    Z(ω) is real symmetric; between the poles of g (rigid-cavity resonances k_z·lz = mπ of the
    transverse modes that couple to the block) its eigenvalues decrease monotonically, one crossing
    zero at each natural frequency. At a pole the diverging term −g·c cᵀ (c the coupling row of the
    transverse mode) sends one eigenvalue from −∞ to +∞; when several transverse modes share a pole,
    as many eigenvalues jump as the rank of their coupling rows. Hence ν_b(ω) = (negative eigenvalues
    of Z_b(ω)) + Σ_{poles p < ω} rank_p. ν_b is only evaluated at least POLE_GUARD (relative) away
    from a pole, where both terms are decided without ambiguity. Blocks are the parity classes of the
    plate modes (one dense block when point masses break the symmetry).
    """

    def __init__(self, cavity: PlateCavity, tables: ModalTables, masses: Sequence[PointMass]) -> None:
        self.tables = tables
        self.rho0 = cavity.air.density
        self.speed = cavity.air.speed
        self.lz = cavity.lz
        self.mass = np.array([m.mass for m in masses])
        (na, nb), n_masses = tables.plate_w2.shape[1:], len(masses)
        positions = np.array([np.atleast_1d(m.position) for m in masses]).reshape(1, n_masses, cavity.dim - 1)
        self.phi = plate_shapes(np.asarray([cavity.size]), positions, (na, nb))[0]
        self.plate_w2 = tables.plate_w2[0].ravel()
        if n_masses:
            self.blocks = [(np.arange(na), np.arange(nb))]
        else:
            self.blocks = [
                (np.arange(pa, na, 2), np.arange(pb, nb, 2)) for pa in range(min(2, na)) for pb in range(min(2, nb))
            ]
        self.modes = []
        for a_index, b_index in self.blocks:
            rows = np.einsum("ia,jb->ijab", tables.ix[0][:, a_index], tables.iy[0][:, b_index])
            rows = rows.reshape(tables.kappa2.shape[1], -1)
            coupled = np.abs(rows).max(axis=1) > 0
            origin = (tables.transverse_modes[coupled] == 0).all(axis=1)
            self.modes.append((tables.kappa2[0][coupled], origin, rows[coupled]))
        self._poles: list[tuple[float, np.ndarray, np.ndarray]] = [(0.0, np.zeros(0), np.zeros(0))] * len(self.blocks)

    def poles(self, block: int, freq: float) -> tuple[np.ndarray, np.ndarray]:
        """Poles of the block up to at least ``freq``: (frequencies Hz ascending, cumulative eigenvalue jumps)."""
        bound, freqs, jumps = self._poles[block]
        if freq <= bound:
            return freqs, jumps
        bound = 2.0 * freq
        kappa2, origin, rows = self.modes[block]
        k_max = 2.0 * np.pi * 1.01 * bound / self.speed  # poles a little past the bound: none lost to rounding
        top = np.floor(np.sqrt(np.maximum(k_max**2 - kappa2, 0.0)) * self.lz / np.pi).astype(np.int64)
        mode = np.repeat(np.arange(len(kappa2)), np.where(k_max**2 > kappa2, top + 1, 0))
        depth = np.concatenate([np.arange(t + 1) for t in top[k_max**2 > kappa2]]) if len(mode) else mode
        keep = ~(origin[mode] & (depth == 0))
        mode, depth = mode[keep], depth[keep]
        pole = self.speed * np.sqrt(kappa2[mode] + (depth * np.pi / self.lz) ** 2) / (2.0 * np.pi)
        order = np.argsort(pole)
        pole, mode = pole[order], mode[order]
        starts = np.flatnonzero(np.r_[True, np.diff(pole) > POLE_GROUP_RTOL * pole[1:]]) if len(pole) else mode
        ends = np.r_[starts[1:], len(pole)]
        rank = [1 if e - s == 1 else int(np.linalg.matrix_rank(rows[mode[s:e]])) for s, e in zip(starts, ends)]
        freqs, jumps = pole[starts], np.cumsum(rank)
        self._poles[block] = (bound, freqs, jumps)
        return freqs, jumps

    def eigenvalues(self, block: int, freq: float) -> np.ndarray:
        """Ascending eigenvalues of the real symmetric Z_b at ``freq`` (Hz), N/m."""
        omega = 2.0 * np.pi * freq
        a_index, b_index = self.blocks[block]
        z, _ = depth_exact_matrix(
            self.tables,
            0,
            omega,
            (omega / self.speed) ** 2,
            self.rho0,
            self.plate_w2,
            self.mass,
            self.phi,
            a_index,
            b_index,
        )
        return np.linalg.eigvalsh(z.real)

    def off_pole(self, block: int, freq: float, lo: float, hi: float) -> float | None:
        """``freq`` if it lies POLE_GUARD away from every pole, else the nearer of the two points that
        do just around the pole, if inside (lo, hi); None when (lo, hi) lies within the guard of a pole."""
        freqs, _ = self.poles(block, freq)
        i = int(np.searchsorted(freqs, freq))
        near = [p for p in freqs[max(i - 1, 0) : i + 1] if abs(freq - p) < POLE_GUARD * p]
        if not near:
            return freq
        p = near[0]
        options = [x for x in (p * (1.0 - 2.0 * POLE_GUARD), p * (1.0 + 2.0 * POLE_GUARD)) if lo < x < hi]
        return min(options, key=lambda x: abs(x - freq)) if options else None

    def pole_count(self, block: int, freq: float) -> int:
        """Eigenvalue jumps of the block's poles below ``freq`` (Hz, off the poles)."""
        freqs, jumps = self.poles(block, freq)
        i = int(np.searchsorted(freqs, freq))
        return int(jumps[i - 1]) if i else 0

    def count(self, block: int, freq: float) -> tuple[int, int]:
        """(ν_b, pole count) at ``freq`` (Hz, off the poles)."""
        poles = self.pole_count(block, freq)
        return int(np.sum(self.eigenvalues(block, freq) < 0.0)) + poles, poles


def _block_roots(counter: _Inertia, block: int, hi: float, known: dict[float, tuple[int, int]]) -> list[float]:
    """Every natural frequency of ``block`` below ``hi`` (Hz): bisection on ν_b until a root is isolated
    from the others and from the poles, then Brent's method on the eigenvalue that crosses zero. A root
    within POLE_GUARD of a pole is returned as the centre of its bracket."""
    roots = []
    for target in range(1, known[hi][0] + 1):
        below = max(f for f, (n, _) in known.items() if n < target)
        above = min(f for f, (n, _) in known.items() if n >= target)
        while above - below > BISECTION_RTOL * above:
            (n_lo, p_lo), (n_hi, p_hi) = known[below], known[above]
            if n_hi == target and n_lo == target - 1 and p_lo == p_hi:
                index = n_lo - p_lo  # this eigenvalue decreases through zero inside (below, above)
                below = brentq(
                    lambda f, k=index: counter.eigenvalues(block, f)[k], below, above, xtol=BISECTION_RTOL * above
                )
                above = below
                break
            mid = counter.off_pole(block, 0.5 * (below + above), below, above)
            if mid is None:
                break
            known[mid] = counter.count(block, mid)
            below, above = (mid, above) if known[mid][0] < target else (below, mid)
        roots.append(0.5 * (below + above))
    return roots


def _lowest(counter: _Inertia, count: int, start: float) -> np.ndarray:
    """The ``count`` lowest coupled natural frequencies, Hz ascending (``start`` > 0 below the first one is a
    good first upper bracket; ν = 0 is assumed at 1e-6·start, where Z is the positive definite static stiffness)."""
    blocks = range(len(counter.blocks))
    hi = start
    while True:
        tops = [counter.off_pole(b, hi, 0.5 * hi, 2.0 * hi) for b in blocks]
        counts = [counter.count(b, top) for b, top in zip(blocks, tops)]  # type: ignore[arg-type]
        if sum(n for n, _ in counts) >= count:
            break
        hi *= 2.0
    roots = []
    for b, top in zip(blocks, tops):
        roots += _block_roots(counter, b, top, {1e-6 * start: (0, 0), top: counts[b]})  # type: ignore[index]
    return np.sort(roots)[:count]


def coupled_modes(
    cavity: PlateCavity,
    count: int,
    n_plate: int | tuple[int, int] | None = None,
    n_transverse: int | tuple[int, int] | None = None,
    tol: float = 1e-4,
    masses: Sequence[PointMass] = (),
) -> np.ndarray:
    """Lowest ``count`` lossless coupled natural frequencies (Hz, (count,) float64, ascending), depth-exact form.

    Sylvester-inertia bisection on Z(ω) between the poles of g (docs/models/acoustic.md §2.3, last paragraph); loss
    factors of the cavity are ignored. With ``n_plate`` and ``n_transverse`` both None the result
    is converged: the counts start from the rule of :func:`response` at the highest frequency found
    and grow by ×1.5 per axis until the lowest ``count`` frequencies change by less than ``tol``
    (relative); otherwise the given counts (and the rule for the missing one) are used once.

    Args:
        cavity: the cavity. count: how many frequencies, in [1, 200]. n_plate, n_transverse: explicit
            mode counts per in-plane axis (at most 64 per axis, 1024 in all). tol: relative change
            in [1e-9, 0.1]. masses: :class:`PointMass` items on the plate.

    Raises:
        ValueError: bad cavity/count/tol/masses/counts, or no convergence before 96 modes per axis
            (2048 in all).
    """
    if not isinstance(cavity, PlateCavity):
        raise ValueError(f"cavity must be an acoustic.PlateCavity; got cavity={cavity!r}")
    count = _check_count(count)
    if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and 1e-9 <= tol <= 0.1):
        raise ValueError(f"tol must lie in [1e-9, 0.1] (relative change); got tol={tol!r}")
    masses = list(masses)
    for mass in masses:
        check_mass(cavity, mass)
    plate, air = cavity.plate, cavity.air
    args = (
        np.asarray([cavity.size]),
        np.array([plate.bending_stiffness]),
        np.array([plate.surface_density]),
        np.array([air.speed]),
    )
    start = 0.5 * float(cavity_modes(cavity.size, air, 1)[0])

    def solve(counts: tuple[tuple[int, int], tuple[int, int]]) -> np.ndarray:
        tables = modal_tables(args[0], args[1], args[2], *counts)
        return _lowest(_Inertia(cavity, tables, masses), count, start)

    fixed = n_plate is not None or n_transverse is not None
    guess = solve(mode_counts(*args, f_max=start, n_plate=n_plate, n_transverse=n_transverse))
    counts = mode_counts(*args, f_max=float(guess[-1]), n_plate=n_plate, n_transverse=n_transverse)
    freqs = solve(counts)
    if fixed:
        return freqs
    while True:
        grown = tuple(
            tuple(min(MAX_CONVERGENCE_MODES, math.ceil(GROWTH * n)) if n > 1 else 1 for n in c) for c in counts
        )
        if grown == counts or max(math.prod(c) for c in grown) > MAX_CONVERGENCE_PRODUCT:
            raise ValueError(
                f"coupled_modes did not converge to tol={tol:g} with {MAX_CONVERGENCE_MODES} modes per axis "
                f"({MAX_CONVERGENCE_PRODUCT} in all); "
                "raise tol or pass n_plate and n_transverse"
            )
        counts = grown  # type: ignore[assignment]
        new = solve(counts)
        if np.max(np.abs(new / freqs - 1.0)) < tol:
            return new
        freqs = new


def coupled_modes_full(
    cavity: PlateCavity,
    count: int,
    n_plate: int | tuple[int, int] = 12,
    n_cavity: int | tuple[int, ...] = 12,
) -> np.ndarray:
    """Lowest ``count`` lossless natural frequencies of the truncated full form (docs/models/acoustic.md §2.3), Hz ascending.

    The unsymmetric eigenproblem over ``n_plate`` plate modes per in-plane axis and ``n_cavity``
    rigid-cavity modes per axis (int, or (ni, nj, nk) / (ni, nk)), with the spurious ω = 0 root
    removed. Converges slowly, O(1/N), from above: a cross-check of :func:`coupled_modes`. The dense
    problem holds at most 3000 plate + cavity modes; ``count`` is at most 200.
    """
    if not isinstance(cavity, PlateCavity):
        raise ValueError(f"cavity must be an acoustic.PlateCavity; got cavity={cavity!r}")
    count = _check_count(count)
    dim = cavity.dim
    try:
        per_axis = (n_cavity,) * dim if np.ndim(n_cavity) == 0 else tuple(n_cavity)  # type: ignore[arg-type]
    except TypeError:
        per_axis = ()
    if len(per_axis) != dim or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in per_axis
    ):
        raise ValueError(f"n_cavity must be an int >= 1 or {dim} ints >= 1 (modes per axis); got n_cavity={n_cavity!r}")
    plate, air = cavity.plate, cavity.air
    counts = mode_counts(
        np.asarray([cavity.size]),
        np.array([plate.bending_stiffness]),
        np.array([plate.surface_density]),
        np.array([air.speed]),
        1.0,
        n_plate,
        per_axis[:-1],
    )
    size = counts[0][0] * counts[0][1] + math.prod(int(n) for n in per_axis)
    if size > MAX_FULL_FORM_SIZE:
        raise ValueError(
            f"the full form's dense eigenproblem holds at most {MAX_FULL_FORM_SIZE} plate + cavity modes; got "
            f"n_plate={n_plate!r}, n_cavity={n_cavity!r} ({size})"
        )
    tables = modal_tables(
        np.asarray([cavity.size]), np.array([plate.bending_stiffness]), np.array([plate.surface_density]), *counts
    )
    freqs = full_form_eigenfrequencies(tables, air.density, air.speed, int(per_axis[-1]))
    if len(freqs) < count:
        raise ValueError(f"count={count} exceeds the {len(freqs)} modes of the truncated system; raise n_cavity")
    return freqs[:count]
