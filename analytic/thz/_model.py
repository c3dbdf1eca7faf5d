"""Public model functions: spectra, batches and resonances of nanogap-loop arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

from ._kernels import MAX_LATTICE_SPAN, transmission_batch
from ._materials import C0, MATERIAL_FIELDS, Drude, LoopArray, Materials, Metal, check_geometry, resolve_metal
from ._reference import spectrum_reference

GEOMETRY_FIELDS = ("gap", "thickness", "side_x", "side_y", "period_x", "period_y")
Method = Literal["numba", "numpy"]

FREQ_BOUNDS = (1e9, 1e14)
"""Accepted frequencies, Hz (1 GHz to 100 THz); each geometry and metal narrows them further
(see :func:`frequency_limit`)."""

K_PERIODS_BOUNDS = (2.0, 200.0)
"""Accepted circular cut K of the direct lattice sum, in units of 2π/min(Λ) (40 is converged to ~1e-4)."""

MAX_BATCH = 1_000_000
"""Most geometries in one :class:`LoopArrayBatch`."""

MAX_PAIRS = 10_000_000
"""Most (geometry, frequency) pairs in one call: memory and time grow linearly with it."""

MAX_REFERENCE_WORK = 1e6
"""method="numpy" materialises the whole lattice: k_periods²·max(Λ)/min(Λ) must stay below this
(about 4e6 lattice points, some 30 MB per array)."""

MAX_POINTS = 100_000
"""Largest scan of :func:`resonance`."""

METAL_FREQUENCY_FRACTION = 0.1
"""Frequencies must satisfy 2πf ≤ this fraction of ω_p: the surface-impedance metal needs |ε_m| ≫ 1."""


@dataclass(frozen=True)
class Spectrum:
    """Zero-order response of one loop array (shapes ``(n_freq,)``) or a batch (``(n_geom, n_freq)``).

    Attributes:
        freqs: float64, Hz.
        t: complex128; transmitted E-field in the substrate relative to the incident field.
        r: complex128; reflected E-field relative to the incident field.
        transmittance: float64; T00 = Re(n_sub)/Re(n_sup)·|t|².
        reflectance: float64; R00 = |r|².
        fe_avg: float64; |t|/β, β = wP/A, gap-averaged x-field normalised to the incident field.
        fe_peak: float64; fe_avg·π/(2 sin(π l_y/P)), the mid-side peak of the loop mode.
        fe_avg_substrate_normalised: float64; fe_avg·|1 + n_sub|/2, the experimental convention
            that normalises to the transmission of the bare substrate.
        above_diffraction: bool; True where a non-zero diffraction order propagates, so the
            zero-order quantities no longer carry all the transmitted power.
    """

    freqs: np.ndarray
    t: np.ndarray
    r: np.ndarray
    transmittance: np.ndarray
    reflectance: np.ndarray
    fe_avg: np.ndarray
    fe_peak: np.ndarray
    fe_avg_substrate_normalised: np.ndarray
    above_diffraction: np.ndarray

    @property
    def t_abs(self) -> np.ndarray:
        """|t| (float64, same shape as ``t``)."""
        return np.abs(self.t)

    @classmethod
    def from_amplitudes(cls, batch: LoopArrayBatch, freqs: ArrayLike, t: np.ndarray, r: np.ndarray) -> Spectrum:
        """The batched Spectrum of given zero-order amplitudes (from a surrogate, say).

        Args:
            batch: the loop arrays (geometry and materials set β, the FE factors and diffraction).
            freqs: (n_freq,) or (n_geom, n_freq) Hz. t, r: (n_geom, n_freq) complex128.
        """
        grid = np.broadcast_to(np.asarray(freqs, dtype=np.float64), np.shape(t))
        return _assemble(batch.geometry_matrix(), np.array(grid), t, r, batch.eps_substrate, batch.eps_superstrate)


@dataclass(frozen=True)
class Resonance:
    """Maximum of |t| in a frequency window.

    Attributes:
        frequency: Hz. t_abs: |t| there. fe_avg, fe_peak: field enhancements there (incident-field
        normalisation, see :class:`Spectrum`).
    """

    frequency: float
    t_abs: float
    fe_avg: float
    fe_peak: float


@dataclass(frozen=True)
class LoopArrayBatch:
    """Many loop arrays sharing materials: geometry fields are ``(n_geom,)`` float64 arrays, m.

    Built for search loops that evaluate thousands of new geometries at once. Validation is the
    same as :class:`LoopArray`, vectorised; an error names the first offending index.
    """

    gap: np.ndarray
    thickness: np.ndarray
    side_x: np.ndarray
    side_y: np.ndarray
    period_x: np.ndarray
    period_y: np.ndarray
    eps_gap: complex = Materials.eps_gap
    eps_substrate: complex = Materials.eps_substrate
    eps_superstrate: complex = Materials.eps_superstrate
    metal: Metal = Materials.metal

    def __post_init__(self) -> None:
        arrays = {}
        for name in GEOMETRY_FIELDS:
            try:
                value = np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64))
            except (TypeError, ValueError, OverflowError):
                raise ValueError(
                    f"{name} must be an array of lengths in metres; got {name}={getattr(self, name)!r}"
                ) from None
            arrays[name] = value
        shapes = {value.shape for value in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(
                f"geometry fields must be 1-D arrays of one length; got shapes {[v.shape for v in arrays.values()]}"
            )
        if not 1 <= len(arrays["gap"]) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} geometries; got {len(arrays['gap'])}")
        check_geometry(arrays, indexed=True)
        for name, value in arrays.items():
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        for name, value in Materials.of(self).as_dict().items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_arrays(cls, arrays: Sequence[LoopArray]) -> LoopArrayBatch:
        """Stack loop arrays that share eps_gap, eps_substrate, eps_superstrate and metal."""
        if len(arrays) == 0:
            raise ValueError("arrays must hold at least one LoopArray; got an empty sequence")
        first = arrays[0]
        for i, item in enumerate(arrays):
            for name in MATERIAL_FIELDS:
                if getattr(item, name) != getattr(first, name):
                    raise ValueError(
                        f"a batch shares its materials; arrays[{i}].{name}={getattr(item, name)!r} differs from "
                        f"arrays[0].{name}={getattr(first, name)!r}: evaluate them in separate batches"
                    )
        columns = {name: np.array([getattr(a, name) for a in arrays]) for name in GEOMETRY_FIELDS}
        return cls(**columns, **first.materials.as_dict())

    def __len__(self) -> int:
        return self.gap.shape[0]

    def __getitem__(self, index: int) -> LoopArray:
        values = {name: float(getattr(self, name)[index]) for name in GEOMETRY_FIELDS}
        return LoopArray(**values, **self.materials.as_dict())

    @property
    def materials(self) -> Materials:
        """The materials shared by the batch."""
        return Materials.of(self)

    def geometry_matrix(self) -> np.ndarray:
        """(n_geom, 6) float64, m; columns gap, thickness, side_x, side_y, period_x, period_y."""
        return np.stack([getattr(self, name) for name in GEOMETRY_FIELDS], axis=1)


def _check_freqs(freqs: ArrayLike, ndim: tuple[int, ...]) -> np.ndarray:
    try:
        array = np.asarray(freqs, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"freqs must be an array of frequencies in Hz; got freqs={freqs!r}") from None
    if array.ndim not in ndim or array.size == 0:
        raise ValueError(f"freqs must be a non-empty array with ndim in {ndim} (Hz); got shape {array.shape}")
    if array.size > MAX_PAIRS:
        raise ValueError(f"freqs may hold at most {MAX_PAIRS} values; got {array.size}")
    low, high = FREQ_BOUNDS
    bad = ~((array >= low) & (array <= high))
    if bad.any():
        raise ValueError(f"freqs must lie in [{low:g}, {high:g}] Hz; got {float(array[bad].flat[0])!r} Hz")
    return array


def _check_k_periods(k_periods: float) -> float:
    low, high = K_PERIODS_BOUNDS
    if isinstance(k_periods, bool) or not isinstance(k_periods, (int, float, np.integer, np.floating)):
        raise ValueError(f"k_periods must be a number (units of 2π/min(Λ)); got k_periods={k_periods!r}")
    if not low <= k_periods <= high:
        raise ValueError(f"k_periods must lie in [{low:g}, {high:g}] (units of 2π/min(Λ)); got k_periods={k_periods!r}")
    return float(k_periods)


def frequency_limit(batch: LoopArrayBatch, k_periods: float = 40.0) -> np.ndarray:
    """Highest accepted frequency per geometry, (n_geom,) float64, Hz.

    The smallest of: FREQ_BOUNDS[1]; k_periods·c/(4·n_max·min(Λ)), so that every order beyond the
    direct lattice sum is evanescent with |k| ≥ 4·n_max·k0 (the quasi-static tails hold; about
    k_periods/4 diffraction orders); and METAL_FREQUENCY_FRACTION·ω_p/(2π) for a Drude metal.
    """
    n_max = max(np.sqrt(complex(batch.eps_substrate)).real, np.sqrt(complex(batch.eps_superstrate)).real)
    limit = k_periods * C0 / (4.0 * n_max * np.minimum(batch.period_x, batch.period_y))
    drude = resolve_metal(batch.metal)
    metal = np.inf if drude is None else METAL_FREQUENCY_FRACTION * drude.plasma_frequency / (2.0 * np.pi)
    return np.minimum(np.minimum(limit, metal), FREQ_BOUNDS[1])


def _metal_args(metal: Metal) -> tuple[bool, float, float]:
    drude: Drude | None = resolve_metal(metal)
    return (True, 0.0, 0.0) if drude is None else (False, drude.plasma_frequency, drude.damping)


def _assemble(
    geoms: np.ndarray, freqs: np.ndarray, t: np.ndarray, r: np.ndarray, eps_sub: complex, eps_sup: complex
) -> Spectrum:
    gap, side_x, side_y, px, py = (geoms[:, i : i + 1] for i in (0, 2, 3, 4, 5))
    perimeter = 2.0 * (side_x + side_y)
    beta = gap * perimeter / (px * py)
    n_sub, n_sup = np.sqrt(complex(eps_sub)), np.sqrt(complex(eps_sup))
    fe_avg = np.abs(t) / beta
    diffraction = C0 / (max(n_sub.real, n_sup.real) * np.maximum(px, py))
    return Spectrum(
        freqs=freqs,
        t=t,
        r=r,
        transmittance=n_sub.real / n_sup.real * np.abs(t) ** 2,
        reflectance=np.abs(r) ** 2,
        fe_avg=fe_avg,
        fe_peak=fe_avg * np.pi / (2.0 * np.sin(np.pi * side_y / perimeter)),
        fe_avg_substrate_normalised=fe_avg * abs(1.0 + n_sub) / 2.0,
        above_diffraction=freqs > diffraction,
    )


def spectra(
    arrays: LoopArrayBatch | Sequence[LoopArray],
    freqs: ArrayLike,
    *,
    method: Method = "numba",
    k_periods: float = 40.0,
) -> Spectrum:
    """Zero-order transmission and field enhancement of many loop arrays in one call.

    Args:
        arrays: a :class:`LoopArrayBatch`, or a sequence of :class:`LoopArray` sharing materials.
        freqs: (n_freq,) float64, Hz, shared by every geometry; or (n_geom, n_freq), one row per
            geometry (an RL step evaluates each new geometry at its own target frequency). Each in
            [1e9, 1e14] Hz and at most :func:`frequency_limit` of its geometry; n_geom·n_freq ≤ 1e7.
        method: ``"numba"`` (parallel compiled kernel) or ``"numpy"`` (the slow reference).
        k_periods: circular cut K of the direct reciprocal-lattice sum, in units of 2π/min(Λ);
            in [2, 200], and k_periods·max(Λ)/min(Λ) ≤ 1e4 (with method="numpy" also
            k_periods²·max(Λ)/min(Λ) ≤ 1e6).

    Returns:
        Spectrum with every field of shape (n_geom, n_freq).

    Raises:
        ValueError: invalid geometry, a frequency outside its range, wrong shapes or sizes, an
            unknown method; raised before any computation.
    """
    batch = arrays if isinstance(arrays, LoopArrayBatch) else LoopArrayBatch.from_arrays(list(arrays))
    geoms = batch.geometry_matrix()
    grid = _check_freqs(freqs, (1, 2))
    grid = np.broadcast_to(grid, (len(batch), grid.shape[-1])) if grid.ndim == 1 else grid
    if grid.shape[0] != len(batch):
        raise ValueError(f"freqs of shape (n_geom, n_freq) needs n_geom={len(batch)} rows; got shape {grid.shape}")
    if grid.size > MAX_PAIRS:
        raise ValueError(f"n_geom·n_freq must be at most {MAX_PAIRS}; got {len(batch)}·{grid.shape[-1]}={grid.size}")
    k_periods = _check_k_periods(k_periods)
    if method not in ("numba", "numpy"):
        raise ValueError(f"method must be 'numba' or 'numpy'; got method={method!r}")
    ratio = float(np.max(np.maximum(batch.period_x, batch.period_y) / np.minimum(batch.period_x, batch.period_y)))
    if k_periods * ratio > MAX_LATTICE_SPAN:
        raise ValueError(
            f"k_periods·max(period)/min(period) must be at most {MAX_LATTICE_SPAN:g} (lattice rows per axis); "
            f"got k_periods={k_periods:g}, period ratio {ratio:g}"
        )
    if method == "numpy":
        if k_periods**2 * ratio > MAX_REFERENCE_WORK:
            raise ValueError(
                f"method='numpy' needs k_periods²·max(period)/min(period) <= {MAX_REFERENCE_WORK:g} (memory); "
                f"got k_periods={k_periods:g}, period ratio {ratio:g}: use method='numba'"
            )
    limit = frequency_limit(batch, k_periods)
    bad = grid > limit[:, None]
    if bad.any():
        g, f = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise ValueError(
            f"freqs must be at most {limit[g]:g} Hz for geometry {g} (k_periods·c/(4·n·min(period)) and "
            f"0.1·plasma_frequency/2π: beyond it the model's quasi-static tails or metal fail); got {float(grid[g, f])!r} Hz"
        )
    if method == "numba":
        t, r = transmission_batch(
            geoms,
            np.ascontiguousarray(grid),
            complex(batch.eps_gap),
            complex(batch.eps_substrate),
            complex(batch.eps_superstrate),
            *_metal_args(batch.metal),
            k_periods,
        )
    elif method == "numpy":
        pairs = [spectrum_reference(batch[i], grid[i], k_periods) for i in range(len(batch))]
        t, r = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return _assemble(geoms, np.array(grid), t, r, batch.eps_substrate, batch.eps_superstrate)


def spectrum(array: LoopArray, freqs: ArrayLike, *, method: Method = "numba", k_periods: float = 40.0) -> Spectrum:
    """Zero-order transmission and field enhancement of a nanogap-loop array.

    Args:
        array: geometry and materials, SI units.
        freqs: (n_freq,) float64, Hz; in [1e9, 1e14] and at most :func:`frequency_limit`.
            Frequencies above the first diffraction order are computed and flagged in
            ``above_diffraction``.
        method: ``"numba"`` (compiled kernel) or ``"numpy"`` (reference).
        k_periods: circular cut K of the direct lattice sum, in units of 2π/min(Λ); in [2, 200].

    Returns:
        Spectrum: t, r (n_freq,) complex128; transmittance, reflectance, fe_avg, fe_peak,
        fe_avg_substrate_normalised (n_freq,) float64; above_diffraction (n_freq,) bool.

    Raises:
        ValueError: a frequency outside its range (see :func:`spectra`).
    """
    if not isinstance(array, LoopArray):
        raise ValueError(f"array must be a thz.LoopArray (use thz.spectra for batches); got {type(array).__name__}")
    grid = _check_freqs(freqs, (1,))
    batch = spectra([array], grid, method=method, k_periods=k_periods)
    return Spectrum(**{f.name: getattr(batch, f.name)[0] for f in fields(Spectrum)})


def resonance(array: LoopArray, fmin: float, fmax: float, *, points: int = 256, k_periods: float = 40.0) -> Resonance:
    """Frequency of maximum |t| in [fmin, fmax], with |t| and the field enhancements there.

    A uniform scan of ``points`` frequencies brackets the maximum, then a bounded Brent search
    refines it to 1e-9 relative in frequency.

    Args:
        array: the loop array. fmin, fmax: window, Hz, 1e9 ≤ fmin < fmax ≤ 1e14 (and fmax at most
        :func:`frequency_limit`). points: scan size, an int in [3, 100000].

    Raises:
        ValueError: an invalid window or scan size.
    """
    low, high = FREQ_BOUNDS
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a frequency in Hz; got {name}={value!r}")
        if not low <= value <= high:
            raise ValueError(f"{name} must lie in [{low:g}, {high:g}] Hz; got {name}={value!r}")
    if not fmin < fmax:
        raise ValueError(f"need fmin < fmax (Hz); got fmin={fmin!r}, fmax={fmax!r}")
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or not 3 <= points <= MAX_POINTS:
        raise ValueError(f"points must be an int in [3, {MAX_POINTS}]; got points={points!r}")
    grid = np.linspace(fmin, fmax, points)
    scan = spectrum(array, grid, k_periods=k_periods)
    i = int(np.argmax(scan.t_abs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, points - 1)]

    def negative_t(f: float) -> float:
        return -float(spectrum(array, [f], k_periods=k_periods).t_abs[0])

    best = minimize_scalar(negative_t, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9 * grid[i]})
    f_best = float(best.x) if -best.fun >= scan.t_abs[i] else float(grid[i])
    at = spectrum(array, [f_best], k_periods=k_periods)
    return Resonance(f_best, float(at.t_abs[0]), float(at.fe_avg[0]), float(at.fe_peak[0]))
