"""Public finite-element reference functions: coupled modes, forced response, Richardson, timing."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from analytic.acoustic import PlaneWave, PlateCavity, PointMass, check_mass, sound_level

from ._assembly import (
    Operators,
    Params,
    as_loads,
    check_cavity,
    check_loads,
    frequency_check,
    grid_cells,
    halving_cells,
    monopoles,
    operators,
    plate_load,
)
from ._solvers import Modes, SparseSolver, TensorSolver, sparse_modes, tensor_modes

Method = Literal["tensor", "sparse"]



def _check_method(method: object) -> Method:
    if method not in ("tensor", "sparse"):
        raise ValueError(
            f"method must be 'tensor' (default, fast) or 'sparse' (SuperLU of the full matrix); got method={method!r}"
        )
    return method  # type: ignore[return-value]


def _check_plate_order(plate_order: object) -> int:
    if plate_order not in (2, 4) or isinstance(plate_order, bool):
        raise ValueError(
            f"plate_order must be 4 (default, fourth-order plate Laplacian) or 2 (the classic 3-point stencil); got plate_order={plate_order!r}"
        )
    return int(plate_order)  # type: ignore[arg-type]


def _check_masses(cavity: PlateCavity, masses: Sequence[PointMass]) -> list[PointMass]:
    out = list(masses)
    for mass in out:
        check_mass(cavity, mass)
    return out


def _check_count(count: object) -> int:
    if not (isinstance(count, (int, np.integer)) and not isinstance(count, bool) and count >= 1):
        raise ValueError(f"count must be an integer >= 1; got count={count!r}")
    return int(count)


def _modes(
    params: Params,
    ops: Operators,
    masses: list[PointMass],
    count: int,
    method: Method,
    vectors: bool,
    wanted: int | None = None,
) -> Modes:
    """The lowest ``count`` modes; the grid must resolve the lowest ``wanted`` (default all) of them."""
    n = ops.n_plate + ops.n_fluid
    if count + 2 >= n // 4:
        raise ValueError(f"count={count} is too many for a grid of {n} unknowns (cells={ops.cells}); refine h")
    run = tensor_modes if method == "tensor" else sparse_modes
    modes = run(ops, params, masses, count, vectors)
    frequency_check(ops, params, float(modes.freqs[(wanted or count) - 1]), "the highest mode,")
    return modes


def fe_coupled_modes(
    cavity: PlateCavity,
    count: int,
    masses: Sequence[PointMass] = (),
    *,
    h: float | None = None,
    cells: Sequence[int] | None = None,
    method: Method = "tensor",
    plate_order: int = 4,
) -> np.ndarray:
    """Lowest ``count`` coupled natural frequencies of the lossless cavity–plate system on one grid.

    Shift-invert Arnoldi (ARPACK) on the unsymmetric pencil (K, M): a ``LinearOperator`` applies
    (K − σM)⁻¹M with σ < 0 (minus the square of the first in-vacuo plate mode), so the eigenvalues
    nearest σ are the lowest. The spurious ω = 0 root (constant pressure) is removed. The loss
    factors of ``cavity`` are ignored.

    Args:
        cavity: 2D or 3D :class:`~analytic.acoustic.PlateCavity`.
        count: number of frequencies, ≥ 1.
        masses: :class:`~analytic.acoustic.PointMass` items on the plate (see :func:`fe_response`).
        h: largest cell size, m (see :func:`grid_cells`); or
        cells: cells per side, ``(nx, nz)`` or ``(nx, ny, nz)``.
        method: ``"tensor"`` (exact fluid elimination, one dense plate factorisation) or
            ``"sparse"`` (SuperLU of the full coupled matrix); same discrete problem.
        plate_order: 4 (default) or 2, order of the plate's second-difference stencil (see
            :mod:`workbench.reference._assembly`); 2 is the classic recipe of docs/models/acoustic.md §3.

    Returns:
        (count,) float64, Hz, ascending. Discretisation error O(h²): plate-controlled modes come
        out low, cavity-controlled ones may come out high.

    Raises:
        ValueError: a bad grid (see :func:`grid_cells`), ``count`` < 1 or too large for the grid, or
            fewer than 6 cells per acoustic or bending wavelength at the highest frequency found.
    """
    cavity = check_cavity(cavity)
    count = _check_count(count)
    method = _check_method(method)
    params = Params.of(cavity)
    ops = operators(params, grid_cells(cavity, h, cells), _check_plate_order(plate_order))
    return _modes(params, ops, _check_masses(cavity, masses), count, method, vectors=False).freqs[:count]


def richardson(coarse: ArrayLike, fine: ArrayLike, order: float = 2.0) -> np.ndarray:
    """Richardson extrapolation of two results on grids of cell size h and h/2.

    Args:
        coarse: result on the grid of cell size h, any shape, real or complex.
        fine: result on the grid of cell size h/2, same shape.
        order: convergence order p of the discretisation (2 for this model).

    Returns:
        (2^p·fine − coarse)/(2^p − 1), same shape: removes the O(h^p) term of the error.
    """
    coarse_a, fine_a = np.asarray(coarse), np.asarray(fine)
    if coarse_a.shape != fine_a.shape:
        raise ValueError(f"coarse and fine must have one shape; got {coarse_a.shape} and {fine_a.shape}")
    if not (isinstance(order, (int, float)) and math.isfinite(order) and order > 0):
        raise ValueError(f"order must be a positive number; got order={order!r}")
    factor = 2.0**order
    return (factor * fine_a - coarse_a) / (factor - 1.0)


def _mac(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Modal assurance criterion between the rows of a (n, m) and b (k, m): (n, k) in [0, 1]."""
    num = np.abs(a @ b.T) ** 2
    den = np.outer(np.sum(a * a, axis=1), np.sum(b * b, axis=1))
    return num / np.where(den > 0, den, 1.0)


def pair_modes(coarse: Modes, fine: Modes, max_shift: float = 0.1) -> np.ndarray:
    """Index into ``fine`` of the partner of each coarse mode, by shape (MAC of w plus MAC of p).

    ``fine.w`` must already be sampled at the coarse plate nodes (:func:`_sample_plate`); ``fine.p``
    is sampled here at the coarse fluid nodes (every other node). Pairs whose frequencies differ by
    more than ``max_shift`` (relative) are excluded; −1 marks a coarse mode without a partner.
    Sorting alone mispairs modes that cross between the two grids.
    """
    assert coarse.w is not None and coarse.p is not None and fine.w is not None and fine.p is not None
    n_c, n_f = coarse.freqs.size, fine.freqs.size
    fine_p = fine.p[(slice(None), *(slice(None, None, 2),) * (fine.p.ndim - 1))].reshape(n_f, -1)
    score = _mac(coarse.p.reshape(n_c, -1), fine_p) + _mac(coarse.w, fine.w)
    shift = np.abs(fine.freqs[None, :] / np.maximum(coarse.freqs[:, None], 1e-300) - 1.0)
    score = np.where(shift <= max_shift, score, -10.0)
    rows, cols = linear_sum_assignment(score, maximize=True)
    out = np.full(n_c, -1)
    ok = score[rows, cols] > 0
    out[rows[ok]] = cols[ok]
    return out


def _sample_plate(ops_fine: Operators, w: np.ndarray) -> np.ndarray:
    """Fine plate arrays (n, n_w fine) at the interior nodes of the coarse grid: (n, n_w coarse)."""
    shaped = w.reshape((w.shape[0], *ops_fine.plate_shape))
    return shaped[(slice(None), *(slice(1, None, 2),) * len(ops_fine.plate_shape))].reshape(w.shape[0], -1)


@dataclass(frozen=True)
class ExtrapolatedModes:
    """Richardson-extrapolated coupled modes; arrays of shape ``(count,)``, Hz.

    Attributes:
        freqs: (4·fine − coarse)/3 of each mode pair, ascending.
        coarse, fine: the single-grid frequencies of the same modes (paired by shape, so not
            necessarily ascending).
        cells: cells per side of the coarse grid (the fine grid has twice as many).
    """

    freqs: np.ndarray
    coarse: np.ndarray
    fine: np.ndarray
    cells: tuple[int, ...]


def fe_coupled_modes_extrapolated(
    cavity: PlateCavity,
    count: int,
    masses: Sequence[PointMass] = (),
    *,
    h: float,
    method: Method = "tensor",
    plate_order: int = 4,
) -> ExtrapolatedModes:
    """Coupled natural frequencies from grids h and h/2 with Richardson extrapolation (order 2).

    Modes are paired between the grids by their shapes (MAC), not by rank, because a
    plate-controlled mode that converges from below can cross a cavity-controlled one.

    Args:
        cavity: 2D or 3D cavity; loss factors are ignored.
        count: number of frequencies, ≥ 1.
        masses: point masses on the plate, see :func:`fe_response`.
        h: cell size of the coarse grid, m; must divide every side of the cavity.
        method, plate_order: see :func:`fe_coupled_modes`.

    Returns:
        :class:`ExtrapolatedModes` (``freqs`` (count,) Hz, the lowest extrapolated modes).

    Raises:
        ValueError: as :func:`fe_coupled_modes`, or ``h`` not dividing every side.
    """
    cavity = check_cavity(cavity)
    count = _check_count(count)
    method = _check_method(method)
    counts = halving_cells(cavity, h)
    params = Params.of(cavity)
    extra = max(4, count // 3)  # a mode may sit inside the window on one grid only
    plate = _check_plate_order(plate_order)
    ops_c = operators(params, counts, plate)
    ops_f = operators(params, tuple(2 * n for n in counts), plate)
    mass_list = _check_masses(cavity, masses)
    coarse = _modes(params, ops_c, mass_list, count + extra, method, vectors=True, wanted=count)
    fine = _modes(params, ops_f, mass_list, count + extra + 2, method, vectors=True, wanted=count)
    assert fine.w is not None
    partner = pair_modes(coarse, Modes(fine.freqs, _sample_plate(ops_f, fine.w), fine.p))
    if np.any(partner[:count] < 0):
        missing = coarse.freqs[:count][partner[:count] < 0]
        raise RuntimeError(
            f"no fine-grid partner (same shape, within 10 %) for the coarse-grid modes {np.round(missing, 3)} Hz; "
            f"refine h (got h={h!r} m)"
        )
    paired = partner >= 0
    f_c, f_f = coarse.freqs[paired], fine.freqs[partner[paired]]
    extrapolated = richardson(f_c, f_f)
    order = np.argsort(extrapolated)[:count]
    return ExtrapolatedModes(extrapolated[order], f_c[order], f_f[order], counts)


@dataclass(frozen=True)
class FEResponse:
    """Forced response of the finite-element model; arrays of shape ``(n_freq,)``.

    Attributes:
        freqs: float64, Hz.
        mean_square: float64, Pa²; ⟨|p|²⟩, the volume (2D: area) average of |p|² (peak amplitude
            squared), integrated exactly over the Q1 interpolant (pᴴMp/V).
        lp_avg: float64, dB re 20 µPa; 10·log10(⟨|p|²⟩/2 / p_ref²).
        energy: float64, J (2D: J/m); time-averaged acoustic potential energy V·⟨|p|²⟩/(4ρ0c²),
            lossless c.
        plate_mean_square: float64, m²; average of |w|² over the plate (trapezoidal rule).
        cells: cells per side of the grid. dofs: unknowns (plate + fluid nodes).
    """

    freqs: np.ndarray
    mean_square: np.ndarray
    lp_avg: np.ndarray
    energy: np.ndarray
    plate_mean_square: np.ndarray
    cells: tuple[int, ...]
    dofs: int


def _check_freqs(freqs: ArrayLike) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"freqs must be a non-empty 1-D array of positive frequencies in Hz; got freqs={freqs!r}")
    return values


def fe_response(
    cavity: PlateCavity,
    freqs: ArrayLike,
    force: object,
    masses: Sequence[PointMass] = (),
    *,
    h: float | None = None,
    cells: Sequence[int] | None = None,
    method: Method = "tensor",
    plate_order: int = 4,
) -> FEResponse:
    """Forced harmonic response of the cavity on one grid, one direct solve per frequency.

    Losses as in docs/models/acoustic.md §2.1: E → E(1+iη_s) in the plate stiffness and c² → c²(1+iη_a) in the fluid
    mass (M/(c²(1+iη_a))), from ``cavity.plate.loss_factor`` and ``cavity.air.loss_factor``.

    Args:
        cavity: 2D or 3D cavity.
        freqs: (n_freq,) Hz, positive.
        force: a :class:`~analytic.acoustic.PointForce` (3D, N), :class:`~analytic.acoustic.LineForce`
            (2D, N/m), :class:`~analytic.acoustic.PlaneWave` (blocked pressure −2·p_inc on the plate),
            :class:`~analytic.acoustic.Monopole` (interior source, volume velocity q), or a sequence
            of them (superposed). Point loads are shared bilinearly among the surrounding plate
            nodes, a monopole trilinearly among fluid nodes.
        masses: :class:`~analytic.acoustic.PointMass` items (kg in 3D, kg/m in 2D), added to the
            plate mass matrix as M·N Nᵀ with N the bilinear weights at the mass position.
        h: largest cell size, m (see :func:`grid_cells`); or
        cells: cells per side.
        method: ``"tensor"`` (default: exact fluid elimination, one dense n_w × n_w factorisation
            per frequency) or ``"sparse"`` (SuperLU of the full coupled matrix per frequency).
        plate_order: 4 (default) or 2, see :func:`fe_coupled_modes`.

    Returns:
        :class:`FEResponse`, arrays of shape (n_freq,).

    Raises:
        ValueError: a bad grid, loads or masses that do not fit the cavity, or fewer than 6 cells
            per acoustic or bending wavelength at ``max(freqs)``.
    """
    cavity = check_cavity(cavity)
    values = _check_freqs(freqs)
    method = _check_method(method)
    counts = grid_cells(cavity, h, cells)
    loads, mass_list = as_loads(force), list(masses)
    check_loads(cavity, loads, mass_list)
    params = Params.of(cavity)
    ops = operators(params, counts, _check_plate_order(plate_order))
    frequency_check(ops, params, float(values.max()), "max(freqs) =")
    solver = (TensorSolver if method == "tensor" else SparseSolver)(ops, params, mass_list)
    force_vector, sources = plate_load(ops, loads), monopoles(loads)
    ms = np.empty(values.size)
    plate_ms = np.empty(values.size)
    for i, f in enumerate(values):
        solution = solver.solve(2.0 * math.pi * float(f), force_vector, sources)
        ms[i] = solution.mean_square
        plate_ms[i] = float(np.sum(np.abs(solution.w) ** 2)) * ops.cell_area / params.plate_area
    energy = params.volume * ms / (4.0 * params.density * params.speed**2)
    return FEResponse(values, ms, sound_level(ms), energy, plate_ms, counts, ops.n_plate + ops.n_fluid)


@dataclass(frozen=True)
class FEResponseExtrapolated:
    """Richardson-extrapolated forced response; arrays of shape ``(n_freq,)``.

    Attributes:
        freqs: Hz.
        mean_square: Pa², (4·fine − coarse)/3 of ⟨|p|²⟩; NaN where it is not positive (grids
            outside the asymptotic range, typically on a sharp resonance: refine h).
        lp_avg: dB re 20 µPa of ``mean_square``.
        energy: J (2D: J/m), V·mean_square/(4ρ0c²).
        coarse, fine: the two single-grid responses.
    """

    freqs: np.ndarray
    mean_square: np.ndarray
    lp_avg: np.ndarray
    energy: np.ndarray
    coarse: FEResponse
    fine: FEResponse


def fe_response_extrapolated(
    cavity: PlateCavity,
    freqs: ArrayLike,
    force: object,
    masses: Sequence[PointMass] = (),
    *,
    h: float,
    method: Method = "tensor",
    plate_order: int = 4,
) -> FEResponseExtrapolated:
    """Forced response from grids h and h/2, Richardson-extrapolated on the mean-square pressure.

    The mean square ⟨|p|²⟩, a smooth function of h² at a fixed frequency, is extrapolated and then
    converted to a level. Two limits of the extrapolation:

    * On a lightly damped resonance the level error comes mostly from the O(h²) shift of the
      resonance, and enters quadratically while the shift is below the half-power bandwidth, so
      the order-2 extrapolation overshoots. Measured against the converged analytic model on the
      3D cavity 0.5 × 0.4 × 0.3 m, aluminium 2 mm, η_s = η_a = 0.01, point force: on the first
      resonance (62.4 Hz) grids of 25/12.5 mm give −0.57/−0.04 dB and +0.12 dB extrapolated,
      grids of 12.5/6.25 mm −0.04/−0.003 dB and +0.009 dB; off resonance (245 Hz) −0.15/−0.04 dB
      and −0.002 dB extrapolated.
    * Point loads and masses between grid nodes are shared bilinearly, with an O(h²) error whose
      constant depends on the position inside the cell; that position changes from one grid to
      the other, so put them on nodes of the coarse grid (multiples of ``h``) when extrapolating.

    Args:
        cavity, freqs, force, masses, method, plate_order: as for :func:`fe_response`.
        h: cell size of the coarse grid, m; must divide every side of the cavity.
    """
    cavity = check_cavity(cavity)
    counts = halving_cells(cavity, h)
    options = {"method": method, "plate_order": plate_order}
    coarse = fe_response(cavity, freqs, force, masses, cells=counts, **options)
    fine = fe_response(cavity, freqs, force, masses, cells=tuple(2 * n for n in counts), **options)
    ms = richardson(coarse.mean_square, fine.mean_square)
    ms = np.where(ms > 0, ms, np.nan)
    params = Params.of(cavity)
    energy = params.volume * ms / (4.0 * params.density * params.speed**2)
    return FEResponseExtrapolated(fine.freqs, ms, sound_level(ms), energy, coarse, fine)


@dataclass(frozen=True)
class FETiming:
    """Cost of the finite-element forced response on one grid.

    Attributes:
        seconds_per_frequency: wall time of one frequency of :func:`fe_response` (build and factorise
            the system at that frequency, solve, mean square), s; median over the frequencies of
            the best of the repeats.
        setup_seconds: one-off cost per call (assembly and, for the tensor solver, the 1D
            eigenproblems), s.
        dofs: unknowns (plate + fluid nodes). plate_dofs: size of the dense plate system of the
            tensor solver. cells: cells per side. method: the solver timed.

    Both solvers call multithreaded BLAS (SuperLU's supernodes, the dense LU). On a loaded machine
    oversubscribed OpenBLAS threads slowed them by up to 50× in our measurements; set
    ``OPENBLAS_NUM_THREADS`` (e.g. 1) for reproducible timings and record it with them.
    """

    seconds_per_frequency: float
    setup_seconds: float
    dofs: int
    plate_dofs: int
    cells: tuple[int, ...]
    method: str


def fe_time_per_frequency(
    cavity: PlateCavity,
    *,
    h: float | None = None,
    cells: Sequence[int] | None = None,
    n_freq: int = 4,
    repeats: int = 2,
    method: Method = "tensor",
    plate_order: int = 4,
) -> FETiming:
    """Measure the finite-element cost per frequency of :func:`fe_response` (blocked plane wave).

    Args:
        cavity: 2D or 3D cavity (its loss factors are used).
        h, cells: the grid (see :func:`grid_cells`).
        n_freq: frequencies timed, spread over 20–400 Hz, ≥ 1.
        repeats: timed repeats of each, ≥ 1; the best counts.
        method, plate_order: see :func:`fe_response`.

    Returns:
        :class:`FETiming`.
    """
    cavity = check_cavity(cavity)
    for name, value in (("n_freq", n_freq), ("repeats", repeats)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
    method = _check_method(method)
    counts = grid_cells(cavity, h, cells)
    params = Params.of(cavity)
    start = time.perf_counter()
    ops = operators(params, counts, _check_plate_order(plate_order))
    solver = (TensorSolver if method == "tensor" else SparseSolver)(ops, params, [])
    force = plate_load(ops, [PlaneWave(1.0)])
    setup = time.perf_counter() - start
    per = []
    for f in np.linspace(20.0, 400.0, n_freq):
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            solver.solve(2.0 * math.pi * float(f), force, [])
            best = min(best, time.perf_counter() - start)
        per.append(best)
    return FETiming(float(np.median(per)), setup, ops.n_plate + ops.n_fluid, ops.n_plate, counts, method)
