"""Finite-element fields of the parametric problems: point clouds, nodal pressure and plate displacement.

Both families share one structured node layout of ``cells = (nx, nz)``: node (i, j) sits at
x = i·lx/nx, z = b(x) + (lz − b(x))·j/nz with the back wall b(x) = tilt·lz·x/lx, index i + (nx+1)·j.
The plate carries the nx + 1 points (i·lx/nx, lz), edges included (w = 0 there).

* ``"rectangle"``: :mod:`workbench.reference` as it is: Q1 fluid elements on the tensor grid, the
  fourth-order finite-difference simply supported plate, lumped interface, and the exact tensor
  solver (fluid eliminated through its 1D eigenbases).
* ``"trapezoid"``: the fluid assembled by scikit-fem with P1 triangles on the mapped grid (each cell
  split in two), coupled to the same plate and interface operators, solved by the reference's
  sparse solver (SuperLU of the coupled matrix, equilibrated).

Coupled resonances (lossless) come from the reference's shift-invert Arnoldi on the same matrices.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sl
from skfem import Basis, ElementTriP1, MeshTri, asm
from skfem.models.poisson import laplace, mass

from analytic.acoustic import PlaneWave
from workbench.reference._assembly import Operators, Params, frequency_check, grid_cells, operators, plate_load
from workbench.reference._solvers import SparseSolver, TensorSolver, sparse_modes, tensor_modes

from ._problem import LOAD_PRESSURE, RANGES, Problem

CELLS = (32, 16)
"""Default mesh: cells along x and along the depth."""

CAVITY, WALL, INTERFACE, PLATE, PLATE_EDGE = range(5)
"""Point tags: cavity interior, rigid wall, cavity side of the plate interface, plate interior, plate edge."""


@dataclass(frozen=True)
class Cloud:
    """Point cloud of one problem; ``n = (nx+1)(nz+1) + nx+1`` points.

    Attributes:
        coords: (n, 2) float64, m; (x, z) of the cavity nodes, then of the plate points.
        domain: (n,) int8, the tags :data:`CAVITY` … :data:`PLATE_EDGE`.
        normal: (n, 2) float64, outward unit normal on :data:`WALL` and :data:`INTERFACE` points, 0 elsewhere.
        partner: (n,) int64, the plate point at the same position for :data:`INTERFACE` points, −1 elsewhere.
    """

    coords: np.ndarray
    domain: np.ndarray
    normal: np.ndarray
    partner: np.ndarray


@dataclass(frozen=True)
class Field:
    """Finite-element solution of one :class:`~._problem.Problem`.

    Attributes:
        problem: the problem. cloud: its :class:`Cloud`.
        value: (n,) complex128; pressure p (Pa) on the cavity points, displacement w (m, outward) on the
            plate points; peak amplitudes, e^{iωt}.
        resonances: (k,) float64, Hz; the lossless coupled natural frequencies found up to above
            1.3× the highest training frequency.
        cells: the mesh.
    """

    problem: Problem
    cloud: Cloud
    value: np.ndarray
    resonances: np.ndarray
    cells: tuple[int, int]

    @property
    def resonance_distance(self) -> float:
        """min over resonances f_r of |f/f_r − 1|: relative distance to the nearest coupled resonance."""
        return float(np.min(np.abs(self.problem.frequency / self.resonances - 1.0)))


def back_wall(problem: Problem, x: np.ndarray) -> np.ndarray:
    """Height of the back wall b(x) = tilt·lz·x/lx, m."""
    return problem.tilt * problem.lz * np.asarray(x) / problem.lx


def point_cloud(problem: Problem, cells: tuple[int, int] = CELLS) -> Cloud:
    """The structured :class:`Cloud` of ``problem`` on ``cells``."""
    nx, nz = _check_cells(problem, cells)
    x = np.linspace(0.0, problem.lx, nx + 1)
    frac = np.linspace(0.0, 1.0, nz + 1)
    base = back_wall(problem, x)
    xx = np.broadcast_to(x, (nz + 1, nx + 1))
    zz = base[None, :] + (problem.lz - base[None, :]) * frac[:, None]
    cavity = np.stack([xx.ravel(), zz.ravel()], axis=1)
    plate = np.stack([x, np.full(nx + 1, problem.lz)], axis=1)
    n_cav = cavity.shape[0]
    i = np.tile(np.arange(nx + 1), nz + 1)
    j = np.repeat(np.arange(nz + 1), nx + 1)
    domain = np.full(n_cav + nx + 1, CAVITY, dtype=np.int8)
    normal = np.zeros((n_cav + nx + 1, 2))
    bottom = np.array([problem.tilt * problem.lz / problem.lx, -1.0])
    bottom /= np.linalg.norm(bottom)
    wall = np.zeros((n_cav, 2))
    wall[i == 0] += (-1.0, 0.0)
    wall[i == nx] += (1.0, 0.0)
    wall[j == 0] += bottom
    on_wall = (i == 0) | (i == nx) | (j == 0)
    domain[:n_cav][on_wall] = WALL
    normal[:n_cav][on_wall] = wall[on_wall] / np.linalg.norm(wall[on_wall], axis=1, keepdims=True)
    top = j == nz
    domain[:n_cav][top] = INTERFACE
    normal[:n_cav][top] = (0.0, 1.0)
    domain[n_cav:] = PLATE
    domain[[n_cav, n_cav + nx]] = PLATE_EDGE
    partner = np.full(n_cav + nx + 1, -1, dtype=np.int64)
    partner[:n_cav][top] = n_cav + i[top]
    return Cloud(np.concatenate([cavity, plate]), domain, normal, partner)


def _check_cells(problem: Problem, cells: object) -> tuple[int, int]:
    counts = grid_cells(problem.cavity, cells=cells)  # type: ignore[arg-type]
    return counts[0], counts[1]


def _trapezoid_operators(problem: Problem, params: Params, cells: tuple[int, int]) -> Operators:
    """Reference plate/interface operators with the fluid matrices of P1 triangles on the mapped grid."""
    nx, nz = cells
    ops = operators(params, cells)
    mesh = MeshTri.init_tensor(np.linspace(0.0, problem.lx, nx + 1), np.linspace(0.0, 1.0, nz + 1))
    x, frac = mesh.p
    index = np.rint(x / (problem.lx / nx)).astype(np.int64) + (nx + 1) * np.rint(frac * nz).astype(np.int64)
    base = back_wall(problem, x)
    mapped = MeshTri(np.stack([x, base + (problem.lz - base) * frac]), mesh.t)
    basis = Basis(mapped, ElementTriP1())
    order = np.argsort(index)  # skfem node of each structured index
    stiffness = asm(laplace, basis)[order][:, order].tocsr()
    volume_mass = asm(mass, basis)[order][:, order].tocsr()
    return dataclasses.replace(ops, fluid_stiffness=stiffness, fluid_volume_mass=volume_mass)


def _resonances(ops: Operators, params: Params, sparse: bool) -> np.ndarray:
    """Lossless coupled natural frequencies, Hz, until past 1.3× the top of the training band."""
    wanted = 1.3 * RANGES["frequency"][1]
    count = 16
    limit = (ops.n_plate + ops.n_fluid) // 4 - 3
    while True:
        freqs = (sparse_modes if sparse else tensor_modes)(ops, params, [], min(count, limit), False).freqs
        if freqs[-1] > wanted or count >= limit:
            return freqs
        count *= 2


def solve_field(problem: Problem, cells: tuple[int, int] = CELLS, resonances: bool = True) -> Field:
    """Finite-element field of ``problem`` on the mesh ``cells`` (module docstring).

    Args:
        problem: the problem.
        cells: (nx, nz), integers ≥ 4.
        resonances: also compute the coupled natural frequencies (else an empty array).

    Raises:
        ValueError: a bad mesh, or fewer than 6 cells per acoustic or bending wavelength at the
            problem's frequency.
    """
    counts = _check_cells(problem, cells)
    params = Params.of(problem.cavity)
    rectangle = problem.family == "rectangle"
    ops = operators(params, counts) if rectangle else _trapezoid_operators(problem, params, counts)
    frequency_check(ops, params, problem.frequency, "frequency")
    force = plate_load(ops, [PlaneWave(LOAD_PRESSURE)])
    s = problem.omega**2
    if rectangle:
        solver = TensorSolver(ops, params, [])
        z, denom, _ = solver.plate_matrix(s)
        w, c = solver.solve_modal(s, sl.lu_factor(z, check_finite=False), denom, force, None)
        p = solver.fluid_nodal(c).ravel()
    else:
        rhs = np.concatenate([force, np.zeros(ops.n_fluid, dtype=np.complex128)])
        x = SparseSolver(ops, params, []).inverse(complex(s))(rhs)
        w, p = x[: ops.n_plate], x[ops.n_plate :]
    value = np.concatenate([p, [0.0], w, [0.0]]).astype(np.complex128)
    freqs = _resonances(ops, params, not rectangle) if resonances else np.empty(0)
    return Field(problem, point_cloud(problem, counts), value, freqs, counts)


def relative_l2(estimate: np.ndarray, truth: np.ndarray) -> float:
    """‖estimate − truth‖₂ / ‖truth‖₂ over the last axis (complex arrays allowed); NaN-free for truth ≠ 0."""
    norm = float(np.linalg.norm(truth))
    if not norm > 0 or not math.isfinite(norm):
        raise ValueError(f"truth must have a positive finite norm; got norm={norm!r}")
    return float(np.linalg.norm(np.asarray(estimate) - truth)) / norm
