"""Numba kernel of the depth-exact coupled modal form (docs/models/acoustic.md §2.4), batched over designs × frequencies.

Per (design, frequency) pair: g_ij from the closed-form depth sum, the plate impedance assembled per
parity block by the separable contraction T[i,b,b′] = Σ_j g_ij·Iy[j,b]·Iy[j,b′],
Z[ab,a′b′] = δ·M_s(ω_ab²(1+iη_s) − ω²) − Σ_i Ix[i,a]·Ix[i,a′]·T[i,b,b′] (upper triangle only), an
in-place complex-symmetric LDLᵀ solve per parity block (Bunch–Kaufman pivoting, half the work of
LU), point masses by the Woodbury identity on the block-diagonal matrix (a rank-P update, P = number
of masses), then ⟨|p|²⟩ with the scaled sinh/sin factor. Real and imaginary parts are stored apart
so the row updates vectorise; scratch arrays are allocated once per thread set, not per pair.
"""

from __future__ import annotations

import cmath
import math

import numba as nb
import numpy as np

from ._modal import KZ2_FLOOR

STATUS_OK = 0
STATUS_SINGULAR = 1


@nb.njit(cache=True, error_model="numpy", inline="always")
def _depth(kz2: complex, k2_abs: float, lz: float) -> tuple[complex, float]:
    """Scalar version of _modal.depth_wavenumber + _modal.depth_terms: (cot(k_z lz)/k_z, msq_term)."""
    floor = KZ2_FLOOR * k2_abs
    if abs(kz2) < floor:
        kz2 = complex(floor, 0.0)
    kz = cmath.sqrt(kz2)
    if kz.imag < 0.0:
        kz = -kz
    re = -2.0 * kz.imag * lz
    im = 2.0 * kz.real * lz
    s_half = math.sin(0.5 * im)
    e = math.exp(re)
    q = complex(math.expm1(re) * math.cos(im) - 2.0 * s_half * s_half, e * math.sin(im))
    cot_term = 1j * (q + 2.0) / (kz * q)
    u = -re
    sinh_ratio = 1.0 if u == 0.0 else -math.expm1(-2.0 * u) / (2.0 * u)
    sinc = 1.0 if im == 0.0 else math.sin(im) / im
    kz_abs2 = kz.real * kz.real + kz.imag * kz.imag
    q_abs2 = q.real * q.real + q.imag * q.imag
    return cot_term, 2.0 * (sinh_ratio + sinc * e) / (kz_abs2 * q_abs2)


BK_ALPHA = (1.0 + 17.0**0.5) / 8.0
"""Bunch–Kaufman pivot threshold (LAPACK zsytf2)."""


@nb.njit(cache=True, error_model="numpy", inline="always")
def _swap(x: np.ndarray, i: int, j: int, y: np.ndarray, k: int, m: int) -> None:
    x[i, j], y[k, m] = y[k, m], x[i, j]


@nb.njit(cache=True, error_model="numpy")
def _sym_solve_inplace(
    ur: np.ndarray, ui: np.ndarray, n: int, br: np.ndarray, bi: np.ndarray, m: int, piv: np.ndarray
) -> bool:
    """Solve A·x = b in place for complex *symmetric* A (not Hermitian): x overwrites b[:n, :m].

    A = ur + i·ui is read from its upper triangle only (ur[j, i], j ≤ i); the lower triangle is
    ignored. LDLᵀ with Bunch–Kaufman 1×1/2×2 pivoting (LAPACK zsytf2/zsytrs, lower form written on
    the transposed storage so that every update runs along a contiguous row), n³/6 complex
    multiply-adds; the right-hand sides are eliminated during the factorization. ``piv`` is an int64
    scratch array of length ≥ n. Returns False when A is exactly singular.
    """
    k = 0
    while k < n:
        absakk = abs(ur[k, k]) + abs(ui[k, k])
        imax = k
        colmax = 0.0
        for i in range(k + 1, n):
            v = abs(ur[k, i]) + abs(ui[k, i])
            if v > colmax:
                colmax = v
                imax = i
        if max(absakk, colmax) == 0.0:
            return False
        kstep = 1
        kp = k
        if absakk < BK_ALPHA * colmax:
            rowmax = 0.0
            for j in range(k, imax):
                rowmax = max(rowmax, abs(ur[j, imax]) + abs(ui[j, imax]))
            for i in range(imax + 1, n):
                rowmax = max(rowmax, abs(ur[imax, i]) + abs(ui[imax, i]))
            if absakk >= BK_ALPHA * colmax * (colmax / rowmax):
                kp = k
            elif abs(ur[imax, imax]) + abs(ui[imax, imax]) >= BK_ALPHA * rowmax:
                kp = imax
            else:
                kp = imax
                kstep = 2
        kk = k + kstep - 1
        if kp != kk:
            for i in range(kp + 1, n):
                _swap(ur, kk, i, ur, kp, i)
                _swap(ui, kk, i, ui, kp, i)
            for j in range(kk + 1, kp):
                _swap(ur, kk, j, ur, j, kp)
                _swap(ui, kk, j, ui, j, kp)
            _swap(ur, kk, kk, ur, kp, kp)
            _swap(ui, kk, kk, ui, kp, kp)
            if kstep == 2:
                _swap(ur, k, k + 1, ur, k, kp)
                _swap(ui, k, k + 1, ui, k, kp)
            for c in range(m):
                _swap(br, kk, c, br, kp, c)
                _swap(bi, kk, c, bi, kp, c)
        if kstep == 1:
            piv[k] = kp
            mag = ur[k, k] ** 2 + ui[k, k] ** 2
            rr = ur[k, k] / mag
            ri = -ui[k, k] / mag
            for j in range(k + 1, n):
                cr = rr * ur[k, j] - ri * ui[k, j]
                ci = rr * ui[k, j] + ri * ur[k, j]
                for i in range(j, n):
                    xr = ur[k, i]
                    xi = ui[k, i]
                    ur[j, i] -= cr * xr - ci * xi
                    ui[j, i] -= cr * xi + ci * xr
            for i in range(k + 1, n):
                xr = ur[k, i]
                ur[k, i] = rr * xr - ri * ui[k, i]
                ui[k, i] = rr * ui[k, i] + ri * xr
            for c in range(m):
                for i in range(k + 1, n):
                    br[i, c] -= ur[k, i] * br[k, c] - ui[k, i] * bi[k, c]
                    bi[i, c] -= ur[k, i] * bi[k, c] + ui[k, i] * br[k, c]
                xr = br[k, c]
                br[k, c] = rr * xr - ri * bi[k, c]
                bi[k, c] = rr * bi[k, c] + ri * xr
        else:
            piv[k] = piv[k + 1] = -kp - 1  # a 2×2 block: both entries negative
            d21 = complex(ur[k, k + 1], ui[k, k + 1])
            d11 = complex(ur[k + 1, k + 1], ui[k + 1, k + 1]) / d21
            d22 = complex(ur[k, k], ui[k, k]) / d21
            denom = d11 * d22 - 1.0
            if denom == 0.0:
                return False
            scale = 1.0 / (denom * d21)
            for j in range(k + 2, n):
                a0 = complex(ur[k, j], ui[k, j])
                a1 = complex(ur[k + 1, j], ui[k + 1, j])
                wk = scale * (d11 * a0 - a1)
                wk1 = scale * (d22 * a1 - a0)
                for i in range(j, n):
                    x0r = ur[k, i]
                    x0i = ui[k, i]
                    x1r = ur[k + 1, i]
                    x1i = ui[k + 1, i]
                    ur[j, i] -= x0r * wk.real - x0i * wk.imag + x1r * wk1.real - x1i * wk1.imag
                    ui[j, i] -= x0r * wk.imag + x0i * wk.real + x1r * wk1.imag + x1i * wk1.real
                ur[k, j] = wk.real
                ui[k, j] = wk.imag
                ur[k + 1, j] = wk1.real
                ui[k + 1, j] = wk1.imag
            for c in range(m):
                b0 = complex(br[k, c], bi[k, c])
                b1 = complex(br[k + 1, c], bi[k + 1, c])
                for i in range(k + 2, n):
                    br[i, c] -= (
                        ur[k, i] * b0.real - ui[k, i] * b0.imag + ur[k + 1, i] * b1.real - ui[k + 1, i] * b1.imag
                    )
                    bi[i, c] -= (
                        ur[k, i] * b0.imag + ui[k, i] * b0.real + ur[k + 1, i] * b1.imag + ui[k + 1, i] * b1.real
                    )
                y0 = b0 / d21
                y1 = b1 / d21
                x0 = (d11 * y0 - y1) / denom
                x1 = (d22 * y1 - y0) / denom
                br[k, c], bi[k, c] = x0.real, x0.imag
                br[k + 1, c], bi[k + 1, c] = x1.real, x1.imag
        k += kstep
    # back substitution Lᵀ·x = y, undoing the interchanges in reverse order
    k = n - 1
    while k >= 0:
        first = k - 1 if piv[k] < 0 else k
        for row in range(k, first - 1, -1):
            for c in range(m):
                sr = br[row, c]
                si = bi[row, c]
                for i in range(k + 1, n):
                    sr -= ur[row, i] * br[i, c] - ui[row, i] * bi[i, c]
                    si -= ur[row, i] * bi[i, c] + ui[row, i] * br[i, c]
                br[row, c] = sr
                bi[row, c] = si
        kp = piv[k] if piv[k] >= 0 else -piv[k] - 1
        if kp != k:
            for c in range(m):
                _swap(br, k, c, br, kp, c)
                _swap(bi, k, c, bi, kp, c)
        k = first - 1
    return True


@nb.njit(cache=True, parallel=True, error_model="numpy")
def depth_exact_batch(
    freqs: np.ndarray,
    lz: np.ndarray,
    rho0: np.ndarray,
    c2: np.ndarray,
    area: np.ndarray,
    modal_mass: np.ndarray,
    plate_w2: np.ndarray,
    ix: np.ndarray,
    iy: np.ndarray,
    kx2: np.ndarray,
    ky2: np.ndarray,
    eps_x: np.ndarray,
    eps_y: np.ndarray,
    force: np.ndarray,
    mass: np.ndarray,
    phi: np.ndarray,
    groups_a: np.ndarray,
    groups_i: np.ndarray,
    groups_b: np.ndarray,
    groups_j: np.ndarray,
    w_out: np.ndarray,
    ms_out: np.ndarray,
    status_out: np.ndarray,
    n_threads: int,
) -> None:
    """Fill ``ms_out`` (n_design, n_freq) with ⟨|p|²⟩ (Pa²) and, if ``w_out`` has n_design rows, the plate amplitudes.

    Args (n_d designs, n_f frequencies, na×nb plate modes, ni×nj transverse modes, P masses):
        freqs (n_f,) Hz; lz, rho0, area, modal_mass (n_d,) float64; c2 (n_d,) complex c²(1+iη_a);
        plate_w2 (n_d, na, nb) complex ω_ab²(1+iη_s); ix (n_d, ni, na), iy (n_d, nj, nb) float64;
        kx2 (n_d, ni), ky2 (n_d, nj) float64; eps_x (ni,), eps_y (nj,); force (n_d, na, nb) complex
        modal forces; mass (n_d, P) and phi (n_d, P, na, nb) float64 mode shapes at the masses;
        groups_a/groups_i (Gx, na + 1 / ni + 1) int64 parity groups along x (column 0 = count, then
        0-based indices), groups_b/groups_j likewise along y; w_out (n_d or 1, n_f, na·nb) complex;
        status_out (n_d, n_f) int8 (STATUS_SINGULAR where a pivot was exactly zero); n_threads: the
        number of scratch sets, each working on every n_threads-th pair (use numba.get_num_threads()).
    """
    n_d = lz.shape[0]
    n_f = freqs.shape[0]
    na, nb_ = plate_w2.shape[1], plate_w2.shape[2]
    ni, nj = kx2.shape[1], ky2.shape[1]
    n_mass = mass.shape[1]
    n_modes = na * nb_
    store_w = w_out.shape[0] == n_d
    n_pairs = n_d * n_f
    n_sets = min(n_threads, n_pairs)
    for t in nb.prange(n_sets):
        gr = np.empty((ni, nj))
        gi = np.empty((ni, nj))
        msq = np.empty((ni, nj))
        ixg = np.empty((ni, na))
        iyg = np.empty((nj, nb_))
        tr = np.empty((ni, nb_ * nb_))
        ti = np.empty((ni, nb_ * nb_))
        accr = np.empty(nb_ * nb_)
        acci = np.empty(nb_ * nb_)
        zr = np.empty((n_modes, n_modes))
        zi = np.empty((n_modes, n_modes))
        br = np.empty((n_modes, 1 + n_mass))
        bi = np.empty((n_modes, 1 + n_mass))
        w = np.empty((na, nb_), dtype=np.complex128)
        y = np.empty((n_mass, na, nb_), dtype=np.complex128)
        cap_r = np.empty((max(n_mass, 1), max(n_mass, 1)))
        cap_i = np.empty((max(n_mass, 1), max(n_mass, 1)))
        u_r = np.empty((max(n_mass, 1), 1))
        u_i = np.empty((max(n_mass, 1), 1))
        root_m = np.empty(max(n_mass, 1))
        piv = np.empty(max(n_modes, n_mass), dtype=np.int64)
        tmp = np.empty((ni, nb_), dtype=np.complex128)
        for pair in range(t, n_pairs, n_sets):
            d = pair // n_f
            f = pair - d * n_f
            w2 = (2.0 * np.pi * freqs[f]) ** 2
            k2 = w2 / c2[d]
            k2_abs = abs(k2)
            scale = -rho0[d] * w2 / area[d]
            for i in range(ni):
                for j in range(nj):
                    cot_term, msq[i, j] = _depth(k2 - kx2[d, i] - ky2[d, j], k2_abs, lz[d])
                    g = scale * cot_term / (eps_x[i] * eps_y[j])
                    gr[i, j] = g.real
                    gi[i, j] = g.imag
            ok = True
            for gx in range(groups_a.shape[0]):
                n_a, n_i = groups_a[gx, 0], groups_i[gx, 0]
                for gy in range(groups_b.shape[0]):
                    n_b, n_j = groups_b[gy, 0], groups_j[gy, 0]
                    n = n_a * n_b
                    if n == 0:
                        continue
                    nbb = n_b * n_b
                    for ii in range(n_i):
                        for ia in range(n_a):
                            ixg[ii, ia] = ix[d, groups_i[gx, 1 + ii], groups_a[gx, 1 + ia]]
                    for jj in range(n_j):
                        for ib in range(n_b):
                            iyg[jj, ib] = iy[d, groups_j[gy, 1 + jj], groups_b[gy, 1 + ib]]
                    # T[i, (b, b')] = Σ_j g_ij·Iy[j, b]·Iy[j, b']
                    for ii in range(n_i):
                        i = groups_i[gx, 1 + ii]
                        for q in range(nbb):
                            tr[ii, q] = 0.0
                            ti[ii, q] = 0.0
                        for jj in range(n_j):
                            j = groups_j[gy, 1 + jj]
                            for ib in range(n_b):
                                cr = gr[i, j] * iyg[jj, ib]
                                ci = gi[i, j] * iyg[jj, ib]
                                for ib2 in range(n_b):
                                    tr[ii, ib * n_b + ib2] += cr * iyg[jj, ib2]
                                    ti[ii, ib * n_b + ib2] += ci * iyg[jj, ib2]
                    # upper triangle of Z[ab, a'b'] = −Σ_i Ix[i, a]·Ix[i, a']·T[i, b, b'] + plate diagonal
                    for ia in range(n_a):
                        for ia2 in range(ia, n_a):
                            for q in range(nbb):
                                accr[q] = 0.0
                                acci[q] = 0.0
                            for ii in range(n_i):
                                pxx = ixg[ii, ia] * ixg[ii, ia2]
                                for q in range(nbb):
                                    accr[q] += pxx * tr[ii, q]
                                    acci[q] += pxx * ti[ii, q]
                            for ib in range(n_b):
                                r = ia * n_b + ib
                                for ib2 in range(n_b):
                                    zr[r, ia2 * n_b + ib2] = -accr[ib * n_b + ib2]
                                    zi[r, ia2 * n_b + ib2] = -acci[ib * n_b + ib2]
                        a = groups_a[gx, 1 + ia]
                        for ib in range(n_b):
                            b = groups_b[gy, 1 + ib]
                            r = ia * n_b + ib
                            diag = modal_mass[d] * (plate_w2[d, a, b] - w2)
                            zr[r, r] += diag.real
                            zi[r, r] += diag.imag
                            br[r, 0] = force[d, a, b].real
                            bi[r, 0] = force[d, a, b].imag
                            for p in range(n_mass):
                                br[r, 1 + p] = phi[d, p, a, b]
                                bi[r, 1 + p] = 0.0
                    if not _sym_solve_inplace(zr, zi, n, br, bi, 1 + n_mass, piv):
                        ok = False
                    for ia in range(n_a):
                        a = groups_a[gx, 1 + ia]
                        for ib in range(n_b):
                            b = groups_b[gy, 1 + ib]
                            r = ia * n_b + ib
                            w[a, b] = complex(br[r, 0], bi[r, 0])
                            for p in range(n_mass):
                                y[p, a, b] = complex(br[r, 1 + p], bi[r, 1 + p])
            if n_mass > 0 and ok:
                # Woodbury on Z = Z0 − Φᵀ·diag(ω²M)·Φ in symmetric form, R = diag(√(ω²M)), Y = Z0⁻¹Φᵀ:
                # W = W0 + Y·R·(I − R·Φ·Y·R)⁻¹·R·Φ·W0
                for p in range(n_mass):
                    root_m[p] = (w2 * mass[d, p]) ** 0.5
                for p in range(n_mass):
                    acc = 0j
                    for a in range(na):
                        for b in range(nb_):
                            acc += phi[d, p, a, b] * w[a, b]
                    u_r[p, 0] = root_m[p] * acc.real
                    u_i[p, 0] = root_m[p] * acc.imag
                    for q in range(p, n_mass):
                        acc = 0j
                        for a in range(na):
                            for b in range(nb_):
                                acc += phi[d, p, a, b] * y[q, a, b]
                        rr = root_m[p] * root_m[q]
                        cap_r[p, q] = (1.0 if p == q else 0.0) - rr * acc.real
                        cap_i[p, q] = -rr * acc.imag
                if not _sym_solve_inplace(cap_r, cap_i, n_mass, u_r, u_i, 1, piv):
                    ok = False
                for q in range(n_mass):
                    uq = root_m[q] * complex(u_r[q, 0], u_i[q, 0])
                    for a in range(na):
                        for b in range(nb_):
                            w[a, b] += uq * y[q, a, b]
            status_out[d, f] = STATUS_OK if ok else STATUS_SINGULAR
            total = 0.0
            for i in range(ni):
                for b in range(nb_):
                    acc = 0j
                    for a in range(na):
                        acc += ix[d, i, a] * w[a, b]
                    tmp[i, b] = acc
                for j in range(nj):
                    acc = 0j
                    for b in range(nb_):
                        acc += tmp[i, b] * iy[d, j, b]
                    total += (acc.real * acc.real + acc.imag * acc.imag) * msq[i, j] / (eps_x[i] * eps_y[j])
            ms_out[d, f] = total * scale * scale
            if store_w:
                for a in range(na):
                    for b in range(nb_):
                        w_out[d, f, a * nb_ + b] = w[a, b]
