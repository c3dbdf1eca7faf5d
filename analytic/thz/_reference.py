"""Plain NumPy reference of the single-mode modal-expansion model (docs/models/thz.md §2).

Written for clarity, not speed: the reciprocal-lattice sum is vectorised over the full circular
lattice (no symmetry tricks), the loop-mode overlaps use per-point trigonometry and the TE tail
integrals use the shared panel rule of ``_quadrature`` (itself tested against SciPy's ``quad``). The Numba kernels are tested against it.
"""

from __future__ import annotations

import numpy as np

from . import _quadrature as quadrature
from ._kernels import BRANCH_FLOOR
from ._materials import C0, LoopArray


def sqrt_im_pos(z: np.ndarray | complex) -> np.ndarray:
    """Square root on the branch Im ≥ 0 (outgoing or decaying waves for e^{−iωt})."""
    s = np.sqrt(np.asarray(z, dtype=np.complex128))
    return np.where(s.imag < 0, -s, s)


def side_integrals(k: np.ndarray, a: float, length: float) -> tuple[np.ndarray, np.ndarray]:
    """∫_{−L/2}^{L/2} cos(a u) cos(k u) du and ∫_{−L/2}^{L/2} sin(a u) sin(k u) du, (n,) float64."""
    half = 0.5 * length
    cc = np.empty_like(k)
    ss = np.empty_like(k)
    for sign, out in ((1.0, cc), (-1.0, ss)):
        dm, dp = a - k, a + k
        with np.errstate(divide="ignore", invalid="ignore"):
            term_m = np.where(np.abs(dm) > 0, np.sin(dm * half) / dm, half)
            term_p = np.where(np.abs(dp) > 0, np.sin(dp * half) / dp, half)
        out[...] = term_m + sign * term_p
    return cc, ss


def loop_overlaps(array: LoopArray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Vector overlap V(k) = Σ_j n̂_j F_j(k) of the loop mode, line approximation (sinc → 1).

    Args:
        array: the loop array.
        kx, ky: (n,) float64, rad/m; reciprocal-lattice vectors.

    Returns:
        (2, n) float64, m²: V_x = 2w cos(k_x l_x/2) C_y(k_y), V_y = −2w S_x(k_x) sin(k_y l_y/2),
        real because the loop is centred in its cell. The modal overlaps are
        S_kσ = V·ê_kσ / √(A·wP/2).
    """
    a = 2.0 * np.pi / array.perimeter
    w = array.gap
    c_y, _ = side_integrals(ky, a, array.side_y)
    _, s_x = side_integrals(kx, a, array.side_x)
    vx = 2.0 * w * np.cos(0.5 * kx * array.side_x) * c_y
    vy = -2.0 * w * s_x * np.sin(0.5 * ky * array.side_y)
    return np.stack([vx, vy])


def lattice(array: LoopArray, k_periods: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Reciprocal-lattice points inside the circular cut |k| < K, K = k_periods·2π/min(Λ).

    Returns:
        kx, ky: (n,) float64, rad/m; K: float, rad/m.
    """
    bx, by = 2.0 * np.pi / array.period_x, 2.0 * np.pi / array.period_y
    cut = k_periods * 2.0 * np.pi / min(array.period_x, array.period_y)
    nx, ny = int(np.floor(cut / bx)), int(np.floor(cut / by))
    n, m = np.meshgrid(np.arange(-nx, nx + 1), np.arange(-ny, ny + 1), indexing="ij")
    kx, ky = (n * bx).ravel(), (m * by).ravel()
    inside = kx**2 + ky**2 < cut**2
    return kx[inside], ky[inside], cut


def modal_overlaps_squared(array: LoopArray, kx: np.ndarray, ky: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|S_kp|² and |S_ks|², (n,) float64, with ê_p = k̂, ê_s = ẑ×k̂ and ê_p = x̂, ê_s = ŷ at k = 0."""
    vx, vy = loop_overlaps(array, kx, ky)
    kk = np.hypot(kx, ky)
    zero = kk == 0
    safe = np.where(zero, 1.0, kk)
    ux, uy = np.where(zero, 1.0, kx / safe), np.where(zero, 0.0, ky / safe)
    norm = array.period_x * array.period_y * array.gap * array.perimeter / 2.0
    sp = (vx * ux + vy * uy) ** 2 / norm
    ss = (-vx * uy + vy * ux) ** 2 / norm
    return sp, ss


def _metal_quantities(array: LoopArray, freq: float):
    """ε_m, surface impedance Z0 and gap permeability μ_g at ``freq`` (PEC: Z = 0, μ_g = 1)."""
    k0 = 2.0 * np.pi * freq / C0
    if array.drude is None:
        return None, 0.0j, 1.0 + 0.0j
    eps_m = complex(array.drude.permittivity(freq))
    z0 = 1.0 / sqrt_im_pos(eps_m)
    mu_g = 1.0 + 2.0 / (k0 * array.gap * np.sqrt(-eps_m))  # √(−ε_m) on the Re > 0 branch
    return eps_m, complex(z0), complex(mu_g)


def floored(z: np.ndarray | complex, scale: float) -> np.ndarray:
    """``z`` with every |z| < BRANCH_FLOOR·scale replaced by BRANCH_FLOOR·scale (a branch point hit exactly)."""
    z = np.asarray(z, dtype=np.complex128)
    return np.where(np.abs(z) < BRANCH_FLOOR * scale, BRANCH_FLOOR * scale, z)


def _admittances(eps: complex, eps_m: complex | None, k0: float, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ỹ_p, Ỹ_s of a half-space of permittivity ``eps`` above the (SIBC) metal, (n,) complex128."""
    kz = sqrt_im_pos(floored(eps * k0**2 - k**2, abs(eps) * k0**2))
    yp, ys = eps * k0 / kz, kz / k0
    if eps_m is None:
        return yp, ys
    kzm = sqrt_im_pos(eps_m * k0**2 - k**2)
    z_tm, z_te = kzm / (eps_m * k0), k0 / kzm
    return yp / (1.0 + z_tm * yp), ys / (1.0 + z_te * ys)


def te_tail(array: LoopArray, eps: complex, eps_m: complex | None, k0: float, cut: float) -> complex:
    """Compensated TE tail (a²w/π)[∫_K^∞ Ỹ_s sinc² k⁻² dk − ∫_{k1}^K Ỹ_s(1 − sinc²) k⁻² dk].

    Ỹ_s = c∞·k + R(k) with c∞ = i/k0 (PEC) or i/(2k0) (metal impedance: Ỹ_s → Y_s/2 for
    k ≫ |√ε_m|k0). The c∞ part is closed-form; R is integrated with the shared panel rule of
    :mod:`analytic.thz._quadrature`. k1 = 2π/max(Λ) is the smallest non-zero lattice vector.
    """
    w = array.gap
    a = 2.0 * np.pi / array.perimeter
    k1 = 2.0 * np.pi / max(array.period_x, array.period_y)
    c_inf = 1j / k0 if eps_m is None else 0.5j / k0
    k_skin = k0 * (
        abs(np.sqrt(eps_m))
        if eps_m is not None
        else max(abs(np.sqrt(array.eps_substrate)), abs(np.sqrt(array.eps_superstrate)))
    )
    buffer = np.empty(quadrature.MAX_EDGES)
    upper = buffer[: quadrature.upper_edges(cut, w, k_skin, buffer)]
    lower = np.linspace(np.log(k1), np.log(cut), quadrature.lower_panels(cut, k1) + 1)

    def remainder(k: np.ndarray) -> np.ndarray:
        return _admittances(eps, eps_m, k0, k)[1] - c_inf * k

    def sinc2(k: np.ndarray) -> np.ndarray:
        return np.sinc(k * w / (2.0 * np.pi)) ** 2

    upper_sum = gauss_legendre(lambda k: remainder(k) * sinc2(k) / k, upper)
    lower_sum = gauss_legendre(lambda k: remainder(k) * (1.0 - sinc2(k)) / k, lower)
    analytic = c_inf * quadrature.analytic_part(cut, k1, w)
    return a**2 * w / np.pi * (analytic + upper_sum - lower_sum)


def gauss_legendre(fun, edges: np.ndarray) -> complex:
    """Composite 8-point Gauss–Legendre sum of ∫ fun(e^x) dx over panels with the given edges."""
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    half = 0.5 * (edges[1:] - edges[:-1])[:, None]
    x = mid + half * quadrature.GL_NODES
    return complex(np.sum(half * quadrature.GL_WEIGHTS * fun(np.exp(x))))


def spectrum_reference(array: LoopArray, freqs: np.ndarray, k_periods: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """Complex zero-order transmission and reflection amplitudes, NumPy reference.

    Args:
        array: the loop array.
        freqs: (n_freq,) float64, Hz.
        k_periods: circular cut K of the direct lattice sum, in units of 2π/min(Λ).

    Returns:
        t, r: (n_freq,) complex128; t is the transmitted E-field in the substrate relative to the
        incident field, r the reflected one.
    """
    kx, ky, cut = lattice(array, k_periods)
    kk = np.hypot(kx, ky)
    sp, ss = modal_overlaps_squared(array, kx, ky)
    w, h = array.gap, array.thickness
    a = 2.0 * np.pi / array.perimeter
    s0 = (
        2.0
        / np.pi
        * np.sqrt(2.0 * w * array.perimeter / (array.period_x * array.period_y))
        * np.sin(np.pi * array.side_y / array.perimeter)
    )
    ell = np.log(1.0 / (cut * w)) + 1.5 - quadrature.EULER_GAMMA
    n_sup, n_sub = np.sqrt(array.eps_superstrate), np.sqrt(array.eps_substrate)
    t = np.empty(len(freqs), dtype=np.complex128)
    r = np.empty(len(freqs), dtype=np.complex128)
    for i, freq in enumerate(np.asarray(freqs, dtype=np.float64)):
        k0 = 2.0 * np.pi * freq / C0
        eps_m, z0, mu_g = _metal_quantities(array, freq)
        g = []
        for eps in (array.eps_superstrate, array.eps_substrate):
            yp, ys = _admittances(eps, eps_m, k0, kk)
            direct = np.sum(yp * sp + ys * ss)
            tm_tail = -1j * eps * k0 * (w / np.pi) * ell
            g.append(direct + tm_tail + te_tail(array, eps, eps_m, k0, cut))
        g_in, g_out = g
        q = complex(sqrt_im_pos(floored(array.eps_gap * mu_g * k0**2 - a**2, abs(array.eps_gap * mu_g) * k0**2)))
        y0 = q / (mu_g * k0)
        zy = z0 * y0
        e1 = np.exp(1j * q * h)  # |e1| ≤ 1: the exp(−iqh) form would overflow for thick films
        e2 = e1 * e1
        u, v = -2.0 * q.imag * h, 2.0 * q.real * h  # e2 − 1 = expm1(u + iv), exact as q → 0
        e2_minus_1 = np.expm1(u) * np.cos(v) - 2.0 * np.sin(0.5 * v) ** 2 + 1j * np.exp(u) * np.sin(v)
        den = e2_minus_1 * (1 + zy) ** 2 + 4.0 * zy  # = e2(1 + zy)² − (1 − zy)²
        g_v = 2.0 * y0 * e1 / den
        sigma = y0 * (e2 * (1 + zy) + (1 - zy)) / den
        i0 = 2.0 * n_sup / (1.0 + z0 * n_sup) * s0
        det = (g_in - sigma) * (g_out - sigma) - g_v**2
        e_exit = g_v * i0 / det
        e_entry = (g_out - sigma) * i0 / det
        t[i] = -s0 * e_exit / (1.0 + z0 * n_sub)
        r[i] = (s0 * e_entry - (1.0 - z0 * n_sup)) / (1.0 + z0 * n_sup)
    return t, r
