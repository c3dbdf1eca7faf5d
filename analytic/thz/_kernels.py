"""Numba kernels of the nanogap-loop model: one (geometry, frequency) pair per prange iteration.

Same equations as :mod:`analytic.thz._reference`, restructured for speed (docs/models/thz.md §2.7,
"Performance structure"):

- the loop is centred in its cell, so the line-approximation overlaps are real and separable,
  V_x = 2w·cos(k_x l_x/2)·C_y(k_y), V_y = −2w·S_x(k_x)·sin(k_y l_y/2); the 1-D tables over the
  lattice indices are built with angle-addition recurrences;
- |S_kσ|² is even in k_x and k_y, so one quadrant is summed with weights 1, 2, 4;
- one complex square root per lattice point (the metal's k_z) serves both half-spaces, and an
  evanescent order in a lossless dielectric needs only a real square root;
- ``error_model="numpy"`` and fastmath without ``nnan``/``ninf`` let LLVM vectorise the sums.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import _quadrature as quadrature

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
C0 = 299_792_458.0
BRANCH_FLOOR = 1e-15
"""Relative floor on |k_z²| and |q²|: a Rayleigh anomaly (k_z = 0) or the loop-mode cutoff (q = 0) hit
exactly is evaluated at k_z² = BRANCH_FLOOR·|ε|k0² (q² likewise), a frequency shift of ~5e-16
relative, below the rounding of the input; otherwise both are removable 0/0 or ∞/∞ points."""

MAX_LATTICE_SPAN = 10_000.0
"""Largest k_periods·max(Λ)/min(Λ): the lattice rows per axis, so the scratch row (this + 10 entries)
and, with k_periods ≤ 200, at most π/4·200·1e4 ≈ 1.6e6 lattice points per (geometry, frequency)."""


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _sqrt_im_pos(z: complex) -> complex:
    s = np.sqrt(z)
    if s.imag < 0.0:
        s = -s
    return s


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _floored(z: complex, scale: float) -> complex:
    """``z``, or BRANCH_FLOOR·scale when |z| is below it (see BRANCH_FLOOR)."""
    floor = BRANCH_FLOOR * scale
    if abs(z) < floor:
        return complex(floor, 0.0)
    return z


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _expm1_i(z: complex) -> complex:
    """e^{iz} − 1 without cancellation for small |z| (Im z ≥ 0)."""
    re, im = -z.imag, z.real
    return complex(math.expm1(re) * math.cos(im) - 2.0 * math.sin(0.5 * im) ** 2, math.exp(re) * math.sin(im))


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _half_sinc(d: float, half: float) -> float:
    """sin(d·half)/d, with its limit ``half`` at d = 0."""
    x = d * half
    if abs(x) < 1e-300:
        return half
    return math.sin(x) / d


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _tables(a, side, step, n, cos_out, sin_out, even_out, odd_out):
    """cos/sin(k_i·side/2) and the side integrals ∫cos(au)cos(k_i u), ∫sin(au)sin(k_i u) du."""
    half = 0.5 * side
    sa, ca = math.sin(a * half), math.cos(a * half)
    c_step, s_step = math.cos(step * half), math.sin(step * half)
    c, s = 1.0, 0.0
    for i in range(n):
        k = i * step
        cos_out[i], sin_out[i] = c, s
        dm, dp = a - k, a + k
        if abs(dm * half) < 1e-3:  # recurrence form cancels near k = a: use the direct form
            sm = _half_sinc(dm, half)
        else:
            sm = (sa * c - ca * s) / dm
        sp = (sa * c + ca * s) / dp
        even_out[i] = sm + sp
        odd_out[i] = sm - sp
        c, s = c * c_step - s * s_step, s * c_step + c * s_step


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _tilde_admittances(eps, k0, k2, kzm, inv_eps_m, pec):
    """General complex Ỹ_p = k0/(k_z/ε + k_zm/ε_m) and Ỹ_s = k_z·k_zm/(k0(k_z + k_zm)); PEC: Y_p, Y_s."""
    kz = _sqrt_im_pos(_floored(eps * k0 * k0 - k2, abs(eps) * k0 * k0))
    if pec:
        return eps * k0 / kz, kz / k0
    yp = k0 / (kz / eps + kzm * inv_eps_m)
    ys = kz * kzm / (k0 * (kz + kzm))
    return yp, ys


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _metal_terms(k2, xm, ym, ir, ii, metal):
    """k_zm/ε_m, 1/k_zm (as (re, im) pairs) and 1/k², with k_zm = √(ε_m k0² − k²), Im > 0 branch.

    xm = Re(ε_m)k0² < 0, ym = Im(ε_m)k0² > 0, (ir, ii) = 1/ε_m. Written without cancellation
    (Im k_zm from (|z| − x)/2 with x < 0, Re k_zm = y/(2 Im), |k_zm|² = |z|) and with a single
    division. ``metal`` = 0.0 (perfect conductor) zeroes the metal terms without a branch, so the
    caller's loop stays vectorisable.
    """
    x = xm - k2
    mod = math.sqrt(x * x + ym * ym)
    im = math.sqrt(0.5 * (mod - x))
    rec = 1.0 / (im * mod * k2)
    re = 0.5 * ym * mod * k2 * rec
    inv_mod = metal * im * k2 * rec
    return metal * (re * ir - im * ii), metal * (re * ii + im * ir), re * inv_mod, -im * inv_mod, im * mod * rec


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _evanescent_admittances(kappa, inv_eps, k0, inv_k0, mr, mi, vr, vi):
    """Ỹ_p, Ỹ_s as (re, im) pairs for an evanescent order k_z = iκ in a lossless dielectric ε.

    Ỹ_p = k0/(iκ/ε + k_zm/ε_m), Ỹ_s = iκ/(k0(1 + iκ/k_zm)); inv_eps = 1/ε; (mr, mi) = k_zm/ε_m and
    (vr, vi) = 1/k_zm, both zero for the perfect conductor. One division for both.
    """
    dr, di = mr, kappa * inv_eps + mi
    er, ei = 1.0 - kappa * vi, kappa * vr
    d2, e2 = dr * dr + di * di, er * er + ei * ei
    rec = 1.0 / (d2 * e2)
    scale = k0 * e2 * rec
    scale_s = kappa * inv_k0 * d2 * rec
    return dr * scale, -di * scale, ei * scale_s, er * scale_s


@njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def _point_terms(kx, ky, vx, vy, k0, inv_k0, ie1, ie3, k02e1, k02e3, xm, ym, ir, ii, metal):
    """Ỹ_p|S_p|² + Ỹ_s|S_s|² (unnormalised) in both half-spaces at k ≠ 0, as (re, im, re, im).

    ie1, ie3: 1/ε of superstrate and substrate; k02e1, k02e3: ε·k0².
    """
    k2 = kx * kx + ky * ky
    mr, mi, vr, vi, inv = _metal_terms(k2, xm, ym, ir, ii, metal)
    proj_p = vx * kx + vy * ky
    proj_s = vy * kx - vx * ky
    sp2 = proj_p * proj_p * inv
    ss2 = proj_s * proj_s * inv
    pr, pi, sr, si = _evanescent_admittances(math.sqrt(k2 - k02e1), ie1, k0, inv_k0, mr, mi, vr, vi)
    qr, qi, tr, ti = _evanescent_admittances(math.sqrt(k2 - k02e3), ie3, k0, inv_k0, mr, mi, vr, vi)
    return pr * sp2 + sr * ss2, pi * sp2 + si * ss2, qr * sp2 + tr * ss2, qi * sp2 + ti * ss2


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _tail_nodes(cut, k_first, gap, k_skin, edges, nodes_k, nodes_w):
    """Nodes k (rad/m) and weights of both TE tail integrals, signs and sinc² folded in."""
    n_up = quadrature.upper_edges(cut, gap, k_skin, edges)
    n_low = quadrature.lower_panels(cut, k_first)
    x_lo, x_hi = math.log(k_first), math.log(cut)
    n_gl = quadrature.GL_NODES.shape[0]
    count = 0
    for p in range(n_up - 1 + n_low):
        upper = p < n_up - 1
        if upper:
            lo, hi = edges[p], edges[p + 1]
        else:
            lo = x_lo + (x_hi - x_lo) * (p - n_up + 1) / n_low
            hi = x_lo + (x_hi - x_lo) * (p - n_up + 2) / n_low
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        for q in range(n_gl):
            k = math.exp(mid + half * quadrature.GL_NODES[q])
            u = 0.5 * k * gap
            sinc2 = (math.sin(u) / u) ** 2
            factor = sinc2 if upper else sinc2 - 1.0
            nodes_k[count] = k
            nodes_w[count] = half * quadrature.GL_WEIGHTS[q] * factor / k
            count += 1
    return count


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _row_limits(nx, bx, by, cut2, jmax):
    for i in range(nx):
        kx2 = (i * bx) ** 2
        n = int(math.sqrt(max(cut2 - kx2, 0.0)) / by) + 2
        while n > 0 and kx2 + ((n - 1) * by) ** 2 >= cut2:
            n -= 1
        jmax[i] = n


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _lattice_rows(nx, bx, by, jmax, cx, sx, cy, sy, k0, e1, e3, xm, ym, ir, ii, metal):
    inv_k0, ie1, ie3, k02e1, k02e3 = 1.0 / k0, 1.0 / e1, 1.0 / e3, e1 * k0 * k0, e3 * k0 * k0
    """Quadrant lattice sum (k ≠ 0) in both half-spaces; branch-free inner loop over k_y > 0."""
    a1r = a1i = a3r = a3i = 0.0
    for i in range(nx):
        kx = i * bx
        r1r = r1i = r3r = r3i = 0.0
        n_row = jmax[i]
        for j in range(1, ((n_row + 6) // 8) * 8 + 1):  # padded to a multiple of 8: no scalar remainder
            t1r, t1i, t3r, t3i = _point_terms(
                kx, j * by, cx[i] * cy[j], -sx[i] * sy[j], k0, inv_k0, ie1, ie3, k02e1, k02e3, xm, ym, ir, ii, metal
            )
            mask = 1.0 if j < n_row else 0.0
            r1r += mask * t1r
            r1i += mask * t1i
            r3r += mask * t3r
            r3i += mask * t3i
        wi = 1.0 if i == 0 else 2.0
        a1r += 2.0 * wi * r1r
        a1i += 2.0 * wi * r1i
        a3r += 2.0 * wi * r3r
        a3i += 2.0 * wi * r3i
        if i > 0 and jmax[i] > 0:  # k_y = 0 row entry, weight 2 (±k_x)
            t1r, t1i, t3r, t3i = _point_terms(
                kx, 0.0, cx[i] * cy[0], 0.0, k0, inv_k0, ie1, ie3, k02e1, k02e3, xm, ym, ir, ii, metal
            )
            a1r += 2.0 * t1r
            a1i += 2.0 * t1i
            a3r += 2.0 * t3r
            a3i += 2.0 * t3i
    return complex(a1r, a1i), complex(a3r, a3i)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _sums_fast(nx, bx, by, jmax, cx, sx, cy, sy, k0, eps_sup, eps_sub, eps_m, pec, nodes_k, nodes_w, n_nodes):
    """Lattice sums (k ≠ 0) and TE-tail remainders in real arithmetic.

    Valid for lossless dielectrics with no propagating non-zero order and Re ε_m < 0 (or PEC).
    """
    k02 = k0 * k0
    xm, ym = eps_m.real * k02, eps_m.imag * k02
    inv = 1.0 / eps_m
    ir, ii = inv.real, inv.imag
    e1, e3 = eps_sup.real, eps_sub.real
    metal = 0.0 if pec else 1.0
    if pec:  # any finite ε_m keeps the (zeroed) metal terms finite
        xm, ym = -1.0, 1.0
    g1, g3 = _lattice_rows(nx, bx, by, jmax, cx, sx, cy, sy, k0, e1, e3, xm, ym, ir, ii, metal)
    c_inf = 1.0 / k0 if pec else 0.5 / k0  # imaginary part of c∞
    t1r = t1i = t3r = t3i = 0.0
    for n in range(n_nodes):
        k = nodes_k[n]
        k2 = k * k
        mr, mi, vr, vi, _ = _metal_terms(k2, xm, ym, ir, ii, metal)
        _, _, sr, si = _evanescent_admittances(math.sqrt(k2 - e1 * k02), 1.0 / e1, k0, 1.0 / k0, mr, mi, vr, vi)
        t1r += nodes_w[n] * sr
        t1i += nodes_w[n] * (si - c_inf * k)
        _, _, sr, si = _evanescent_admittances(math.sqrt(k2 - e3 * k02), 1.0 / e3, k0, 1.0 / k0, mr, mi, vr, vi)
        t3r += nodes_w[n] * sr
        t3i += nodes_w[n] * (si - c_inf * k)
    return g1, g3, complex(t1r, t1i), complex(t3r, t3i)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _sums_general(nx, bx, by, jmax, cx, sx, cy, sy, k0, eps_sup, eps_sub, eps_m, pec, nodes_k, nodes_w, n_nodes):
    """Same sums as :func:`_sums_fast` in complex arithmetic (lossy media, propagating orders)."""
    k02 = k0 * k0
    inv = 1.0 / eps_m
    c_inf = 1j / k0 if pec else 0.5j / k0
    g1 = g3 = 0j
    for i in range(nx):
        kx = i * bx
        for j in range(1 if i == 0 else 0, jmax[i]):
            ky = j * by
            k2 = kx * kx + ky * ky
            vx = cx[i] * cy[j]
            vy = -sx[i] * sy[j]
            sp2 = (vx * kx + vy * ky) ** 2 / k2
            ss2 = (vy * kx - vx * ky) ** 2 / k2
            w = (1.0 if i == 0 else 2.0) * (1.0 if j == 0 else 2.0)
            kzm = 0j if pec else _sqrt_im_pos(eps_m * k02 - k2)
            yp, ys = _tilde_admittances(eps_sup, k0, k2, kzm, inv, pec)
            g1 += w * (yp * sp2 + ys * ss2)
            yp, ys = _tilde_admittances(eps_sub, k0, k2, kzm, inv, pec)
            g3 += w * (yp * sp2 + ys * ss2)
    t1 = t3 = 0j
    for n in range(n_nodes):
        k = nodes_k[n]
        kzm = 0j if pec else _sqrt_im_pos(eps_m * k02 - k * k)
        t1 += nodes_w[n] * (_tilde_admittances(eps_sup, k0, k * k, kzm, inv, pec)[1] - c_inf * k)
        t3 += nodes_w[n] * (_tilde_admittances(eps_sub, k0, k * k, kzm, inv, pec)[1] - c_inf * k)
    return g1, g3, t1, t3


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _pair(geom, eps_gap, eps_sub, eps_sup, pec, plasma, damping, freq, k_periods, scratch, edges, nodes):
    """t00 and r00 of one geometry ``geom`` = (w, h, l_x, l_y, Λ_x, Λ_y) at one frequency."""
    w, h, lx, ly, px, py = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    perimeter = 2.0 * (lx + ly)
    area = px * py
    a = 2.0 * math.pi / perimeter
    bx, by = 2.0 * math.pi / px, 2.0 * math.pi / py
    cut = k_periods * 2.0 * math.pi / min(px, py)
    nx, ny = int(cut / bx) + 1, int(cut / by) + 1
    cx, sxt, cxe, sx = scratch[0], scratch[1], scratch[2], scratch[3]
    cyt, sy, cy, syo = scratch[4], scratch[5], scratch[6], scratch[7]
    jmax = scratch[8].view(np.int64)
    _tables(a, lx, bx, nx, cx, sxt, cxe, sx)
    _tables(a, ly, by, ny + 8, cyt, sy, cy, syo)  # + 8: the padded row loop reads (masked) entries
    _row_limits(nx, bx, by, cut * cut, jmax)

    omega = 2.0 * math.pi * freq
    k0 = omega / C0
    if pec:
        eps_m = -1.0 + 0j
        z0 = 0j
        mu_g = 1.0 + 0j
        k_skin = k0 * max(abs(np.sqrt(eps_sub)), abs(np.sqrt(eps_sup)))
    else:
        eps_m = 1.0 - plasma * plasma / (omega * omega + 1j * damping * omega)
        z0 = 1.0 / _sqrt_im_pos(eps_m)
        mu_g = 1.0 + 2.0 / (k0 * w * np.sqrt(-eps_m))
        k_skin = k0 * abs(np.sqrt(eps_m))
    k_first = 2.0 * math.pi / max(px, py)
    n_nodes = _tail_nodes(cut, k_first, w, k_skin, edges, nodes[0], nodes[1])
    n_max = max(np.sqrt(eps_sub).real, np.sqrt(eps_sup).real)
    evanescent = eps_sup.imag == 0.0 and eps_sub.imag == 0.0 and n_max * k0 < k_first and eps_m.real < 0.0
    args = (nx, bx, by, jmax, cx, sx, cy, sy, k0, eps_sup, eps_sub, eps_m, pec, nodes[0], nodes[1], n_nodes)
    g_sup, g_sub, te_sup, te_sub = _sums_fast(*args) if evanescent else _sums_general(*args)
    # k = 0 (ê_p = x̂, ê_s = ŷ; V_y(0) = 0) in complex arithmetic, propagating in both media.
    inv = 1.0 / eps_m
    kzm0 = 0j if pec else _sqrt_im_pos(eps_m * k0 * k0)
    sp2_0 = (cx[0] * cy[0]) ** 2
    g_sup += _tilde_admittances(eps_sup, k0, 0.0, kzm0, inv, pec)[0] * sp2_0
    g_sub += _tilde_admittances(eps_sub, k0, 0.0, kzm0, inv, pec)[0] * sp2_0
    norm = 4.0 * w * w / (area * w * perimeter / 2.0)
    ell = math.log(1.0 / (cut * w)) + 1.5 - quadrature.EULER_GAMMA
    c_inf = 1j / k0 if pec else 0.5j / k0
    analytic = c_inf * quadrature.analytic_part(cut, k_first, w)
    te_scale = a * a * w / math.pi
    g_sup = norm * g_sup - 1j * eps_sup * k0 * (w / math.pi) * ell + te_scale * (te_sup + analytic)
    g_sub = norm * g_sub - 1j * eps_sub * k0 * (w / math.pi) * ell + te_scale * (te_sub + analytic)

    s0 = 2.0 / math.pi * math.sqrt(2.0 * w * perimeter / area) * math.sin(math.pi * ly / perimeter)
    q = _sqrt_im_pos(_floored(eps_gap * mu_g * k0 * k0 - a * a, abs(eps_gap * mu_g) * k0 * k0))
    y0 = q / (mu_g * k0)
    zy = z0 * y0
    e1 = np.exp(1j * q * h)
    e2 = e1 * e1
    den = _expm1_i(2.0 * q * h) * (1.0 + zy) ** 2 + 4.0 * zy  # = e2(1 + zy)² − (1 − zy)², exact as q → 0
    g_v = 2.0 * y0 * e1 / den
    sigma = y0 * (e2 * (1.0 + zy) + (1.0 - zy)) / den
    n_sup, n_sub = np.sqrt(eps_sup), np.sqrt(eps_sub)
    i0 = 2.0 * n_sup / (1.0 + z0 * n_sup) * s0
    det = (g_sup - sigma) * (g_sub - sigma) - g_v * g_v
    t = -s0 * (g_v * i0 / det) / (1.0 + z0 * n_sub)
    r = (s0 * ((g_sub - sigma) * i0 / det) - (1.0 - z0 * n_sup)) / (1.0 + z0 * n_sup)
    return t, r


@njit(cache=True, parallel=True, fastmath=FASTMATH, error_model="numpy")
def transmission_batch(geoms, freqs, eps_gap, eps_sub, eps_sup, pec, plasma, damping, k_periods):
    """Zero-order t00 and r00 for every (geometry, frequency) pair.

    Args:
        geoms: (n_geom, 6) float64, m; columns gap, thickness, side_x, side_y, period_x, period_y.
        freqs: (n_geom, n_freq) float64, Hz.
        eps_gap, eps_sub, eps_sup: complex permittivities shared by the batch.
        pec: perfect conductor (plasma, damping ignored) or Drude metal (rad/s, 1/s).
        k_periods: circular cut of the direct lattice sum, in units of 2π/min(Λ).

    Returns:
        t, r: (n_geom, n_freq) complex128.

    Raises:
        ValueError: k_periods·max(Λ)/min(Λ) > MAX_LATTICE_SPAN or a gap ≤ 0 (NaN included), checked
            before any scratch is allocated; :func:`analytic.thz.spectra` validates far more first.
    """
    n_geom, n_freq = freqs.shape
    t = np.empty((n_geom, n_freq), dtype=np.complex128)
    r = np.empty((n_geom, n_freq), dtype=np.complex128)
    n_pairs = n_geom * n_freq
    size = 2
    for g in range(n_geom):
        lo, hi = min(geoms[g, 4], geoms[g, 5]), max(geoms[g, 4], geoms[g, 5])
        # the callers validate (exactly); this guard, with slack for fastmath rounding, keeps a bad call
        # from sizing the scratch from garbage
        if not (lo > 0.0 and k_periods * hi <= MAX_LATTICE_SPAN * (1.0 + 1e-9) * lo and geoms[g, 0] > 0.0):
            raise ValueError("transmission_batch: period ratio x k_periods beyond the scratch bound, or a gap <= 0")
        size = max(size, int(k_periods * hi / lo) + 10)
    n_chunks = min(n_pairs, 64)
    for chunk in prange(n_chunks):  # scratch buffers allocated once per chunk, not per pair
        scratch = np.empty((9, size))
        edges = np.empty(quadrature.MAX_EDGES)
        nodes = np.empty((2, quadrature.MAX_EDGES * quadrature.GL_NODES.shape[0]))
        for flat in range(chunk * n_pairs // n_chunks, (chunk + 1) * n_pairs // n_chunks):
            g, f = flat // n_freq, flat % n_freq
            t[g, f], r[g, f] = _pair(
                geoms[g], eps_gap, eps_sub, eps_sup, pec, plasma, damping, freqs[g, f], k_periods, scratch, edges, nodes
            )
    return t, r
