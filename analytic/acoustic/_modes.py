"""Natural frequencies: rigid cavity, coupled plate–cavity (depth-exact, Sylvester inertia) and the full-form cross-check."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq

from ._full import full_form_eigenfrequencies
from ._geometry import Air, PlateCavity, PointMass, check_mass
from ._modal import ModalTables, modal_tables, mode_counts, plate_shapes, rigid_cavity_frequencies
from ._reference import depth_exact_matrix

GROWTH = 1.5
"""Mode counts grow by this factor per axis between convergence checks of :func:`coupled_modes`."""

MAX_CONVERGENCE_MODES = 96
"""Per-axis cap on the plate and transverse mode counts reached by the convergence loop."""

BISECTION_RTOL = 1e-11
"""Relative width at which a bracketed natural frequency is returned."""


def _check_count(count: int) -> int:
    if not (isinstance(count, (int, np.integer)) and count >= 1):
        raise ValueError(f"count must be an int >= 1 (number of frequencies); got count={count!r}")
    return int(count)


def cavity_modes(size: Sequence[float], air: Air | None = None, count: int = 10) -> np.ndarray:
    """Lowest ``count`` non-zero natural frequencies of the rigid box ``size`` ((lx, ly, lz) or (lx, lz), m), Hz ascending.

    ``air`` defaults to :class:`Air` () (c = 343 m/s).

    f = (c/2)·√(Σ (n_d/L_d)²) over every index combination except (0, …, 0); shape (count,).
    """
    sizes = tuple(float(v) for v in size)
    if len(sizes) not in (2, 3) or not all(math.isfinite(v) and v > 0 for v in sizes):
        raise ValueError(f"size must be 2 or 3 positive finite lengths in metres; got size={size!r}")
    return rigid_cavity_frequencies(sizes, (air or Air()).speed, _check_count(count))


class _Inertia:
    """Counting functions ν_b(ω) = #{coupled natural frequencies < ω} of the lossless depth-exact form, per block.

    Z(ω) is real symmetric; between the poles of g (rigid-cavity resonances k_z·lz = mπ of the
    transverse modes that couple to the block) its eigenvalues decrease monotonically, one crossing
    zero at each natural frequency, and at a pole one eigenvalue jumps from −∞ to +∞. Hence
    ν_b(ω) = (negative eigenvalues of Z_b(ω)) + (poles of the block below ω). Blocks are the parity
    classes of the plate modes (one dense block when point masses break the symmetry).
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
        self.poles = []
        for a_index, b_index in self.blocks:
            rows = (np.abs(tables.ix[0][:, a_index]).max(axis=1) > 0)[:, None] & (
                np.abs(tables.iy[0][:, b_index]).max(axis=1) > 0
            )[None, :]
            coupled = rows.ravel()
            origin = (tables.transverse_modes[coupled] == 0).all(axis=1)
            self.poles.append((tables.kappa2[0][coupled], origin))

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

    def pole_count(self, block: int, freq: float) -> int:
        """Poles k_z·lz = mπ (m ≥ 0; not (0, 0) with m = 0) of the block below ``freq``."""
        kappa2, origin = self.poles[block]
        kz2 = (2.0 * np.pi * freq / self.speed) ** 2 - kappa2
        above = kz2 > 0
        return int(
            np.sum(np.where(above, np.floor(np.sqrt(np.maximum(kz2, 0.0)) * self.lz / np.pi) + 1, 0) - (origin & above))
        )

    def count(self, block: int, freq: float) -> tuple[int, int]:
        """(ν_b, pole count) at ``freq``."""
        poles = self.pole_count(block, freq)
        return int(np.sum(self.eigenvalues(block, freq) < 0.0)) + poles, poles


def _block_roots(counter: _Inertia, block: int, hi: float, known: dict[float, tuple[int, int]]) -> list[float]:
    """Every natural frequency of ``block`` below ``hi`` (Hz): bisection on ν_b until a root is isolated
    from the others and from the poles, then Brent's method on the eigenvalue that crosses zero."""
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
            mid = 0.5 * (below + above)
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
        counts = [counter.count(b, hi) for b in blocks]
        if sum(n for n, _ in counts) >= count:
            break
        hi *= 2.0
    roots = []
    for b in blocks:
        roots += _block_roots(counter, b, hi, {1e-6 * start: (0, 0), hi: counts[b]})
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

    Sylvester-inertia bisection on Z(ω) between the poles of g (note §2.3, last paragraph); loss
    factors of the cavity are ignored. With ``n_plate`` and ``n_transverse`` both None the result
    is converged: the counts start from the rule of :func:`response` at the highest frequency found
    and grow by ×1.5 per axis until the lowest ``count`` frequencies change by less than ``tol``
    (relative); otherwise the given counts (and the rule for the missing one) are used once.

    Raises:
        ValueError: bad count/tol/masses, or no convergence before 96 modes per axis.
    """
    count = _check_count(count)
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ValueError(f"tol must be in (0, 1) (relative change); got tol={tol!r}")
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
        if grown == counts:
            raise ValueError(
                f"coupled_modes did not converge to tol={tol:g} with {MAX_CONVERGENCE_MODES} modes per axis; "
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
    """Lowest ``count`` lossless natural frequencies of the truncated full form (note §2.3), Hz ascending.

    The unsymmetric eigenproblem over ``n_plate`` plate modes per in-plane axis and ``n_cavity``
    rigid-cavity modes per axis (int, or (ni, nj, nk) / (ni, nk)), with the spurious ω = 0 root
    removed. Converges slowly, O(1/N), from above: a cross-check of :func:`coupled_modes`.
    """
    count = _check_count(count)
    dim = cavity.dim
    per_axis = (n_cavity,) * dim if np.ndim(n_cavity) == 0 else tuple(n_cavity)  # type: ignore[arg-type]
    if len(per_axis) != dim or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in per_axis):
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
    tables = modal_tables(
        np.asarray([cavity.size]), np.array([plate.bending_stiffness]), np.array([plate.surface_density]), *counts
    )
    freqs = full_form_eigenfrequencies(tables, air.density, air.speed, int(per_axis[-1]))
    if len(freqs) < count:
        raise ValueError(f"count={count} exceeds the {len(freqs)} modes of the truncated system; raise n_cavity")
    return freqs[:count]
