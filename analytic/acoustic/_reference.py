"""NumPy reference of the depth-exact coupled modal form (docs/models/acoustic.md §2.4): slow, dense and direct.

Builds the dense Z = diag(M_s(ω_ab²(1+iη_s) − ω²)) − C_tᵀ·diag(g)·C_t − ω²·Φᵀ·diag(M)·Φ (matrix
products over the separable C_t) and solves it with ``np.linalg.solve``; no parity blocks, no
Woodbury. Used to cross-check the Numba kernel and by the lossless natural-frequency search.
"""

from __future__ import annotations

import numpy as np

from ._modal import ModalTables, depth_terms, depth_wavenumber


def depth_exact_matrix(
    tables: ModalTables,
    d: int,
    omega: float,
    k2: complex,
    rho0: float,
    plate_w2: np.ndarray,
    mass: np.ndarray,
    phi: np.ndarray,
    a_index: np.ndarray | None = None,
    b_index: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Z (n_modes, n_modes) complex and the depth terms of design ``d`` at angular frequency ``omega``.

    Args:
        tables: the modal tables; d: design index; omega: rad/s; k2: ω²/(c²(1+iη_a)), 1/m².
        rho0: kg/m³; plate_w2: (n_modes,) complex ω_ab²(1+iη_s); mass: (P,) kg; phi: (P, n_modes).
        a_index, b_index: optional 0-based plate-mode indices along x and y: then only the rows and
            columns of the plate modes a_index × b_index (row-major) are built.

    Returns:
        ``(z, msq_term)``: z (n, n) complex128 with n = n_modes or len(a_index)·len(b_index),
        msq_term (n_transverse,) float64, m².
    """
    kz = depth_wavenumber(k2, tables.kappa2[d])
    cot_term, msq_term = depth_terms(kz, tables.lz[d])
    g = -rho0 * omega**2 * cot_term / (tables.area[d] * tables.eps)
    ix, iy = tables.ix[d], tables.iy[d]
    (ni, na), (nj, nb) = ix.shape, iy.shape
    a_index = np.arange(na) if a_index is None else a_index
    b_index = np.arange(nb) if b_index is None else b_index
    ix, iy = ix[:, a_index], iy[:, b_index]
    na, nb = len(a_index), len(b_index)
    modes = (a_index[:, None] * tables.iy.shape[2] + b_index[None, :]).ravel()
    # C_tᵀ·diag(g)·C_t with C_t[ij, ab] = Ix[i, a]·Iy[j, b]: Σ_i Ix[i,a]Ix[i,a′] Σ_j g_ij Iy[j,b]Iy[j,b′]
    pxx = (ix[:, :, None] * ix[:, None, :]).reshape(ni, na * na)
    qyy = (iy[:, :, None] * iy[:, None, :]).reshape(nj, nb * nb)
    coupled = (pxx.T @ (g.reshape(ni, nj) @ qyy)).reshape(na, na, nb, nb).transpose(0, 2, 1, 3)
    z = np.diag(tables.modal_mass[d] * (plate_w2[modes] - omega**2)).astype(np.complex128)
    z -= coupled.reshape(na * nb, na * nb)
    z -= omega**2 * phi[:, modes].T @ (mass[:, None] * phi[:, modes])
    return z, msq_term


def depth_exact_reference(
    tables: ModalTables,
    freqs: np.ndarray,
    rho0: np.ndarray,
    c2: np.ndarray,
    plate_loss: np.ndarray,
    force: np.ndarray,
    mass: np.ndarray,
    phi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Plate amplitudes W (n_design, n_freq, n_modes) complex, m, and ⟨|p|²⟩ (n_design, n_freq), Pa².

    Args:
        tables: modal tables of n_design cavities; freqs: (n_freq,) Hz; rho0: (n_design,) kg/m³;
        c2: (n_design,) complex c²(1+iη_a), m²/s²; plate_loss: (n_design,) η_s; force: (n_design,
        n_modes) complex modal forces, N; mass: (n_design, P) kg; phi: (n_design, P, n_modes).

    Raises:
        numpy.linalg.LinAlgError: Z is exactly singular (lossless response exactly on a resonance).
    """
    n_d, n_modes = force.shape
    w = np.zeros((n_d, len(freqs), n_modes), dtype=np.complex128)
    ms = np.zeros((n_d, len(freqs)))
    coupling = tables.coupling
    for d in range(n_d):
        plate_w2 = tables.plate_w2[d].ravel() * (1.0 + 1j * plate_loss[d])
        for f, freq in enumerate(freqs):
            omega = 2.0 * np.pi * freq
            z, msq_term = depth_exact_matrix(tables, d, omega, omega**2 / c2[d], rho0[d], plate_w2, mass[d], phi[d])
            w[d, f] = np.linalg.solve(z, force[d])
            cw = coupling[d] @ w[d, f]
            ms[d, f] = (rho0[d] * omega**2 / tables.area[d]) ** 2 * np.sum(np.abs(cw) ** 2 * msq_term / tables.eps)
    return w, ms
