"""Non-dimensional variables of the plate–cavity problem, so that every residual is O(1).

With the reference length L0, the incident pressure p_inc and ω:

* coordinates x̂ = x/L0, ẑ = z/L0;
* pressure p̂ = p/p_inc;
* plate displacement ŵ = w·ρ0ω²L0/p_inc, so that the interface condition ∂p/∂n = ρ0ω²w reads ∂p̂/∂n̂ = ŵ;
* Helmholtz: ∇̂²p̂ + k̂²p̂ = 0 with k̂² = (ωL0/c)²/(1 + iη);
* plate (per unit width, outward w, blocked load −2p_inc): D(1+iη)w'''' − m″ω²w = −2p_inc + p becomes
  α ŵ'''' − β ŵ = −2 + p̂ with α = D(1+iη)/(ρ0ω²L0⁵) and β = m″/(ρ0L0), solved by the plate head.

Explicit parameters enter the network normalised to [−1, 1] over the training ranges (log scale for
frequency, E and ρ), together with the dimensionless groups that set the response
(:func:`cavity_features`).
"""

from __future__ import annotations

import math

import numpy as np

from analytic.acoustic import MATERIALS

from ._problem import AIR, LOAD_PRESSURE, LOG_SCALED, MATERIAL_CLASSES, RANGES

REFERENCE_LENGTH = 0.5
"""L0, m."""


def normalise_params(names: tuple[str, ...], params: np.ndarray) -> np.ndarray:
    """(n, n_params) SI values → (n, n_params) in [−1, 1] inside the training ranges (linear or log)."""
    out = np.empty_like(params, dtype=np.float64)
    for k, name in enumerate(names):
        low, high = RANGES[name]
        value = params[:, k]
        if name in LOG_SCALED:
            low, high, value = math.log(low), math.log(high), np.log(value)
        out[:, k] = 2.0 * (value - low) / (high - low) - 1.0
    return out


def coefficients(names: tuple[str, ...], params: np.ndarray, material: np.ndarray) -> dict[str, np.ndarray]:
    """Per-cloud non-dimensional coefficients, each (n,): ``k2`` (complex k̂²), ``alpha`` (complex), ``beta``,
    ``w_scale`` (ŵ per metre of w) and ``p_scale`` (p̂ per pascal)."""
    column = {name: params[:, k] for k, name in enumerate(names)}
    omega = 2.0 * np.pi * column["frequency"]
    loss = column["loss"]
    poisson = np.array([MATERIALS[MATERIAL_CLASSES[int(m)]].poisson for m in material])
    bending = column["youngs_modulus"] * column["thickness"] ** 3 / (12.0 * (1.0 - poisson**2))
    rho0, c, length = AIR.density, AIR.speed, REFERENCE_LENGTH
    return {
        "k2": (omega * length / c) ** 2 / (1.0 + 1j * loss),
        "alpha": bending * (1.0 + 1j * loss) / (rho0 * omega**2 * length**5),
        "beta": column["density"] * column["thickness"] / (rho0 * length),
        "w_scale": rho0 * omega**2 * length / LOAD_PRESSURE,
        "p_scale": np.full(omega.shape, 1.0 / LOAD_PRESSURE),
    }


CAVITY_PARAMETERS = ("frequency", "lx", "lz", "loss", "tilt")
"""Explicit parameters the cavity field depends on (the tilt only in the trapezoid family)."""


def cavity_features(names: tuple[str, ...], params: np.ndarray) -> np.ndarray:
    """Per-cloud explicit quantities of the cavity network, (n, Q) float64: the normalised cavity parameters
    (:data:`CAVITY_PARAMETERS` present in ``names``) and four groups of k = ω/c: k·lx/π, k·lz/π, (k·lx/π)²
    and η·(k·lx/π)² (the real and imaginary parts of k̂²·(lx/π)², up to O(η²))."""
    column = {name: params[:, k] for k, name in enumerate(names)}
    used = tuple(name for name in CAVITY_PARAMETERS if name in names)
    k = 2.0 * np.pi * column["frequency"] / AIR.speed
    kx = k * column["lx"] / np.pi
    groups = np.stack([kx, k * column["lz"] / np.pi, kx**2, column["loss"] * kx**2], axis=1)
    normalised = normalise_params(used, np.stack([column[name] for name in used], axis=1))
    return np.concatenate([normalised, groups], axis=1)


def geometry(names: tuple[str, ...], params: np.ndarray) -> np.ndarray:
    """(n, 3) float64: (l̂x, l̂z, tilt), the cavity size over L0 and the back-wall tilt (0 without one)."""
    column = {name: params[:, k] for k, name in enumerate(names)}
    tilt = column.get("tilt", np.zeros(params.shape[0]))
    return np.stack([column["lx"] / REFERENCE_LENGTH, column["lz"] / REFERENCE_LENGTH, tilt], axis=1)
