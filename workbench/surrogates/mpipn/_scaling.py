"""Non-dimensional variables of the plate–cavity problem, so that every residual is O(1).

With the reference length L0, the incident pressure p_inc and ω:

* coordinates x̂ = x/L0, ẑ = z/L0;
* pressure p̂ = p/p_inc;
* plate displacement ŵ = w·ρ0ω²L0/p_inc, so that the interface condition ∂p/∂n = ρ0ω²w reads ∂p̂/∂n̂ = ŵ;
* Helmholtz: ∇̂²p̂ + k̂²p̂ = 0 with k̂² = (ωL0/c)²/(1 + iη);
* plate (per unit width, outward w, blocked load −2p_inc): D(1+iη)w'''' − m″ω²w = −2p_inc + p becomes
  α ŵ'''' − β ŵ = −2 + p̂ with α = D(1+iη)/(ρ0ω²L0⁵) and β = m″/(ρ0L0); the plate residual is divided
  by β (so its terms are of the size of ŵ).

Explicit parameters enter the network normalised to [−1, 1] over the training ranges (log scale for
frequency, E and ρ), together with the dimensionless groups that set the response
(:func:`cloud_features`).
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


def cloud_features(names: tuple[str, ...], params: np.ndarray, material: np.ndarray) -> np.ndarray:
    """Per-cloud explicit quantities, (n, n_params + 8): the normalised parameters and the groups

    * κ_b = k_b·lx/π = √(ω/ω_1), bending half-wavelengths on the plate (ω_1 its first in-vacuo mode),
      as κ_b/5, sin(πκ_b) and cos(πκ_b) (the plate resonates at integer κ_b);
    * k·lz/π with sin(k·lz) and cos(k·lz) (depth resonances at k·lz = mπ), and k·lx/π;
    * log10 of the mass ratio m″/(ρ0·lz), over 2.
    """
    column = {name: params[:, k] for k, name in enumerate(names)}
    omega = 2.0 * np.pi * column["frequency"]
    poisson = np.array([MATERIALS[MATERIAL_CLASSES[int(m)]].poisson for m in material])
    bending = column["youngs_modulus"] * column["thickness"] ** 3 / (12.0 * (1.0 - poisson**2))
    surface = column["density"] * column["thickness"]
    lx, lz = column["lx"], column["lz"]
    omega_1 = (np.pi / lx) ** 2 * np.sqrt(bending / surface)
    kappa_b = np.sqrt(omega / omega_1)
    k = omega / AIR.speed
    groups = np.stack(
        [
            kappa_b / 5.0,
            np.sin(np.pi * kappa_b),
            np.cos(np.pi * kappa_b),
            k * lz / np.pi,
            np.sin(k * lz),
            np.cos(k * lz),
            k * lx / np.pi,
            np.log10(surface / (AIR.density * lz)) / 2.0,
        ],
        axis=1,
    )
    return np.concatenate([normalise_params(names, params), groups], axis=1)


FEATURE_GROUPS = 8
"""Dimensionless groups appended by :func:`cloud_features`."""
