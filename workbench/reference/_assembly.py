"""Assembly of the finite-element/finite-difference model of the plate-backed cavity (docs/models/acoustic.md §3).

Discretisation on one tensor grid of ``cells`` = (nx, nz) in 2D or (nx, ny, nz) in 3D:

* Fluid: Q1 (bi/trilinear) finite elements assembled from Kronecker products of 1D linear-element
  matrices, K_f = K_z⊗M_y⊗M_x + M_z⊗K_y⊗M_x + M_z⊗M_y⊗K_x and the volume mass M = M_z⊗M_y⊗M_x
  (2D drops the y factor). Fluid node index: ix + (nx+1)·(iy + (ny+1)·iz), so a nodal array
  reshapes to (nz+1, ny+1, nx+1).
* Plate: finite differences on the interior nodes of the face z = lz: K_b = D·dA·L², L the
  Dirichlet Laplacian, a sum of 1D second differences along x (and y). Its square imposes w = 0 and
  ∂²w/∂n² = 0 and has the exact sine eigenvectors of the simply supported plate. ``plate_order=2``
  is the classic 3-point second difference (5-point Laplacian); ``plate_order=4`` (default) the
  fourth-order 5-point second difference with odd-reflected ghosts, which keeps the exact sine
  eigenvectors and removes the dominant error: the plate bending wavelength is much shorter than
  the acoustic one. Lumped mass M_b = m″·dA·I. Plate node index: (ix−1) + (nx−1)·(iy−1), so a plate
  array reshapes to (ny−1, nx−1).
* Coupling: lumped (trapezoidal) interface matrix S, S[top fluid node, plate node] = dA.

With x = [w; p] (plate displacement at the interior plate nodes, m; pressure at every fluid node, Pa)
and time dependence e^{iωt}, the coupled equations are

    [K_b(1+iη_s)   −Sᵀ ] x − ω² [ M_b       0           ] x = [ F ]
    [ 0            K_f ]        [ ρ0·S   M/(c²(1+iη_a)) ]     [ Q ]

(plate: D∇⁴w − m″ω²w = f + p; fluid: weak Helmholtz with ∂p/∂z = ρ0ω²w on the plate and
Q = iωρ0·q·N(r_s) for a monopole of volume velocity q). The lossless pencil is unsymmetric, has
real eigenvalues ω² ≥ 0 and one spurious ω = 0 root (constant pressure).

Loads follow the bilinear (2D: linear) interpolation N of w between plate nodes: a point force F
puts F·N_k on the surrounding nodes, a point mass M adds M·N Nᵀ to M_b (the discrete analogue of the
modal −ω²M·φφᵀ), a blocked plane wave is the uniform load −2·p_inc·dA per node. Every quantity
converges as O(h²) (the fluid, the interface and the loads), the plate operator alone as O(h⁴) with
``plate_order=4``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from analytic.acoustic import LineForce, Monopole, PlaneWave, PlateCavity, PointForce, PointMass, check_load, check_mass

MIN_CELLS = 4
"""Fewest cells along any side of the cavity."""

MIN_CELLS_PER_WAVELENGTH = 6.0
"""Fewest cells per acoustic and per plate-bending wavelength at the highest frequency of a solve."""


@dataclass(frozen=True)
class Params:
    """Plain-float description of the coupled problem (SI units)."""

    size: tuple[float, ...]  # (lx, lz) or (lx, ly, lz), m
    bending_stiffness: float  # D, N·m
    surface_density: float  # m″, kg/m²
    plate_loss: float  # η_s
    density: float  # ρ0, kg/m³
    speed: float  # c, m/s
    air_loss: float  # η_a

    @classmethod
    def of(cls, cavity: PlateCavity) -> Params:
        return cls(
            size=tuple(cavity.size),
            bending_stiffness=cavity.plate.bending_stiffness,
            surface_density=cavity.plate.surface_density,
            plate_loss=cavity.plate.loss_factor,
            density=cavity.air.density,
            speed=cavity.air.speed,
            air_loss=cavity.air.loss_factor,
        )

    @property
    def volume(self) -> float:
        """m³ (2D: m² per unit width)."""
        return float(np.prod(self.size))

    @property
    def plate_area(self) -> float:
        """m² (2D: m per unit width)."""
        return float(np.prod(self.size[:-1]))


def check_cavity(cavity: object) -> PlateCavity:
    if not isinstance(cavity, PlateCavity):
        raise ValueError(f"cavity must be an analytic.acoustic.PlateCavity; got cavity={cavity!r}")
    return cavity


def grid_cells(cavity: PlateCavity, h: float | None = None, cells: Sequence[int] | None = None) -> tuple[int, ...]:
    """Cells per side of the tensor grid, from the largest cell size ``h`` or given explicitly.

    Args:
        cavity: the cavity (2D or 3D).
        h: largest cell size, m. Each side L gets ceil(L/h) equal cells (exactly L/h when h divides
            L to 1e-9 relative), so cells are smaller than ``h`` along a side that ``h`` does not
            divide.
        cells: ``(nx, nz)`` in 2D or ``(nx, ny, nz)`` in 3D, integers ≥ 4; exclusive with ``h``.

    Returns:
        The cell counts, a tuple of ``cavity.dim`` ints.

    Raises:
        ValueError: neither or both of ``h`` and ``cells``, ``h`` not a positive length, or fewer
            than 4 cells along a side (the message gives the largest usable ``h``).
    """
    cavity = check_cavity(cavity)
    if (h is None) == (cells is None):
        raise ValueError(
            f"give exactly one of h (largest cell size, m) and cells (counts per side); got h={h!r}, cells={cells!r}"
        )
    if cells is not None:
        try:
            counts = tuple(int(n) for n in cells)
            exact = all(int(n) == n for n in cells)
        except (TypeError, ValueError):
            counts, exact = (), False
        if len(counts) != cavity.dim or not exact:
            want = "(nx, nz)" if cavity.dim == 2 else "(nx, ny, nz)"
            raise ValueError(f"cells must be {want}, integers, for a {cavity.dim}D cavity; got cells={cells!r}")
    else:
        try:
            step = float(h)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            step = math.nan
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"h must be a positive cell size in metres; got h={h!r}")
        counts = tuple(int(math.ceil(length / step * (1.0 - 1e-9))) for length in cavity.size)
    axes = "xz" if cavity.dim == 2 else "xyz"
    for axis, n, length in zip(axes, counts, cavity.size):
        if n < MIN_CELLS:
            hint = f"h <= {min(cavity.size) / MIN_CELLS:g} m" if h is not None else f"n{axis} >= {MIN_CELLS}"
            raise ValueError(
                f"grid too coarse: {n} cells along {axis} (side {length:g} m), need at least {MIN_CELLS}; use {hint}"
            )
    return counts


def halving_cells(cavity: PlateCavity, h: float) -> tuple[int, ...]:
    """Cells of the coarse grid of a Richardson pair; ValueError unless ``h`` divides every side."""
    counts = grid_cells(cavity, h=h)
    for length, n in zip(cavity.size, counts):
        if abs(length / h - n) > 1e-6 * n:
            raise ValueError(
                f"Richardson extrapolation needs h to divide every side (h/2 then halves every cell); got h={h!r} m "
                f"and a side of {length:g} m ({length / h:.4g} cells): pick h = side/n, e.g. a common divisor of {cavity.size}"
            )
    return counts


def linear_1d(n: int, length: float) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Stiffness (1/m) and mass (m) of n equal linear elements on [0, length]: (n+1, n+1) each."""
    step = length / n
    main = np.full(n + 1, 2.0)
    main[[0, -1]] = 1.0
    off = np.ones(n)
    stiff = sp.diags([-off, main, -off], [-1, 0, 1]) / step
    mass = sp.diags([off, 2.0 * main, off], [-1, 0, 1]) * (step / 6.0)
    return sp.csr_matrix(stiff), sp.csr_matrix(mass)


def dirichlet_second_difference(n: int, length: float, order: int = 2) -> sp.csr_matrix:
    """(n−1, n−1) second difference on the interior nodes of n cells with zero end values, 1/m².

    ``order=2``: the 3-point stencil (1, −2, 1)/h². ``order=4``: the 5-point stencil
    (−1, 16, −30, 16, −1)/(12h²) with odd-reflected ghost values w(−x) = −w(x) beyond each end.
    Both have the exact eigenvectors sin(aπx/L); the eigenvalues approximate −(aπ/L)² to O(h²) and
    O(h⁴).
    """
    step = length / n
    m = n - 1
    if order == 2:
        off = np.ones(m - 1)
        return sp.csr_matrix(sp.diags([off, -2.0 * np.ones(m), off], [-1, 0, 1]) / step**2)
    main = np.full(m, -30.0)
    main[[0, -1]] = -29.0  # the odd ghost −w_1 folds −1·(−w_1) onto the diagonal
    off1, off2 = np.full(m - 1, 16.0), np.full(m - 2, -1.0)
    return sp.csr_matrix(sp.diags([off2, off1, main, off1, off2], [-2, -1, 0, 1, 2]) / (12.0 * step**2))


def _kron(*factors: sp.spmatrix) -> sp.csr_matrix:
    out = factors[0]
    for factor in factors[1:]:
        out = sp.kron(out, factor, format="csr")
    return sp.csr_matrix(out)


@dataclass(frozen=True)
class Operators:
    """Real sparse building blocks of one grid (see the module docstring)."""

    cells: tuple[int, ...]
    spacing: tuple[float, ...]  # cell sizes, m
    plate_stiffness: sp.csr_matrix  # K_b = D·dA·L², (n_w, n_w)
    plate_mass: sp.csr_matrix  # M_b = m″·dA·I, (n_w, n_w)
    fluid_stiffness: sp.csr_matrix  # K_f, (n_p, n_p)
    fluid_volume_mass: sp.csr_matrix  # M = ∫N_i N_j dV, (n_p, n_p)
    coupling: sp.csr_matrix  # S, (n_p, n_w)
    cell_area: float  # dA, m² (2D: m)

    @property
    def n_plate(self) -> int:
        return self.plate_mass.shape[0]

    @property
    def n_fluid(self) -> int:
        return self.fluid_volume_mass.shape[0]

    @property
    def plate_shape(self) -> tuple[int, ...]:
        """Shape of a plate nodal array: (nx−1,) in 2D, (ny−1, nx−1) in 3D."""
        return tuple(n - 1 for n in reversed(self.cells[:-1]))

    @property
    def fluid_shape(self) -> tuple[int, ...]:
        """Shape of a fluid nodal array: (nz+1, nx+1) in 2D, (nz+1, ny+1, nx+1) in 3D."""
        return tuple(n + 1 for n in reversed(self.cells))


def operators(params: Params, cells: tuple[int, ...], plate_order: int = 4) -> Operators:
    """Assemble the sparse matrices of the grid ``cells`` for ``params``; ``plate_order`` 2 or 4 (Laplacian stencil)."""
    size = params.size
    spacing = tuple(length / n for length, n in zip(size, cells))
    stiff_1d, mass_1d = zip(*(linear_1d(n, length) for n, length in zip(cells, size)))
    if len(cells) == 2:
        (kx, kz), (mx, mz) = stiff_1d, mass_1d
        fluid_stiffness = _kron(kz, mx) + _kron(mz, kx)
        volume_mass = _kron(mz, mx)
        lap = dirichlet_second_difference(cells[0], size[0], plate_order)
        cell_area = spacing[0]
        top = cells[1] * (cells[0] + 1) + np.arange(1, cells[0])
    else:
        (kx, ky, kz), (mx, my, mz) = stiff_1d, mass_1d
        fluid_stiffness = _kron(kz, my, mx) + _kron(mz, ky, mx) + _kron(mz, my, kx)
        volume_mass = _kron(mz, my, mx)
        tx = dirichlet_second_difference(cells[0], size[0], plate_order)
        ty = dirichlet_second_difference(cells[1], size[1], plate_order)
        lap = _kron(sp.identity(cells[1] - 1), tx) + _kron(ty, sp.identity(cells[0] - 1))
        cell_area = spacing[0] * spacing[1]
        ix, iy = np.meshgrid(np.arange(1, cells[0]), np.arange(1, cells[1]))
        top = (ix + (cells[0] + 1) * (iy + (cells[1] + 1) * cells[2])).ravel()
    n_w = lap.shape[0]
    plate_stiffness = sp.csr_matrix((params.bending_stiffness * cell_area) * (lap @ lap))
    plate_mass = sp.csr_matrix(sp.identity(n_w) * (params.surface_density * cell_area))
    coupling = sp.csr_matrix((np.full(n_w, cell_area), (top, np.arange(n_w))), shape=(volume_mass.shape[0], n_w))
    return Operators(cells, spacing, plate_stiffness, plate_mass, fluid_stiffness, volume_mass, coupling, cell_area)


def axis_weights(value: float, step: float, n: int) -> tuple[tuple[int, float], tuple[int, float]]:
    """Linear interpolation on n cells of size ``step``: ((node, weight), (node + 1, weight))."""
    u = value / step
    i0 = min(max(int(math.floor(u)), 0), n - 1)
    t = u - i0
    return (i0, 1.0 - t), (i0 + 1, t)


def plate_weights(ops: Operators, position: float | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Plate node indices and bilinear (2D: linear) weights at a plate point; edge nodes (w = 0) drop out."""
    coords = (float(position),) if np.ndim(position) == 0 else tuple(float(v) for v in position)  # type: ignore[arg-type]
    per_axis = [axis_weights(v, step, n) for v, step, n in zip(coords, ops.spacing, ops.cells)]
    index, weight = [], []
    nx = ops.cells[0]
    rows = per_axis[1] if len(coords) == 2 else ((1, 1.0),)
    ny = ops.cells[1] if len(coords) == 2 else 2
    for j, wj in rows:
        for i, wi in per_axis[0]:
            if 0 < i < nx and 0 < j < ny and wi * wj != 0.0:
                index.append(i - 1 + (nx - 1) * (j - 1))
                weight.append(wi * wj)
    return np.asarray(index, dtype=np.int64), np.asarray(weight, dtype=np.float64)


def fluid_weights(ops: Operators, position: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Fluid node indices and Q1 weights at a point of the cavity."""
    per_axis = [axis_weights(float(v), step, n) for v, step, n in zip(position, ops.spacing, ops.cells)]
    strides = np.cumprod([1, *(n + 1 for n in ops.cells[:-1])])
    index, weight = [], []
    for combo in np.ndindex(*(2,) * len(per_axis)):
        k, w = 0, 1.0
        for axis, c in enumerate(combo):
            i, wi = per_axis[axis][c]
            k += int(strides[axis]) * i
            w *= wi
        if w != 0.0:
            index.append(k)
            weight.append(w)
    return np.asarray(index, dtype=np.int64), np.asarray(weight, dtype=np.float64)


def as_loads(force: object) -> list[object]:
    """One load or a sequence of loads, as a list."""
    if force is None:
        return []
    if isinstance(force, (PointForce, LineForce, PlaneWave, Monopole)):
        return [force]
    if isinstance(force, Iterable) and not isinstance(force, (str, bytes)):
        return list(force)
    return [force]


def check_loads(cavity: PlateCavity, loads: list[object], masses: list[object]) -> None:
    """ValueError unless every load and mass fits ``cavity``."""
    if not loads:
        raise ValueError(
            "force must be a PointForce (3D), LineForce (2D), PlaneWave, Monopole or a sequence of them; got none"
        )
    for load in loads:
        if isinstance(load, Monopole):
            cavity.check_in_cavity("Monopole", tuple(load.position))  # type: ignore[arg-type]
        else:
            check_load(cavity, load)
    for mass in masses:
        check_mass(cavity, mass)


def plate_load(ops: Operators, loads: list[object]) -> np.ndarray:
    """Nodal plate forces F, (n_w,) complex128, N (2D: N/m)."""
    rhs = np.zeros(ops.n_plate, dtype=np.complex128)
    for load in loads:
        if isinstance(load, (PointForce, LineForce)):
            index, weight = plate_weights(ops, load.position)
            rhs[index] += load.amplitude * weight
        elif isinstance(load, PlaneWave):
            rhs += -2.0 * load.amplitude * ops.cell_area
    return rhs


def monopoles(loads: list[object]) -> list[Monopole]:
    return [load for load in loads if isinstance(load, Monopole)]


def mass_matrix(ops: Operators, masses: list[PointMass]) -> sp.csr_matrix:
    """Plate mass M_b plus the consistent point masses M·N Nᵀ, (n_w, n_w), kg (2D: kg/m)."""
    out = ops.plate_mass.tocoo()
    rows, cols, vals = [out.row], [out.col], [out.data]
    for mass in masses:
        index, weight = plate_weights(ops, mass.position)
        r, c = np.meshgrid(index, index, indexing="ij")
        rows.append(r.ravel())
        cols.append(c.ravel())
        vals.append(mass.mass * np.outer(weight, weight).ravel())
    n = ops.n_plate
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def frequency_check(ops: Operators, params: Params, fmax: float, what: str) -> None:
    """ValueError when the grid has fewer than 6 cells per acoustic or bending wavelength at ``fmax`` (Hz)."""
    if not fmax > 0:
        return
    omega = 2.0 * math.pi * fmax
    acoustic = params.speed / fmax
    bending = 2.0 * math.pi * (params.bending_stiffness / (params.surface_density * omega**2)) ** 0.25
    for name, wavelength, cell in (
        ("acoustic", acoustic, max(ops.spacing)),
        ("plate bending", bending, max(ops.spacing[:-1])),
    ):
        if wavelength / cell < MIN_CELLS_PER_WAVELENGTH:
            raise ValueError(
                f"grid too coarse for {what} {fmax:.4g} Hz: {wavelength / cell:.2f} cells per {name} wavelength "
                f"({wavelength:.4g} m, cell {cell:.4g} m), need at least {MIN_CELLS_PER_WAVELENGTH:g}; "
                f"use h <= {wavelength / MIN_CELLS_PER_WAVELENGTH:.4g} m"
            )
