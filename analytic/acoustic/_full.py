"""Truncated full modal form (docs/models/acoustic.md §2.3): cavity modes (i, j, k) with the depth index k summed explicitly.

Used for interior monopole sources, as a cross-check of the depth-exact form, and for the
unsymmetric free-vibration eigenproblem. The truncated cavity-mode set is every (i, j, k) with i, j
in the transverse set of the modal tables and 0 ≤ k < n_depth. Convergence in n_depth is slow,
O(1/N) (cosine modes cannot represent ∂p/∂n ≠ 0 at the plate), from above.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._modal import KZ2_FLOOR, ModalTables


def full_cavity_modes(
    tables: ModalTables, d: int, n_depth: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cavity modes of design ``d``: indices (n_c, dim) int64, κ² (n_c,) 1/m², Λ (n_c,), C (n_c, n_modes) m.

    Rows are ordered transverse mode first, depth index k fastest; C[n, ab] = (−1)^k·C_t[ij, ab].
    """
    n_t = tables.transverse_modes.shape[0]
    indices = np.concatenate(
        [np.repeat(tables.transverse_modes, n_depth, axis=0), np.tile(np.arange(n_depth), n_t)[:, None]], axis=1
    )
    kappa2 = np.repeat(tables.kappa2[d], n_depth) + (indices[:, -1] * np.pi / tables.lz[d]) ** 2
    weight = np.repeat(tables.eps, n_depth) * np.where(indices[:, -1] == 0, 1.0, 0.5)
    sign = np.where(indices[:, -1] % 2 == 0, 1.0, -1.0)
    coupling = np.repeat(tables.coupling[d], n_depth, axis=0) * sign[:, None]
    return indices, kappa2, weight, coupling


def cavity_shapes(indices: np.ndarray, sizes: tuple[float, ...], points: np.ndarray) -> np.ndarray:
    """ψ_n(r) = Π cos(n_d·π·r_d/L_d): (n_points, n_c) float64 for ``points`` (n_points, dim) m."""
    return np.prod(np.cos(indices[None, :, :] * np.pi * points[:, None, :] / np.asarray(sizes)), axis=2)


def full_form_response(
    tables: ModalTables,
    sizes: tuple[float, ...],
    n_depth: int,
    freqs: np.ndarray,
    rho0: float,
    c2: complex,
    plate_loss: float,
    force: np.ndarray,
    mass: np.ndarray,
    phi: np.ndarray,
    monopoles: list[tuple[complex, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Forced response of design 0 of ``tables`` by the full modal form.

    Args:
        tables: modal tables of one design; sizes: (lx, ly, lz) or (lx, lz), m; n_depth: depth modes.
        freqs: (n_freq,) Hz; rho0: kg/m³; c2: c²(1+iη_a), m²/s²; plate_loss: η_s.
        force: (n_modes,) complex modal forces, N; mass: (P,) kg; phi: (P, n_modes).
        monopoles: (volume velocity q in m³/s, position (dim,) m) pairs.

    Returns:
        ``(w, pressure, ms, indices)``: plate amplitudes (n_freq, n_modes) complex m, cavity modal
        pressures P_n (n_freq, n_c) complex Pa, ⟨|p|²⟩ (n_freq,) Pa², cavity indices (n_c, dim).

    Raises:
        numpy.linalg.LinAlgError: Z is exactly singular (lossless, exactly on a resonance).
    """
    indices, kappa2, weight, coupling = full_cavity_modes(tables, 0, n_depth)
    volume = float(np.prod(sizes))
    plate_w2 = tables.plate_w2[0].ravel() * (1.0 + 1j * plate_loss)
    source = np.zeros(len(kappa2), dtype=np.complex128)
    for q, position in monopoles:
        source += q * cavity_shapes(indices, sizes, position[None, :])[0]
    n_f = len(freqs)
    w = np.zeros((n_f, force.shape[0]), dtype=np.complex128)
    pressure = np.zeros((n_f, len(kappa2)), dtype=np.complex128)
    for f, freq in enumerate(freqs):
        omega = 2.0 * np.pi * freq
        k2 = omega**2 / c2
        # ω_n² − ω² = c̃²(κ² − k̃²); the c̃² cancels against the ρ0c̃² prefactors of g_n and s_n
        detuning = kappa2 - k2
        floor = KZ2_FLOOR * abs(k2)
        detuning = np.where(np.abs(detuning) < floor, floor, detuning)
        g = rho0 * omega**2 / (volume * weight * detuning)
        s = rho0 * 1j * omega * source / (volume * weight * detuning)
        z = np.diag(tables.modal_mass[0] * (plate_w2 - omega**2)).astype(np.complex128)
        z -= coupling.T @ (g[:, None] * coupling)
        z -= omega**2 * phi.T @ (mass[:, None] * phi)
        w[f] = np.linalg.solve(z, force + coupling.T @ s)
        pressure[f] = g * (coupling @ w[f]) + s
    ms = np.sum(weight * np.abs(pressure) ** 2, axis=1)
    return w, pressure, ms, indices


def full_form_eigenfrequencies(tables: ModalTables, rho0: float, speed: float, n_depth: int) -> np.ndarray:
    """Lossless natural frequencies of the truncated full form, Hz ascending, spurious ω = 0 root removed.

    Solves [K_s −Cᵀ; 0 K_f]·x = ω²·[M_s 0; C M_f]·x with K_s = M_s·diag(ω_ab²), M_f = VΛ/(ρ0c²) and
    K_f = M_f·diag(ω_n²) (docs/models/acoustic.md §2.3), unsymmetric, with a dense generalized eigensolver.
    """
    _, kappa2, weight, coupling = full_cavity_modes(tables, 0, n_depth)
    volume = float(tables.area[0] * tables.lz[0])
    n_p, n_c = coupling.shape[1], coupling.shape[0]
    m_s = tables.modal_mass[0]
    m_f = volume * weight / (rho0 * speed**2)
    a = np.zeros((n_p + n_c, n_p + n_c))
    b = np.zeros_like(a)
    a[:n_p, :n_p] = np.diag(m_s * tables.plate_w2[0].ravel())
    a[:n_p, n_p:] = -coupling.T
    a[n_p:, n_p:] = np.diag(m_f * speed**2 * kappa2)
    b[:n_p, :n_p] = np.eye(n_p) * m_s
    b[n_p:, :n_p] = coupling
    b[n_p:, n_p:] = np.diag(m_f)
    lam = scipy.linalg.eigvals(a, b).real
    lam = np.delete(lam, np.argmin(np.abs(lam)))  # the spurious constant-pressure root ω = 0
    return np.sort(np.sqrt(np.maximum(lam, 0.0))) / (2.0 * np.pi)
