"""Forced responses of the plate-backed cavity: one design (:func:`response`) or a batch (:func:`responses`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numba
import numpy as np
from numpy.typing import ArrayLike

from ._full import cavity_shapes, full_form_response
from ._geometry import (
    BOUNDS,
    THIN_PLATE_RATIO,
    LineForce,
    Monopole,
    PlaneWave,
    PlateCavity,
    PointForce,
    PointMass,
    check_load,
    check_mass,
)
from ._kernels import STATUS_OK, depth_exact_batch
from ._modal import (
    MIN_MODES,
    MODE_FREQUENCY_MULTIPLE,
    ModalTables,
    depth_profile,
    depth_wavenumber,
    modal_tables,
    mode_counts,
    plate_shapes,
    uniform_load_shape,
)
from ._reference import depth_exact_reference

Method = Literal["numba", "numpy"]
Form = Literal["auto", "depth-exact", "full"]
P_REF = 20e-6
"""Reference pressure of L_p, Pa."""

MIN_DEPTH_MODES = 4 * MIN_MODES
"""Default minimum number of depth modes k of the truncated full form."""

MAX_DEPTH_MODES = 512
"""Most depth modes k of the truncated full form."""

MAX_CAVITY_MODES = 20_000
"""Most cavity modes (transverse × depth) of the truncated full form: its coupling matrix grows with it."""


FREQ_BOUNDS = (0.1, 2e4)
"""Accepted frequencies, Hz: infrasound to the top of the audio band (the modal models' regime)."""

MAX_FREQS = 100_000
"""Most frequencies in one call."""

MAX_PAIRS = 10_000_000
"""Most (design, frequency) pairs of one :func:`responses` call."""

MAX_POINTS = 100_000
"""Most field points per :meth:`Response.pressure` or :meth:`Response.plate_displacement` call."""

MAX_DESIGNS = 1_000_000
"""Most designs in one :class:`CavityBatch`."""


def check_freqs(freqs: ArrayLike) -> np.ndarray:
    """``freqs`` as a non-empty (n_freq,) float64 array of Hz in FREQ_BOUNDS (at most MAX_FREQS), else ValueError."""
    try:
        array = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"freqs must be an array of frequencies in Hz; got freqs={freqs!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"freqs must be a non-empty 1-D array of frequencies in Hz; got shape {array.shape}")
    if array.size > MAX_FREQS:
        raise ValueError(f"freqs may hold at most {MAX_FREQS} values; got {array.size}")
    low, high = FREQ_BOUNDS
    bad = ~((array >= low) & (array <= high))
    if bad.any():
        raise ValueError(f"freqs must lie in [{low:g}, {high:g}] Hz; got {float(array[bad][0])!r} Hz")
    return array


def sound_level(mean_square_pressure: ArrayLike) -> np.ndarray:
    """L_p = 10·log10(⟨|p|²⟩/2/p_ref²), dB re 20 µPa, of peak-amplitude ⟨|p|²⟩ in Pa² (any shape).

    The one definition of the sound level in the workbench (the analytic model, the finite-element
    reference and the CLI use it); a zero ⟨|p|²⟩ is clipped to the smallest normal float.
    """
    return 10.0 * np.log10(np.maximum(np.asarray(mean_square_pressure, dtype=np.float64), np.finfo(np.float64).tiny) / (2.0 * P_REF**2))


@dataclass(frozen=True)
class _Problem:
    """Inputs of n_design designs sharing one mode set (arrays lead with the design axis)."""

    sizes: np.ndarray  # (n_d, dim) m
    tables: ModalTables
    rho0: np.ndarray  # (n_d,) kg/m³
    speed: np.ndarray  # (n_d,) m/s, lossless
    c2: np.ndarray  # (n_d,) complex c²(1 + iη_a)
    plate_loss: np.ndarray  # (n_d,)
    force: np.ndarray  # (n_d, n_modes) complex modal forces, N
    mass: np.ndarray  # (n_d, P) kg
    phi: np.ndarray  # (n_d, P, n_modes)

    @property
    def volume(self) -> np.ndarray:
        return np.prod(self.sizes, axis=1)


def _problem(
    sizes: np.ndarray,
    stiffness: np.ndarray,
    surface_density: np.ndarray,
    rho0: np.ndarray,
    speed: np.ndarray,
    air_loss: np.ndarray,
    plate_loss: np.ndarray,
    point_amplitude: np.ndarray,
    point_position: np.ndarray,
    plane_wave: np.ndarray,
    mass: np.ndarray,
    mass_position: np.ndarray,
    f_max: float,
    n_plate: int | tuple[int, int] | None,
    n_transverse: int | tuple[int, int] | None,
) -> _Problem:
    """Point loads (n_d, K) at (n_d, K, dim−1) m, plane waves (n_d,) Pa, masses (n_d, P) at (n_d, P, dim−1) m."""
    counts = mode_counts(sizes, stiffness, surface_density, speed, f_max, n_plate, n_transverse)
    tables = modal_tables(sizes, stiffness, surface_density, *counts)
    force = np.einsum("dk,dkm->dm", point_amplitude, plate_shapes(sizes, point_position, counts[0]))
    force = force - 2.0 * plane_wave[:, None] * uniform_load_shape(tables)
    return _Problem(
        sizes=sizes,
        tables=tables,
        rho0=rho0,
        speed=speed,
        c2=speed**2 * (1.0 + 1j * air_loss),
        plate_loss=plate_loss,
        force=force.astype(np.complex128),
        mass=mass,
        phi=plate_shapes(sizes, mass_position, counts[0]),
    )


def _parity_groups(n_plate: int, n_transverse: int, trivial: bool) -> tuple[np.ndarray, np.ndarray]:
    """(G, n + 1) int64 group tables (count, then 0-based indices): plate q odd ↔ cavity n even, q even ↔ n odd."""
    if trivial:
        return np.array([[1, 0]]), np.array([[1, 0]])
    plate = np.zeros((2, n_plate + 1), dtype=np.int64)
    cavity = np.zeros((2, n_transverse + 1), dtype=np.int64)
    for group in range(2):
        members = np.arange(group, n_plate, 2)  # 0-based index k ↔ plate q = k + 1
        plate[group, 0], plate[group, 1 : 1 + len(members)] = len(members), members
        members = np.arange(group, n_transverse, 2)
        cavity[group, 0], cavity[group, 1 : 1 + len(members)] = len(members), members
    return plate, cavity


def _singular(freq: float | None, design: int | None) -> ValueError:
    where = ("one of the frequencies" if freq is None else f"f={freq:g} Hz") + (
        "" if design is None else f" for design {design}"
    )
    return ValueError(
        f"the plate impedance matrix is exactly singular at {where}: a lossless system driven exactly on a "
        "coupled resonance has no finite response; give the plate or the air a loss_factor > 0, or move the frequency"
    )


def _solve(problem: _Problem, freqs: np.ndarray, method: Method, store_w: bool) -> tuple[np.ndarray, np.ndarray]:
    """Depth-exact solve: W (n_d, n_f, n_modes) complex (or None-like (1, n_f, n_modes) if not stored), ⟨|p|²⟩ (n_d, n_f)."""
    tables = problem.tables
    n_d = len(problem.rho0)
    if method == "numpy":
        try:
            return depth_exact_reference(
                tables, freqs, problem.rho0, problem.c2, problem.plate_loss, problem.force, problem.mass, problem.phi
            )
        except np.linalg.LinAlgError:
            raise _singular(None, None) from None
    if method != "numba":
        raise ValueError(f"method must be 'numba' or 'numpy'; got method={method!r}")
    (na, nb), ni, nj = tables.plate_w2.shape[1:], tables.ix.shape[1], tables.iy.shape[1]
    groups_a, groups_i = _parity_groups(na, ni, trivial=False)
    groups_b, groups_j = _parity_groups(nb, nj, trivial=tables.dim == 2)
    w = np.zeros((n_d if store_w else 1, len(freqs), na * nb), dtype=np.complex128)
    ms = np.zeros((n_d, len(freqs)))
    status = np.zeros((n_d, len(freqs)), dtype=np.int8)
    n_mass = problem.mass.shape[1]
    depth_exact_batch(
        freqs,
        tables.lz,
        problem.rho0,
        problem.c2,
        tables.area,
        tables.modal_mass,
        tables.plate_w2 * (1.0 + 1j * problem.plate_loss[:, None, None]),
        tables.ix,
        tables.iy,
        tables.kx2,
        tables.ky2,
        tables.eps_x,
        tables.eps_y,
        problem.force.reshape(n_d, na, nb),
        problem.mass,
        problem.phi.reshape(n_d, n_mass, na, nb),
        groups_a,
        groups_i,
        groups_b,
        groups_j,
        w,
        ms,
        status,
        numba.get_num_threads(),
    )
    if (status != STATUS_OK).any():
        d, f = np.argwhere(status != STATUS_OK)[0]
        raise _singular(float(freqs[f]), int(d) if n_d > 1 else None)
    return w, ms


@dataclass(frozen=True)
class _DepthExactField:
    """p = Σ_ij B_ij·cos(iπx/lx)·cos(jπy/ly)·cos(k_z z)/(k_z sin(k_z lz)), B_ij = −ρ0ω²(C_t W)_ij/(S ε_iε_j)."""

    sizes: tuple[float, ...]
    modes: np.ndarray  # (n_t, dim − 1)
    coefficients: np.ndarray  # (n_f, n_t) complex, Pa/m
    kz: np.ndarray  # (n_f, n_t) complex, 1/m

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        lateral = cavity_shapes(self.modes, self.sizes[:-1], points[:, :-1])  # (n_points, n_t)
        out = np.empty((self.kz.shape[0], len(points)), dtype=np.complex128)
        for f in range(self.kz.shape[0]):
            profile = depth_profile(self.kz[f][None, :], self.sizes[-1], points[:, -1:])
            out[f] = np.sum(lateral * profile * self.coefficients[f], axis=1)
        return out


@dataclass(frozen=True)
class _ModalField:
    """p = Σ_n P_n·ψ_n(r) over the truncated rigid-cavity modes (full form)."""

    sizes: tuple[float, ...]
    modes: np.ndarray  # (n_c, dim)
    coefficients: np.ndarray  # (n_f, n_c) complex, Pa

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        return self.coefficients @ cavity_shapes(self.modes, self.sizes, points).T


def _points(points: ArrayLike, sizes: tuple[float, ...]) -> np.ndarray:
    """``points`` as (n_points, len(sizes)) float64 inside the closed box [0, L], at most MAX_POINTS, else ValueError."""
    dim = len(sizes)
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"points must be coordinates in metres; got points={points!r}") from None
    if array.ndim == 1 and dim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"points must have shape (n_points, {dim}) in metres; got shape {array.shape}")
    if len(array) > MAX_POINTS:
        raise ValueError(f"points may hold at most {MAX_POINTS} points per call; got {len(array)}")
    inside = (np.isfinite(array) & (array >= 0.0) & (array <= np.asarray(sizes))).all(axis=1)
    if not inside.all():
        row = int(np.argmin(inside))
        raise ValueError(
            f"points must lie inside [0, L] along each axis, L = {sizes} m; got points[{row}]={array[row]}"
        )
    return array


@dataclass(frozen=True)
class Response:
    """Forced response of one plate-backed cavity over ``n_freq`` frequencies (time dependence e^{iωt}, peak amplitudes).

    Attributes:
        freqs: (n_freq,) float64, Hz.
        mean_square_pressure: (n_freq,) float64, Pa²; ⟨|p|²⟩, the volume (3D) or area (2D) average of
            |p|² with p the peak amplitude.
        lp_avg: (n_freq,) float64, dB re 20 µPa; 10·log10(⟨|p|²⟩/2/p_ref²).
        energy: (n_freq,) float64; time-averaged acoustic potential energy V⟨|p|²⟩/(4ρ0c²) with the
            lossless c, J (3D) or J/m (2D).
        displacement: (n_freq, n_modes) complex128, m; plate modal amplitudes W_ab.
        plate_modes: (n_modes, dim − 1) int64; the (a, b) (3D) or (a,) (2D) index of each column.
        pressure_modes: cavity functions of the pressure field: (n_t, dim − 1) transverse (i, j) or
            (i,) for the depth-exact form, (n_c, dim) (i, j, k) or (i, k) for the full form.
        form: ``"depth-exact"`` or ``"full"``.
        cavity: the :class:`PlateCavity`.
    """

    freqs: np.ndarray
    mean_square_pressure: np.ndarray
    lp_avg: np.ndarray
    energy: np.ndarray
    displacement: np.ndarray
    plate_modes: np.ndarray
    pressure_modes: np.ndarray
    form: str
    cavity: PlateCavity
    _field: _DepthExactField | _ModalField = field(repr=False, compare=False)

    def plate_displacement(self, points: ArrayLike) -> np.ndarray:
        """w at plate points: ``points`` (n_points, 2) (x, y) in 3D or (n_points,) x in 2D, m → (n_freq, n_points) complex, m."""
        array = _points(points, self.cavity.size[:-1])
        shapes = plate_shapes(np.asarray([self.cavity.size]), array[None], self._counts())[0]
        return self.displacement @ shapes.T

    def pressure(self, points: ArrayLike) -> np.ndarray:
        """p at cavity points: ``points`` (n_points, 3) (x, y, z) or (n_points, 2) (x, z), m → (n_freq, n_points) complex, Pa."""
        return self._field.evaluate(_points(points, self.cavity.size))

    def _counts(self) -> tuple[int, int]:
        na = int(self.plate_modes[:, 0].max())
        return na, int(self.plate_modes[:, 1].max()) if self.plate_modes.shape[1] == 2 else 1


def _split_loads(cavity: PlateCavity, force: object) -> tuple[list, list[Monopole]]:
    loads = list(force) if isinstance(force, (list, tuple)) else [force]
    if not loads:
        raise ValueError("force must hold at least one load (PointForce, LineForce, PlaneWave or Monopole); got none")
    plate_loads, monopoles = [], []
    for load in loads:
        if isinstance(load, Monopole):
            cavity.check_in_cavity("Monopole", load.position)
            monopoles.append(load)
        else:
            check_load(cavity, load)
            plate_loads.append(load)
    amplitudes = [load.amplitude for load in plate_loads] + [m.volume_velocity for m in monopoles]
    if all(a == 0 for a in amplitudes):
        raise ValueError("force amplitudes are all zero: the response would be identically zero (L_p = -inf dB)")
    return plate_loads, monopoles


def response(
    cavity: PlateCavity,
    freqs: ArrayLike,
    force: PointForce | LineForce | PlaneWave | Monopole | Sequence[PointForce | LineForce | PlaneWave | Monopole],
    masses: Sequence[PointMass] = (),
    n_plate: int | tuple[int, int] | None = None,
    n_transverse: int | tuple[int, int] | None = None,
    method: Method = "numba",
    form: Form = "auto",
    n_depth: int | None = None,
) -> Response:
    """Forced response of one plate-backed cavity (docs/models/acoustic.md §2.3–§2.4).

    Args:
        cavity: the :class:`PlateCavity` (2D or 3D).
        freqs: (n_freq,) Hz, each in [0.1, 2e4], at most 100,000 values.
        force: one load or a sequence: :class:`PointForce` (3D), :class:`LineForce` (2D),
            :class:`PlaneWave` (blocked, f = −2p_inc), :class:`Monopole` (interior source).
        masses: :class:`PointMass` items (kg in 3D, kg/m in 2D); they add −ω²Σ M φφᵀ to Z.
        n_plate, n_transverse: plate and transverse cavity modes per in-plane axis (int or (nx, ny));
            None applies the rule of :func:`analytic.acoustic._modal.mode_counts` at max(freqs): every
            mode up to 2× the top frequency, at least 8 and at most 32 plate modes per axis. Explicit
            counts: at most 64 per axis and 1024 in all.
        method: ``"numba"`` (parity blocks, Woodbury for masses) or ``"numpy"`` (dense reference);
            the full form always runs in NumPy.
        form: ``"depth-exact"`` (§2.4, depth sum in closed form), ``"full"`` (§2.3, truncated cavity
            modes) or ``"auto"``: the full form if a Monopole is present, else depth-exact.
        n_depth: depth modes k of the full form (default: every depth mode up to 2× the top
            frequency, at least 32; at most 512); the cavity-mode set is the transverse set ×
            k < n_depth, at most 20,000 modes.

    Returns:
        :class:`Response`.

    Raises:
        ValueError: bad frequencies, loads or masses that do not fit the cavity, all-zero loads, a
            Monopole with ``form="depth-exact"``, or a lossless system driven exactly on a coupled
            resonance (exactly singular Z; add a loss factor). Near (not on) a lossless resonance the
            response is finite and large. A lossless rigid-cavity resonance k_z = 0 hit exactly is
            evaluated at k_z² = 1e-15·|k²| (a frequency shift below the rounding of the input).
    """
    if not isinstance(cavity, PlateCavity):
        raise ValueError(f"cavity must be an acoustic.PlateCavity; got cavity={cavity!r}")
    freqs = check_freqs(freqs)
    plate_loads, monopoles = _split_loads(cavity, force)
    masses = list(masses)
    for mass in masses:
        check_mass(cavity, mass)
    if form not in ("auto", "depth-exact", "full"):
        raise ValueError(f"form must be 'auto', 'depth-exact' or 'full'; got form={form!r}")
    if method not in ("numba", "numpy"):
        raise ValueError(f"method must be 'numba' or 'numpy'; got method={method!r}")
    if form == "auto":
        form = "full" if monopoles else "depth-exact"
    if monopoles and form == "depth-exact":
        raise ValueError("a Monopole needs the full modal form (docs/models/acoustic.md §2.3); use form='full' or 'auto'")
    plate, air = cavity.plate, cavity.air
    points = [load for load in plate_loads if not isinstance(load, PlaneWave)]
    one = np.ones(1)
    problem = _problem(
        sizes=np.asarray([cavity.size]),
        stiffness=plate.bending_stiffness * one,
        surface_density=plate.surface_density * one,
        rho0=air.density * one,
        speed=air.speed * one,
        air_loss=air.loss_factor * one,
        plate_loss=plate.loss_factor * one,
        point_amplitude=np.asarray([[p.amplitude for p in points]], dtype=np.complex128).reshape(1, len(points)),
        point_position=np.asarray([[np.atleast_1d(p.position) for p in points]]).reshape(
            1, len(points), cavity.dim - 1
        ),
        plane_wave=np.asarray([sum(p.amplitude for p in plate_loads if isinstance(p, PlaneWave))], dtype=np.complex128),
        mass=np.asarray([[m.mass for m in masses]]).reshape(1, len(masses)),
        mass_position=np.asarray([[np.atleast_1d(m.position) for m in masses]]).reshape(1, len(masses), cavity.dim - 1),
        f_max=float(freqs.max()),
        n_plate=n_plate,
        n_transverse=n_transverse,
    )
    tables = problem.tables
    if form == "full":
        w, coefficients, ms, indices = full_form_response(
            tables,
            cavity.size,
            _depth_count(cavity, float(freqs.max()), n_depth, len(tables.transverse_modes)),
            freqs,
            air.density,
            problem.c2[0],
            plate.loss_factor,
            problem.force[0],
            problem.mass[0],
            problem.phi[0],
            [(m.volume_velocity, np.asarray(m.position)) for m in monopoles],
        )
        pressure_field: _DepthExactField | _ModalField = _ModalField(cavity.size, indices, coefficients)
    else:
        w_all, ms_all = _solve(problem, freqs, method, store_w=True)
        w, ms = w_all[0], ms_all[0]
        omega2 = (2.0 * np.pi * freqs) ** 2
        kz = depth_wavenumber(omega2[:, None] / problem.c2[0], tables.kappa2[0][None, :])
        coefficients = -air.density * omega2[:, None] * (w @ tables.coupling[0].T) / (tables.area[0] * tables.eps)
        pressure_field = _DepthExactField(cavity.size, tables.transverse_modes, coefficients, kz)
    return Response(
        freqs=freqs,
        mean_square_pressure=ms,
        lp_avg=sound_level(ms),
        energy=cavity.volume * ms / (4.0 * air.density * air.speed**2),
        displacement=w,
        plate_modes=tables.plate_modes,
        pressure_modes=pressure_field.modes,
        form=form,
        cavity=cavity,
        _field=pressure_field,
    )


def _depth_count(cavity: PlateCavity, f_max: float, n_depth: int | None, n_transverse: int) -> int:
    """Depth modes of the full form, checked: n_depth ≤ MAX_DEPTH_MODES and n_transverse·n_depth ≤ MAX_CAVITY_MODES."""
    if n_depth is None:
        n = max(MIN_DEPTH_MODES, int(2.0 * cavity.lz * MODE_FREQUENCY_MULTIPLE * f_max / cavity.air.speed) + 1)
        n = min(n, MAX_DEPTH_MODES)
    elif isinstance(n_depth, bool) or not (isinstance(n_depth, (int, np.integer)) and 1 <= n_depth <= MAX_DEPTH_MODES):
        raise ValueError(
            f"n_depth must be an int in [1, {MAX_DEPTH_MODES}] (depth modes of the full form); got n_depth={n_depth!r}"
        )
    else:
        n = int(n_depth)
    if n * n_transverse > MAX_CAVITY_MODES:
        raise ValueError(
            f"the full form holds at most {MAX_CAVITY_MODES} cavity modes; got {n_transverse} transverse × "
            f"n_depth={n} = {n * n_transverse}: lower n_depth or n_transverse"
        )
    return n


_BATCH_REAL = (
    "thickness",
    "youngs_modulus",
    "density",
    "poisson",
    "plate_loss",
    "air_density",
    "air_speed",
    "air_loss",
)


@dataclass(frozen=True)
class CavityBatch:
    """``n_design`` plate-backed cavities of one dimension as a struct of arrays (for search loops and RL envs).

    Scalars broadcast to every design. Each design carries one point (3D) / line (2D) force, one
    blocked plane wave and P point masses (P may be 0; a zero mass is allowed and has no effect).
    Every field obeys the ranges of :class:`PlateCavity`, :class:`Plate`, :class:`Air` and the loads
    (:data:`analytic.acoustic.BOUNDS`); 1 to 1,000,000 designs.

    Attributes:
        size: (n_design, dim) float64, m; (lx, ly, lz) or (lx, lz).
        thickness: (n_design,) m. youngs_modulus: (n_design,) Pa. density: (n_design,) kg/m³.
        poisson: (n_design,) in [−0.9, 0.499]. plate_loss: (n_design,) η_s in [0, 1].
        air_density: (n_design,) kg/m³. air_speed: (n_design,) m/s. air_loss: (n_design,) η_a in [0, 1].
        force: (n_design,) complex128; point force N (3D) or line force N/m (2D), peak.
        force_position: (n_design, dim − 1) float64, m; strictly inside the plate.
        plane_wave: (n_design,) complex128, Pa; blocked plane-wave amplitude p_inc (load −2p_inc).
        mass: (n_design, P) float64; kg (3D) or kg/m (2D), ≥ 0.
        mass_position: (n_design, P, dim − 1) float64, m; strictly inside the plate.
    """

    size: ArrayLike
    thickness: ArrayLike
    youngs_modulus: ArrayLike
    density: ArrayLike
    poisson: ArrayLike
    force: ArrayLike
    force_position: ArrayLike
    plate_loss: ArrayLike = 0.0
    air_density: ArrayLike = 1.21
    air_speed: ArrayLike = 343.0
    air_loss: ArrayLike = 0.0
    plane_wave: ArrayLike = 0.0
    mass: ArrayLike | None = None
    mass_position: ArrayLike | None = None

    def __post_init__(self) -> None:
        for name in (*_BATCH_REAL, "size", "force", "force_position", "plane_wave", "mass", "mass_position"):
            value = getattr(self, name)
            try:
                np.asarray(value, dtype=np.complex128 if name in ("force", "plane_wave") else np.float64)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"{name} must be numbers (SI units); got {name}={value!r}") from None
        size = np.atleast_2d(np.asarray(self.size, dtype=np.float64))
        if size.ndim != 2 or size.shape[1] not in (2, 3):
            raise ValueError(f"size must be (n_design, 2) or (n_design, 3) in metres; got shape {size.shape}")
        lengths = {size.shape[0]} | {np.size(getattr(self, name)) for name in (*_BATCH_REAL, "force", "plane_wave")}
        n_d = max(lengths)
        if not lengths <= {1, n_d} or not 1 <= n_d <= MAX_DESIGNS:
            raise ValueError(
                f"per-design fields must have length 1 or n_design, 1 <= n_design <= {MAX_DESIGNS}; "
                f"got lengths {sorted(lengths)}"
            )
        dim = size.shape[1]
        values: dict[str, np.ndarray] = {"size": np.broadcast_to(size, (n_d, dim)).copy()}
        for name in _BATCH_REAL:
            values[name] = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64).ravel(), (n_d,)).copy()
        for name in ("force", "plane_wave"):
            values[name] = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.complex128).ravel(), (n_d,)).copy()
        values["force_position"] = np.broadcast_to(
            np.asarray(self.force_position, dtype=np.float64).reshape(-1, dim - 1), (n_d, dim - 1)
        ).copy()
        mass = np.zeros((1, 0)) if self.mass is None else np.atleast_2d(np.asarray(self.mass, dtype=np.float64))
        position = np.zeros((1, 0, dim - 1)) if self.mass_position is None else np.asarray(self.mass_position, float)
        try:
            mass = np.broadcast_to(mass, (n_d, mass.shape[1])).copy()
            shape = (n_d, mass.shape[1], dim - 1)
            position = np.broadcast_to(position.reshape(-1, *shape[1:]) if mass.size else position, shape).copy()
        except ValueError:
            raise ValueError(
                f"mass must be (n_design, P) or (P,) and mass_position (n_design, P, {dim - 1}) or (P, {dim - 1}), m; "
                f"got shapes {np.shape(self.mass)} and {np.shape(self.mass_position)}"
            ) from None
        values["mass"], values["mass_position"] = mass, position
        self._validate(values)
        for name, value in values.items():
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @staticmethod
    def _validate(v: dict[str, np.ndarray]) -> None:
        def first_bad(name: str, bad: np.ndarray, rule: str) -> None:
            if bad.any():
                index = tuple(int(k) for k in np.argwhere(bad)[0])
                raise ValueError(
                    f"{name} must be {rule}; got {name}[{', '.join(map(str, index))}]={np.asarray(v[name][index]).tolist()!r}"
                )

        for name, bound in (
            ("size", "length"),
            ("thickness", "thickness"),
            ("youngs_modulus", "youngs_modulus"),
            ("density", "density"),
            ("poisson", "poisson"),
            ("plate_loss", "loss_factor"),
            ("air_density", "air_density"),
            ("air_speed", "air_speed"),
            ("air_loss", "loss_factor"),
            ("mass", "mass"),
            ("force", "amplitude"),
            ("plane_wave", "amplitude"),
        ):
            low, high = BOUNDS[bound]
            value = np.abs(v[name]) if np.iscomplexobj(v[name]) else v[name]
            first_bad(
                name, ~((value >= low) & (value <= high)), f"in [{low:g}, {high:g}] (SI units; |value| if complex)"
            )
        first_bad(
            "size",
            v["size"][:, :-1] < THIN_PLATE_RATIO * v["thickness"][:, None],
            f"at least {THIN_PLATE_RATIO:g} plate thicknesses along each in-plane axis (thin-plate theory)",
        )
        plate = v["size"][:, None, :-1]
        for name in ("force_position", "mass_position"):
            pos = v[name] if name == "mass_position" else v[name][:, None, :]
            bad = ~(np.isfinite(pos) & (pos > 0) & (pos < plate)).all(axis=-1)
            if name == "force_position":
                first_bad(name, bad[:, 0] & (v["force"] != 0), "strictly inside the plate, 0 < x < lx (and 0 < y < ly)")
            else:
                first_bad(name, bad, "strictly inside the plate, 0 < x < lx (and 0 < y < ly)")
        first_bad("force", (v["force"] == 0) & (v["plane_wave"] == 0), "non-zero, or plane_wave non-zero (a load)")

    def __len__(self) -> int:
        return self.size.shape[0]

    @property
    def dim(self) -> int:
        """2 or 3."""
        return self.size.shape[1]

    @property
    def plate_mass(self) -> np.ndarray:
        """(n_design,) float64; m″·S, kg (3D) or kg/m (2D)."""
        return self.density * self.thickness * np.prod(self.size[:, :-1], axis=1)

    @classmethod
    def from_cavities(
        cls,
        cavities: Sequence[PlateCavity],
        forces: Sequence[PointForce | LineForce | PlaneWave],
        masses: Sequence[Sequence[PointMass]] | None = None,
    ) -> CavityBatch:
        """Stack cavities with one load each (and equally many masses each) into a batch."""
        if len(cavities) == 0 or len(forces) != len(cavities):
            raise ValueError(f"need one force per cavity; got {len(cavities)} cavities and {len(forces)} forces")
        masses = [()] * len(cavities) if masses is None else list(masses)
        dims = {c.dim for c in cavities}
        if len(dims) != 1 or len({len(m) for m in masses}) != 1 or len(masses) != len(cavities):
            raise ValueError("a batch needs cavities of one dimension and the same number of masses per design")
        for cavity, load, design_masses in zip(cavities, forces, masses):
            check_load(cavity, load)
            for mass in design_masses:
                check_mass(cavity, mass)
        dim = dims.pop()
        centre = [[length / 2 for length in c.size[:-1]] for c in cavities]
        return cls(
            size=[c.size for c in cavities],
            thickness=[c.plate.thickness for c in cavities],
            youngs_modulus=[c.plate.youngs_modulus for c in cavities],
            density=[c.plate.density for c in cavities],
            poisson=[c.plate.poisson for c in cavities],
            plate_loss=[c.plate.loss_factor for c in cavities],
            air_density=[c.air.density for c in cavities],
            air_speed=[c.air.speed for c in cavities],
            air_loss=[c.air.loss_factor for c in cavities],
            force=[0.0 if isinstance(f, PlaneWave) else f.amplitude for f in forces],
            force_position=[
                cen if isinstance(f, PlaneWave) else np.atleast_1d(f.position) for f, cen in zip(forces, centre)
            ],
            plane_wave=[f.amplitude if isinstance(f, PlaneWave) else 0.0 for f in forces],
            mass=[[m.mass for m in ms] for ms in masses],
            mass_position=np.asarray([[np.atleast_1d(m.position) for m in ms] for ms in masses]).reshape(
                len(cavities), -1, dim - 1
            ),
        )


@dataclass(frozen=True)
class BatchResponse:
    """Responses of a :class:`CavityBatch`: every array is (n_design, n_freq) float64.

    Attributes:
        freqs: (n_freq,) Hz. mean_square_pressure: ⟨|p|²⟩, Pa². lp_avg: dB re 20 µPa.
        energy: acoustic potential energy V⟨|p|²⟩/(4ρ0c²), J (3D) or J/m (2D).
        plate_modes, transverse_modes: the shared mode set ((n, dim − 1) int64 each).
    """

    freqs: np.ndarray
    mean_square_pressure: np.ndarray
    lp_avg: np.ndarray
    energy: np.ndarray
    plate_modes: np.ndarray
    transverse_modes: np.ndarray


def responses(
    batch: CavityBatch,
    freqs: ArrayLike,
    n_plate: int | tuple[int, int] | None = None,
    n_transverse: int | tuple[int, int] | None = None,
    method: Method = "numba",
) -> BatchResponse:
    """Depth-exact responses of every design of ``batch`` at every frequency (one kernel call).

    Args:
        batch: the designs; freqs: (n_freq,) Hz, each in [0.1, 2e4]; n_design·n_freq ≤ 1e7; n_plate, n_transverse: as in :func:`response`
            (the default rule is taken over the whole batch, so every design shares one mode set);
        method: ``"numba"`` (parallel over design × frequency pairs) or ``"numpy"`` (reference).

    Returns:
        :class:`BatchResponse` with (n_design, n_freq) arrays.

    Raises:
        ValueError: bad frequencies, or a lossless design driven exactly on a resonance.
    """
    if not isinstance(batch, CavityBatch):
        raise ValueError(f"batch must be an acoustic.CavityBatch; got batch={batch!r}")
    freqs = check_freqs(freqs)
    if len(batch) * len(freqs) > MAX_PAIRS:
        raise ValueError(
            f"n_design·n_freq must be at most {MAX_PAIRS}; got {len(batch)}·{len(freqs)}={len(batch) * len(freqs)}"
        )
    if method not in ("numba", "numpy"):
        raise ValueError(f"method must be 'numba' or 'numpy'; got method={method!r}")
    stiffness = batch.youngs_modulus * batch.thickness**3 / (12.0 * (1.0 - batch.poisson**2))
    problem = _problem(
        sizes=batch.size,
        stiffness=stiffness,
        surface_density=batch.density * batch.thickness,
        rho0=batch.air_density,
        speed=batch.air_speed,
        air_loss=batch.air_loss,
        plate_loss=batch.plate_loss,
        point_amplitude=batch.force[:, None],
        point_position=batch.force_position[:, None, :],
        plane_wave=batch.plane_wave,
        mass=batch.mass,
        mass_position=batch.mass_position,
        f_max=float(freqs.max()),
        n_plate=n_plate,
        n_transverse=n_transverse,
    )
    _, ms = _solve(problem, freqs, method, store_w=False)
    return BatchResponse(
        freqs=freqs,
        mean_square_pressure=ms,
        lp_avg=sound_level(ms),
        energy=(problem.volume / (4.0 * batch.air_density * batch.air_speed**2))[:, None] * ms,
        plate_modes=problem.tables.plate_modes,
        transverse_modes=problem.tables.transverse_modes,
    )
