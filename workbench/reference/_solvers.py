"""Two exact direct solvers of the assembled system of :mod:`._assembly`, and its eigenvalues.

``sparse``: the recipe of docs/models/acoustic.md §3: the coupled unsymmetric matrix K − ω²M in SciPy sparse format,
one SuperLU factorisation per frequency. General, but fill-in makes 3D grids slow (35k unknowns:
about 95 s and 1.7 GB per complex factorisation on one core).

``tensor``: the same discrete equations, solved through the generalised eigenvectors of the 1D
fluid matrices, (K_1, M_1)V = M_1VΛ_1 with VᵀM_1V = I per axis. Then V = V_z⊗V_y⊗V_x diagonalises
the fluid (VᵀK_fV = Λ, VᵀMV = I), the fluid unknowns are eliminated exactly (p = Vc) and only a
dense plate system is left,

    Z(ω) w = F + Sᵀ A_f⁻¹ Q,   Z = K_b(1+iη_s) − ω²M_b − ω²ρ0·Sᵀ A_f⁻¹ S,   A_f = K_f − κM,

with κ = ω²/(c²(1+iη_a)) and Sᵀ A_f⁻¹ S = dA²·U diag(t) Uᵀ, U = V_y⊗V_x on the interior plate nodes
and t_ij = Σ_k V_z[top,k]²/(Λ_z,k + Λ_y,j + Λ_x,i − κ). Its cost per frequency is one dense
(n_w × n_w) factorisation, n_w the number of plate nodes. No modal truncation is involved: the
two solvers agree to round-off (tested); the tensor one is the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sl
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from analytic.acoustic import Monopole, PointMass

from ._assembly import Operators, Params, axis_weights, fluid_weights, linear_1d, mass_matrix


@dataclass(frozen=True)
class Solution:
    """Solution at one frequency: plate nodal displacement w, (n_w,) m; mean square ⟨|p|²⟩, Pa²."""

    w: np.ndarray
    mean_square: float


class SparseSolver:
    """Coupled sparse matrices K, M ((n_w + n_p)², complex when lossy) and SuperLU solves."""

    def __init__(self, ops: Operators, params: Params, masses: list[PointMass], lossless: bool = False) -> None:
        self.ops, self.params = ops, params
        eta_s = 0.0 if lossless else params.plate_loss
        eta_a = 0.0 if lossless else params.air_loss
        c2 = params.speed**2 * (1.0 + 1j * eta_a) if eta_a else params.speed**2
        kb = ops.plate_stiffness * (1.0 + 1j * eta_s) if eta_s else ops.plate_stiffness
        dtype = np.complex128 if (eta_s or eta_a) else np.float64
        self.stiffness = sp.csc_matrix(
            sp.bmat([[kb, -ops.coupling.T], [None, ops.fluid_stiffness]], dtype=dtype), dtype=dtype
        )
        self.mass = sp.csc_matrix(
            sp.bmat([[mass_matrix(ops, masses), None], [params.density * ops.coupling, ops.fluid_volume_mass / c2]]),
            dtype=dtype,
        )
        # symmetric diagonal equilibration: plate and fluid entries differ by ~15 orders of magnitude;
        # scaled, SuperLU's threshold pivoting compares like with like
        diag = np.concatenate([ops.plate_stiffness.diagonal(), ops.fluid_stiffness.diagonal()])
        self.scale = 1.0 / np.sqrt(diag)

    def _lu(self, s: complex) -> spla.SuperLU:
        """SuperLU of D(K − s·M)D, D = diag(scale)."""
        matrix = self.stiffness - s * self.mass
        if np.iscomplexobj(s) and not np.iscomplexobj(matrix.data):
            matrix = matrix.astype(np.complex128)
        scale = sp.diags(self.scale)
        return spla.splu(sp.csc_matrix(scale @ matrix @ scale))

    def inverse(self, s: complex) -> Callable[[np.ndarray], np.ndarray]:
        """x ↦ (K − s·M)⁻¹x with one factorisation (s = ω², or a shift σ)."""
        lu, scale = self._lu(s), self.scale
        return lambda x: scale * lu.solve(scale * x)

    def solve(self, omega: float, force: np.ndarray, sources: list[Monopole]) -> Solution:
        ops, params = self.ops, self.params
        rhs = np.zeros(ops.n_plate + ops.n_fluid, dtype=np.complex128)
        rhs[: ops.n_plate] = force
        for source in sources:
            index, weight = fluid_weights(ops, source.position)
            rhs[ops.n_plate + index] += 1j * omega * params.density * source.volume_velocity * weight
        x = self.inverse(complex(omega**2))(rhs)
        p = x[ops.n_plate :]
        mean_square = float(np.real(np.vdot(p, ops.fluid_volume_mass @ p))) / params.volume
        return Solution(x[: ops.n_plate], mean_square)


class TensorSolver:
    """Exact elimination of the fluid through its tensor-product eigenbasis (module docstring)."""

    def __init__(self, ops: Operators, params: Params, masses: list[PointMass], lossless: bool = False) -> None:
        self.ops, self.params = ops, params
        self.eta_s = 0.0 if lossless else params.plate_loss
        self.eta_a = 0.0 if lossless else params.air_loss
        self.lam: list[np.ndarray] = []  # per axis x, (y,) z: (n+1,) eigenvalues, 1/m²
        self.vec: list[np.ndarray] = []  # per axis: (n+1, n+1) M-orthonormal eigenvectors (columns)
        for n, length in zip(ops.cells, params.size):
            stiff, mass = linear_1d(n, length)
            lam, vec = sl.eigh(stiff.toarray(), mass.toarray())
            lam[0] = 0.0  # the constant mode, exactly
            self.lam.append(lam)
            self.vec.append(vec)
        # transverse eigenvalue sums, shaped like the transverse part of a fluid array: (nx+1,) or (ny+1, nx+1)
        self.lam_t = self.lam[0] if len(ops.cells) == 2 else self.lam[1][:, None] + self.lam[0][None, :]
        self.vz_top = self.vec[-1][-1, :]  # (nz+1,)
        self.u = [v[1:-1, :] for v in self.vec[:-1]]  # interior plate rows: (nx−1, nx+1), (ny−1, ny+1)
        self.kb = ops.plate_stiffness.toarray()
        self.mb = mass_matrix(ops, masses).toarray()

    # --- transforms between plate nodes and transverse fluid modes -------------------------------------------
    def plate_to_modes(self, w: np.ndarray) -> np.ndarray:
        """Uᵀw: plate nodal array (n_w,) → transverse modal array (nx+1,) or (ny+1, nx+1)."""
        if len(self.u) == 1:
            return self.u[0].T @ w
        ux, uy = self.u
        return uy.T @ w.reshape(uy.shape[0], ux.shape[0]) @ ux

    def modes_to_plate(self, modal: np.ndarray) -> np.ndarray:
        """U·m: transverse modal array → plate nodal array (n_w,)."""
        if len(self.u) == 1:
            return self.u[0] @ modal
        ux, uy = self.u
        return (uy @ modal @ ux.T).ravel()

    def denominators(self, kappa: complex) -> np.ndarray:
        """Λ − κ over all fluid modes, shaped like a fluid array (nz+1, [ny+1,] nx+1), 1/m²."""
        lam_z = self.lam[-1].reshape((-1,) + (1,) * self.lam_t.ndim)
        return lam_z + self.lam_t[None] - kappa

    def interface_matrix(self, t: np.ndarray) -> np.ndarray:
        """dA²·U diag(t) Uᵀ = Sᵀ A_f⁻¹ S as a dense (n_w, n_w) matrix, by separable contractions."""
        da2 = self.ops.cell_area**2
        if len(self.u) == 1:
            ux = self.u[0]
            return da2 * (ux * t) @ ux.T
        ux, uy = self.u
        # Y[i, b, b'] = Σ_j Uy[b, j] t[j, i] Uy[b', j];  G[(b, a), (b', a')] = Σ_i Ux[a, i] Ux[a', i] Y[i, b, b']
        y = np.einsum("bj,ji,cj->ibc", uy, t, uy, optimize=True)
        x = ux.T[:, :, None] * ux.T[:, None, :]  # (nx+1, nx−1, nx−1)
        g = np.tensordot(y, x, axes=(0, 0))  # (b, b', a, a')
        n_w = self.ops.n_plate
        return da2 * g.transpose(0, 2, 1, 3).reshape(n_w, n_w)

    def plate_matrix(self, s: complex) -> tuple[np.ndarray, np.ndarray, complex]:
        """Z(s) (n_w, n_w), the fluid denominators and κ for s = ω² (or a shift σ)."""
        kappa = s / (self.params.speed**2 * (1.0 + 1j * self.eta_a)) if self.eta_a else s / self.params.speed**2
        denom = self.denominators(kappa)
        t = np.tensordot(self.vz_top**2, 1.0 / denom, axes=(0, 0))
        kb = self.kb * (1.0 + 1j * self.eta_s) if self.eta_s else self.kb
        z = kb - s * self.mb - (s * self.params.density) * self.interface_matrix(t)
        return z, denom, kappa

    def monopole_modes(self, omega: float, sources: list[Monopole]) -> np.ndarray:
        """VᵀQ for Q = iωρ0·q·N(r_s), shaped like a fluid array."""
        out = np.zeros(tuple(v.shape[1] for v in reversed(self.vec)), dtype=np.complex128)
        for source in sources:
            factors = []
            for value, step, n, vec in zip(source.position, self.ops.spacing, self.ops.cells, self.vec):
                (i0, w0), (i1, w1) = axis_weights(float(value), step, n)
                factors.append(w0 * vec[i0] + w1 * vec[i1])
            amp = 1j * omega * self.params.density * source.volume_velocity
            if len(factors) == 2:
                out += amp * np.multiply.outer(factors[1], factors[0])
            else:
                out += amp * np.einsum("k,j,i->kji", factors[2], factors[1], factors[0])
        return out

    def solve_modal(
        self, s: complex, z_lu: tuple, denom: np.ndarray, force: np.ndarray, q_modes: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Solve (K − sM)[w; Vc] = [F; V⁻ᵀ·q_modes] with Z(s) factorised: returns w (n_w,) and c (fluid shape)."""
        da = self.ops.cell_area
        vz = self.vz_top.reshape((-1,) + (1,) * self.lam_t.ndim)
        rhs = np.asarray(force, dtype=np.result_type(force, denom, z_lu[0]))
        c_q = None
        if q_modes is not None:
            c_q = q_modes / denom
            rhs = rhs + da * self.modes_to_plate(np.tensordot(self.vz_top, c_q, axes=(0, 0)))
        w = sl.lu_solve(z_lu, rhs)
        c = (s * self.params.density * da) * vz * self.plate_to_modes(w)[None] / denom
        if c_q is not None:
            c = c + c_q
        return w, c

    def solve(self, omega: float, force: np.ndarray, sources: list[Monopole]) -> Solution:
        s = omega**2
        z, denom, _ = self.plate_matrix(s)
        z_lu = sl.lu_factor(z, check_finite=False)
        q = self.monopole_modes(omega, sources) if sources else None
        w, c = self.solve_modal(s, z_lu, denom, force, q)
        return Solution(w, float(np.sum(np.abs(c) ** 2)) / self.params.volume)

    def fluid_nodal(self, c: np.ndarray) -> np.ndarray:
        """p = Vc as a fluid nodal array (nz+1, [ny+1,] nx+1)."""
        if c.ndim == 2:
            return self.vec[1] @ c @ self.vec[0].T
        return np.einsum("zk,yj,xi,kji->zyx", self.vec[2], self.vec[1], self.vec[0], c, optimize=True)


@dataclass(frozen=True)
class Modes:
    """Lossless coupled modes of one grid: frequencies (n,) Hz ascending; nodal shapes w (n, n_w), p (n, fluid shape)."""

    freqs: np.ndarray
    w: np.ndarray | None
    p: np.ndarray | None


def _shift(params: Params) -> float:
    """σ < 0, minus the square of the lower of the first in-vacuo plate mode and the first rigid-cavity mode, rad²/s².

    Both bound the lowest coupled modes from the scale side, so the wanted eigenvalues are the
    ones nearest σ and well separated in 1/(λ − σ) even for a nearly rigid plate.
    """
    d, m = params.bending_stiffness, params.surface_density
    plate = math.pi**2 * math.sqrt(d / m) * sum(1.0 / length**2 for length in params.size[:-1])
    cavity = math.pi * params.speed / max(params.size)
    return -(min(plate, cavity) ** 2)


def _finish(sigma: float, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz, ascending) from shift-invert eigenvalues μ = 1/(λ − σ), the zero root removed; and their order in ``mu``."""
    lam = (sigma + 1.0 / mu).real
    order = np.argsort(lam)
    lam = lam[order]
    spurious = int(np.argmin(np.abs(lam)))
    if abs(lam[spurious]) > 1e-6 * max(abs(sigma), abs(lam[-1])):
        raise RuntimeError(
            f"expected one zero root (constant pressure); the smallest |ω²| is {lam[spurious]:.4g} rad²/s²"
        )
    keep = np.delete(order, spurious)
    freqs = np.sqrt(np.maximum(np.delete(lam, spurious), 0.0)) / (2.0 * math.pi)
    return freqs, keep


def _eigs(op: spla.LinearOperator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The count + 1 eigenpairs of largest |μ| (the zero root included)."""
    return spla.eigs(op, k=count + 1, which="LM", tol=1e-12, ncv=max(2 * count + 12, 24))


def _real_vectors(vec: np.ndarray) -> np.ndarray:
    """Rows of (n, m) complex eigenvectors of real eigenvalues, rotated to real."""
    pivot = vec[np.arange(vec.shape[0]), np.argmax(np.abs(vec), axis=1)]
    return (vec * (np.conj(pivot) / np.abs(pivot))[:, None]).real


def sparse_modes(ops: Operators, params: Params, masses: list[PointMass], count: int, vectors: bool) -> Modes:
    """Shift-invert Arnoldi on (K − σM)⁻¹M with one real SuperLU (docs/models/acoustic.md §3)."""
    solver = SparseSolver(ops, params, masses, lossless=True)
    sigma = _shift(params)
    inverse = solver.inverse(sigma)
    n = ops.n_plate + ops.n_fluid
    mass = solver.mass
    op = spla.LinearOperator((n, n), matvec=lambda x: inverse(mass @ x), dtype=np.float64)
    mu, vec = _eigs(op, count)
    freqs, keep = _finish(sigma, mu)
    if not vectors:
        return Modes(freqs, None, None)
    vec = _real_vectors(vec[:, keep].T)
    return Modes(freqs, vec[:, : ops.n_plate], vec[:, ops.n_plate :].reshape((-1, *ops.fluid_shape)))


def tensor_modes(ops: Operators, params: Params, masses: list[PointMass], count: int, vectors: bool) -> Modes:
    """Shift-invert Arnoldi in the coordinates [w; c] (c the fluid modal amplitudes, p = Vc).

    There K̃ = [[K_b, −Bᵀ], [0, Λ]] and M̃ = [[M_b, 0], [ρ0B, I/c²]] with B = VᵀS; (K̃ − σM̃)⁻¹ is
    applied through one dense LU factorisation of the plate matrix Z(σ).
    """
    solver = TensorSolver(ops, params, masses, lossless=True)
    sigma = _shift(params)
    z, denom, _ = solver.plate_matrix(sigma)
    z_lu = sl.lu_factor(z, check_finite=False)
    n_w = ops.n_plate
    shape = denom.shape
    n = n_w + denom.size
    da, rho0, c2 = ops.cell_area, params.density, params.speed**2
    vz = solver.vz_top.reshape((-1,) + (1,) * solver.lam_t.ndim)

    def apply(x: np.ndarray) -> np.ndarray:
        y_w, y_c = x[:n_w], x[n_w:].reshape(shape)
        force = solver.mb @ y_w
        q = rho0 * da * vz * solver.plate_to_modes(y_w)[None] + y_c / c2
        w, c = solver.solve_modal(sigma, z_lu, denom, force, q)
        return np.concatenate([w, c.ravel()])

    op = spla.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    mu, vec = _eigs(op, count)
    freqs, keep = _finish(sigma, mu)
    if not vectors:
        return Modes(freqs, None, None)
    vec = _real_vectors(vec[:, keep].T)
    p = np.stack([solver.fluid_nodal(v.reshape(shape)) for v in vec[:, n_w:]])
    return Modes(freqs, vec[:, :n_w], p)
