"""Modal ingredients shared by the NumPy reference, the Numba kernels and post-processing (docs/models/acoustic.md §2.2, §2.4).

Everything here is plain NumPy, vectorised over a leading design axis where it says so. The
2D analogue is handled as a 3D problem with one trivial y "mode": one plate function φ_b = 1, one
transverse function cos(0) = 1, I_y = 1, ε_y = 1 and κ_y = 0, with S = lx (per unit width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

MIN_MODES = 8
"""Default minimum number of plate and of transverse modes per in-plane axis."""

MAX_MODES = 32
"""Default cap on the number of plate and of transverse modes per in-plane axis."""

MAX_AXIS_MODES = 64
"""Largest explicit plate or transverse mode count per in-plane axis."""

MAX_MODE_PRODUCT = 1024
"""Largest explicit number of plate (or transverse) modes in all: Z is dense in them (16 MB at 1024)."""

MODE_FREQUENCY_MULTIPLE = 2.0
"""Default rule: keep every mode along an axis whose frequency is at most this multiple of the top frequency."""

KZ2_FLOOR = 1e-15
"""Relative floor on |k_z²|: an exact lossless rigid-cavity resonance k_z = 0 is evaluated at
k_z² = KZ2_FLOOR·|k²|, i.e. at a frequency moved by about 5e-16 relative (below the rounding of the input)."""


def coupling_integrals(n: np.ndarray, q: np.ndarray, length: np.ndarray | float) -> np.ndarray:
    """I(n, q, L) = ∫₀ᴸ cos(nπx/L)·sin(qπx/L) dx, m (docs/models/acoustic.md §2.2), broadcast over n, q and L.

    ``n`` ≥ 0 are cavity (cosine) indices, ``q`` ≥ 1 plate (sine) indices; zero unless n + q is odd.
    """
    n = np.asarray(n, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    odd = (n + q) % 2 == 1
    denominator = np.where(odd, q * q - n * n, 1.0)
    return np.where(odd, np.asarray(length) / np.pi * 2.0 * q / denominator, 0.0)


def _axis_count(name: str, value: int | tuple[int, ...] | None, dim: int) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        counts = (value,) * (dim - 1) if np.ndim(value) == 0 else tuple(value)  # type: ignore[arg-type]
    except TypeError:
        counts = ()
    valid = len(counts) == dim - 1 and all(
        isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 1 <= c <= MAX_AXIS_MODES for c in counts
    )
    if not valid or math.prod(int(c) for c in counts) > MAX_MODE_PRODUCT:
        want = (
            f"an int in [1, {MAX_AXIS_MODES}]"
            if dim == 2
            else f"an int or a pair (nx, ny) of ints in [1, {MAX_AXIS_MODES}]"
        )
        raise ValueError(
            f"{name} must be {want} for a {dim}D cavity, at most {MAX_MODE_PRODUCT} modes in all; got {name}={value!r}"
        )
    return (int(counts[0]), int(counts[1]) if dim == 3 else 1)


def modes_below(
    length: ArrayLike,
    bending_stiffness: ArrayLike,
    surface_density: ArrayLike,
    speed: ArrayLike,
    f_top: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Modes along one in-plane axis of length L needed to hold every mode up to ``f_top``.

    The one mode-count rule of the model (shared by the default mode set of :func:`response` and
    the env's check that a design is resolved by its mode set):

    - plate: the largest q with f(q, 1) = (π/2)·√(D/m″)·[(q/L)² + (1/L_other)²] ≤ f_top, bounded
      above by q ≤ L·√(2·f_top/(π·√(D/m″))) (the other axis' term dropped);
    - cavity cross-modes: every n with c·n/(2L) ≤ f_top, so ⌊2·L·f_top/c⌋ + 1 modes (n = 0 included).

    Args:
        length: L, m; bending_stiffness: D, N·m; surface_density: m″, kg/m²; speed: c, m/s;
        f_top: Hz. Arrays broadcast together.

    Returns:
        ``(plate, cavity)``: float64 arrays of the broadcast shape (whole numbers).
    """
    length, top = np.asarray(length, dtype=np.float64), np.asarray(f_top, dtype=np.float64)
    root = np.sqrt(np.asarray(bending_stiffness, dtype=np.float64) / np.asarray(surface_density, dtype=np.float64))
    plate = np.floor(length * np.sqrt(2.0 * top / (np.pi * root)))
    cavity = np.floor(2.0 * length * top / np.asarray(speed, dtype=np.float64)) + 1.0
    return plate, cavity


def mode_counts(
    sizes: np.ndarray,
    bending_stiffness: np.ndarray,
    surface_density: np.ndarray,
    speed: np.ndarray,
    f_max: float,
    n_plate: int | tuple[int, int] | None,
    n_transverse: int | tuple[int, int] | None,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Plate and transverse mode counts per in-plane axis, ``((na, nb), (ni, nj))`` (nb = nj = 1 in 2D).

    Default rule (per axis, taken over every design of a batch): keep every plate mode q whose
    frequency f(q, 1) and every cavity cross-mode n whose frequency c·n/(2L) is at most
    MODE_FREQUENCY_MULTIPLE·f_max, with at least MIN_MODES and at most MAX_MODES plate modes, and at
    least as many transverse as plate modes. ``sizes`` is (n_design, dim) m; the other arrays are
    (n_design,); ``f_max`` in Hz. An explicit ``n_plate`` / ``n_transverse`` overrides the rule.
    """
    dim = sizes.shape[1]
    plate = _axis_count("n_plate", n_plate, dim)
    transverse = _axis_count("n_transverse", n_transverse, dim)
    top = MODE_FREQUENCY_MULTIPLE * f_max
    rule_plate, rule_transverse = [], []
    for axis in range(dim - 1):
        q_max, n_cavity = modes_below(sizes[:, axis], bending_stiffness, surface_density, speed, top)
        n_plate_axis = int(min(MAX_MODES, max(MIN_MODES, q_max.max())))
        n_cavity_axis = int(n_cavity.max())
        rule_plate.append(n_plate_axis)
        rule_transverse.append(int(min(MAX_MODES, max(n_plate_axis, n_cavity_axis))))
    if dim == 2:
        rule_plate.append(1)
        rule_transverse.append(1)
    return plate or (rule_plate[0], rule_plate[1]), transverse or (rule_transverse[0], rule_transverse[1])


@dataclass(frozen=True)
class ModalTables:
    """Frequency-independent modal tables of ``n_design`` cavities with one shared mode set.

    Attributes:
        dim: 2 or 3.
        ix: (n_design, ni, na) float64, m; I(i, a, lx), transverse index i = 0…ni−1, plate a = 1…na.
        iy: (n_design, nj, nb) float64, m; I(j, b, ly); in 2D (n_design, 1, 1) ones (dimensionless).
        kx2: (n_design, ni) float64, 1/m²; (iπ/lx)².
        ky2: (n_design, nj) float64, 1/m²; (jπ/ly)² (zeros in 2D).
        eps_x: (ni,) float64; ε_i (1 for i = 0, ½ otherwise). eps_y: (nj,) float64 (ones in 2D).
        plate_w2: (n_design, na, nb) float64, rad²/s²; lossless in-vacuo ω_ab².
        modal_mass: (n_design,) float64; M_s = m″·S/4 (kg) in 3D, m″·lx/2 (kg/m) in 2D.
        area: (n_design,) float64; S = lx·ly (m²) or lx (m).
        lz: (n_design,) float64, m; cavity depth.
        plate_modes: (na·nb, dim − 1) int64; (a, b) or (a,) per flattened plate mode (row-major a, b).
        transverse_modes: (ni·nj, dim − 1) int64; (i, j) or (i,) per flattened transverse mode.
    """

    dim: int
    ix: np.ndarray
    iy: np.ndarray
    kx2: np.ndarray
    ky2: np.ndarray
    eps_x: np.ndarray
    eps_y: np.ndarray
    plate_w2: np.ndarray
    modal_mass: np.ndarray
    area: np.ndarray
    lz: np.ndarray
    plate_modes: np.ndarray
    transverse_modes: np.ndarray

    @cached_property
    def coupling(self) -> np.ndarray:
        """C_t[ij, ab] = I(i, a, lx)·I(j, b, ly): (n_design, ni·nj, na·nb) float64."""
        n_d, ni, na = self.ix.shape
        nj, nb = self.iy.shape[1:]
        return np.einsum("dia,djb->dijab", self.ix, self.iy).reshape(n_d, ni * nj, na * nb)

    @property
    def eps(self) -> np.ndarray:
        """ε_i·ε_j per flattened transverse mode: (ni·nj,) float64."""
        return np.outer(self.eps_x, self.eps_y).ravel()

    @property
    def kappa2(self) -> np.ndarray:
        """(iπ/lx)² + (jπ/ly)² per flattened transverse mode: (n_design, ni·nj) float64, 1/m²."""
        return (self.kx2[:, :, None] + self.ky2[:, None, :]).reshape(self.kx2.shape[0], -1)


def modal_tables(
    sizes: np.ndarray,
    bending_stiffness: np.ndarray,
    surface_density: np.ndarray,
    n_plate: tuple[int, int],
    n_transverse: tuple[int, int],
) -> ModalTables:
    """Build :class:`ModalTables` for ``sizes`` (n_design, dim) m, D (n_design,) N·m and m″ (n_design,) kg/m²."""
    dim = sizes.shape[1]
    (na, nb), (ni, nj) = n_plate, n_transverse
    lx = sizes[:, 0]
    a = np.arange(1, na + 1)
    i = np.arange(ni)
    ix = coupling_integrals(i[None, :, None], a[None, None, :], lx[:, None, None])
    kx2 = (i[None, :] * np.pi / lx[:, None]) ** 2
    eps_x = np.where(i == 0, 1.0, 0.5)
    stiffness_ratio = (bending_stiffness / surface_density)[:, None, None]
    if dim == 3:
        ly = sizes[:, 1]
        b = np.arange(1, nb + 1)
        j = np.arange(nj)
        iy = coupling_integrals(j[None, :, None], b[None, None, :], ly[:, None, None])
        ky2 = (j[None, :] * np.pi / ly[:, None]) ** 2
        eps_y = np.where(j == 0, 1.0, 0.5)
        wavenumber2 = (a[None, :, None] * np.pi / lx[:, None, None]) ** 2 + (
            b[None, None, :] * np.pi / ly[:, None, None]
        ) ** 2
        area = lx * ly
        plate_modes = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)
        transverse_modes = np.stack(np.meshgrid(i, j, indexing="ij"), axis=-1).reshape(-1, 2)
    else:
        iy = np.ones((len(sizes), 1, 1))
        ky2 = np.zeros((len(sizes), 1))
        eps_y = np.ones(1)
        wavenumber2 = (a[None, :, None] * np.pi / lx[:, None, None]) ** 2
        area = lx.copy()
        plate_modes = a[:, None]
        transverse_modes = i[:, None]
    return ModalTables(
        dim=dim,
        ix=ix,
        iy=iy,
        kx2=kx2,
        ky2=ky2,
        eps_x=eps_x,
        eps_y=eps_y,
        plate_w2=stiffness_ratio * wavenumber2**2,
        modal_mass=surface_density * area / 2.0 ** (dim - 1),
        area=area,
        lz=sizes[:, -1].copy(),
        plate_modes=plate_modes.astype(np.int64),
        transverse_modes=transverse_modes.astype(np.int64),
    )


def plate_shapes(sizes: np.ndarray, positions: np.ndarray, n_plate: tuple[int, int]) -> np.ndarray:
    """φ_ab at plate points: (n_design, n_points, na·nb) float64.

    ``sizes`` (n_design, dim) m; ``positions`` (n_design, n_points, dim − 1) m ((x, y) or (x,)).
    """
    na, nb = n_plate
    phi_x = np.sin(np.arange(1, na + 1) * np.pi * positions[..., 0:1] / sizes[:, None, 0:1])
    if sizes.shape[1] == 2:
        return phi_x
    phi_y = np.sin(np.arange(1, nb + 1) * np.pi * positions[..., 1:2] / sizes[:, None, 1:2])
    return (phi_x[..., :, None] * phi_y[..., None, :]).reshape(*phi_x.shape[:2], na * nb)


def uniform_load_shape(tables: ModalTables) -> np.ndarray:
    """∫_S φ_ab dS per plate mode: (n_design, na·nb) float64, m² (3D) or m (2D); I(0,a,lx)·I(0,b,ly)."""
    return np.einsum("da,db->dab", tables.ix[:, 0, :], tables.iy[:, 0, :]).reshape(len(tables.area), -1)


def depth_wavenumber(k2: np.ndarray, kappa2: np.ndarray) -> np.ndarray:
    """k_z = √(k² − κ²) with Im k_z ≥ 0, complex128, broadcast over k² (complex) and κ² (1/m²).

    An exact zero k_z² (lossless rigid-cavity resonance) is replaced by KZ2_FLOOR·|k²|.
    """
    kz2 = np.asarray(k2 - kappa2, dtype=np.complex128)
    floor = KZ2_FLOOR * np.abs(k2) * np.ones_like(kz2.real)
    kz2 = np.where(np.abs(kz2) < floor, floor, kz2)
    kz = np.sqrt(kz2)
    return np.where(kz.imag < 0, -kz, kz)


def expm1_2ikzl(kz: np.ndarray, lz: np.ndarray | float) -> np.ndarray:
    """q = e^{2i·k_z·lz} − 1 without cancellation (|q + 1| ≤ 1 for Im k_z ≥ 0), complex128."""
    re = -2.0 * kz.imag * lz
    im = 2.0 * kz.real * lz
    return np.expm1(re) * np.cos(im) - 2.0 * np.sin(0.5 * im) ** 2 + 1j * np.exp(re) * np.sin(im)


def depth_terms(kz: np.ndarray, lz: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled depth factors of the depth-exact form (docs/models/acoustic.md §2.4), broadcast over k_z and lz.

    Returns ``(cot_term, msq_term)``:
        cot_term = cot(k_z·lz)/k_z = i(q + 2)/(k_z·q), m, so g_ij = −ρ0ω²·cot_term/(S·ε_iε_j).
        msq_term = ½[sinh(2βlz)/(2βlz) + sin(2αlz)/(2αlz)] / |k_z·sin(k_z·lz)|², m², written as
            2[−expm1(−4βlz)/(4βlz) + sinc(2αlz)·e^{−2βlz}] / (|k_z|²|q|²) with k_z = α + iβ,
            so no factor overflows for strongly evanescent terms; both ratios → 1 at β → 0, α → 0.
    """
    q = expm1_2ikzl(kz, lz)
    cot_term = 1j * (q + 2.0) / (kz * q)
    u = 2.0 * kz.imag * lz
    v = 2.0 * kz.real * lz
    safe_u = np.where(u == 0.0, 1.0, u)
    sinh_ratio = np.where(u == 0.0, 1.0, -np.expm1(-2.0 * safe_u) / (2.0 * safe_u))
    msq_term = 2.0 * (sinh_ratio + np.sinc(v / np.pi) * np.exp(-u)) / (np.abs(kz) ** 2 * np.abs(q) ** 2)
    return cot_term, msq_term


def depth_profile(kz: np.ndarray, lz: float, z: np.ndarray) -> np.ndarray:
    """cos(k_z·z)/(k_z·sin(k_z·lz)) = i[e^{ik_z(lz+z)} + e^{ik_z(lz−z)}]/(k_z·q), 1/m, bounded for 0 ≤ z ≤ lz."""
    q = expm1_2ikzl(kz, lz)
    return 1j * (np.exp(1j * kz * (lz + z)) + np.exp(1j * kz * (lz - z))) / (kz * q)


def cavity_mode_table(sizes: tuple[float, ...], counts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rigid-cavity modes with index < counts per axis: indices (n, dim) int64, κ² (n,) 1/m², Λ (n,).

    κ² = Σ (n_d·π/L_d)² and Λ = Π ε (ε_0 = 1, ε_{n>0} = ½).
    """
    grids = np.meshgrid(*[np.arange(c) for c in counts], indexing="ij")
    indices = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    kappa2 = sum((indices[:, d] * np.pi / sizes[d]) ** 2 for d in range(len(sizes)))
    weight = np.prod(np.where(indices == 0, 1.0, 0.5), axis=1)
    return indices, np.asarray(kappa2, dtype=np.float64), weight


def rigid_cavity_frequencies(sizes: tuple[float, ...], speed: float, count: int) -> np.ndarray:
    """Lowest ``count`` non-zero rigid-cavity natural frequencies, (count,) float64 Hz, ascending."""
    # first guess R^dim = count·2^dim·dim/(π·V) over-estimates Weyl's law (N ≈ (π/6)R³V in 3D, (π/4)R²A
    # in 2D, R = 2f/c); the loop below doubles the table until it provably holds every mode
    scale = (count * 2 ** len(sizes) * len(sizes) / (math.pi * math.prod(sizes))) ** (1.0 / len(sizes))
    per_axis = [int(math.ceil(2.0 * scale * length)) + 2 for length in sizes]
    while True:
        _, kappa2, _ = cavity_mode_table(sizes, tuple(per_axis))
        freqs = np.sort(speed * np.sqrt(kappa2) / (2.0 * np.pi))[1 : count + 1]
        bound = min(speed * (n - 1) / (2.0 * length) for n, length in zip(per_axis, sizes))
        if freqs[-1] <= bound:
            return freqs
        per_axis = [2 * n for n in per_axis]
