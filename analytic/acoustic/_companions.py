"""Closed-form companion models (docs/models/acoustic.md §2.6): panel transmission loss (Model B) and the Helmholtz resonator (Model C).

Time dependence e^{iωt}; SI units.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import quad

from ._geometry import Air, Plate, _bounded, check_air
from ._model import check_freqs

DIFFUSE_LIMIT_DEG = 78.0
"""Default upper incidence angle of the diffuse-field average, degrees (field incidence)."""


def coincidence_frequency(plate: Plate, air: Air | None = None) -> float:
    """f_c = (c²/2π)·√(m″/D), Hz, with the lossless speed c of ``air`` (default 343 m/s)."""
    if not isinstance(plate, Plate):
        raise ValueError(f"plate must be an acoustic.Plate; got plate={plate!r}")
    speed = check_air(air).speed
    return speed**2 / (2.0 * np.pi) * math.sqrt(plate.surface_density / plate.bending_stiffness)


def _transmission(s: np.ndarray, mass_term: float | np.ndarray, ratio2: complex) -> np.ndarray:
    """τ at s = sin²θ: |1 + iωm″/(2ρc)·[1 − (1+iη)(f/f_c)²s²]·cosθ|⁻² (Cremer; ratio2 = (1+iη)(f/f_c)²)."""
    impedance = 1j * mass_term * (1.0 - ratio2 * s**2) * np.sqrt(1.0 - s)
    return 1.0 / np.abs(1.0 + impedance) ** 2


def panel_transmission_loss(
    panel: Plate | float,
    freqs: ArrayLike,
    incidence: Literal["normal", "diffuse"] = "normal",
    air: Air | None = None,
    max_angle: float = DIFFUSE_LIMIT_DEG,
) -> np.ndarray:
    """Transmission loss TL = −10·log10 τ of an infinite panel between two half-spaces of ``air``, dB, (n_freq,).

    Args:
        panel: a :class:`Plate` (Cremer's oblique impedance with bending stiffness D and loss η_s:
            Z(θ) = iωm″[1 − (1+iη_s)·D k⁴ sin⁴θ/(m″ω²)], k = ω/c), or a surface density m″ in kg/m²
            (in [1e-3, 1e4]) for a limp mass (Z = iωm″).
        freqs: (n_freq,) Hz, in [0.1, 2e4].
        incidence: ``"normal"`` (θ = 0, where bending drops out) or ``"diffuse"``: τ(θ) averaged
            with weight sin 2θ over 0…``max_angle`` degrees and normalised, integrated in s = sin²θ
            by adaptive quadrature with the coincidence point as a breakpoint.
        air: fluid on both sides (ρc from its lossless density and speed); default :class:`Air`.
        max_angle: upper angle of the diffuse average, degrees, in [1, 89].

    τ(θ) = |1 + Z·cosθ/(2ρc)|⁻²; for a limp panel at normal incidence TL = 10·log10[1 + (ωm″/2ρc)²].
    """
    air = check_air(air)
    freqs = check_freqs(freqs)
    if isinstance(panel, Plate):
        surface_density, f_c, loss = panel.surface_density, coincidence_frequency(panel, air), panel.loss_factor
    else:
        surface_density = _bounded("panel", "surface_density", panel, "kg/m^2", "surface_density")
        f_c, loss = math.inf, 0.0
    if incidence not in ("normal", "diffuse"):
        raise ValueError(f"incidence must be 'normal' or 'diffuse'; got incidence={incidence!r}")
    if isinstance(max_angle, bool) or not (isinstance(max_angle, (int, float)) and 1.0 <= max_angle <= 89.0):
        raise ValueError(f"max_angle must lie in [1, 89] degrees; got max_angle={max_angle!r}")
    mass_terms = 2.0 * np.pi * freqs * surface_density / (2.0 * air.impedance)
    if incidence == "normal":
        return -10.0 * np.log10(_transmission(np.zeros(len(freqs)), mass_terms, 0.0))
    s_max = math.sin(math.radians(max_angle)) ** 2
    tau = np.empty(len(freqs))
    for n, (freq, mass_term) in enumerate(zip(freqs, mass_terms)):
        ratio2 = (1.0 + 1j * loss) * (freq / f_c) ** 2
        s_c = f_c / freq  # coincidence: (f/f_c)²·s² = 1
        points = [s_c] if s_c < s_max else None
        value, _ = quad(lambda s, m=mass_term, r=ratio2: _transmission(s, m, r), 0.0, s_max, points=points, limit=200)
        tau[n] = value / s_max
    return -10.0 * np.log10(tau)


def double_wall_resonance(mass_1: float, mass_2: float, gap: float, air: Air | None = None) -> float:
    """Mass–air–mass resonance f_0 = (1/2π)·√(ρc²(m1+m2)/(d·m1·m2)), Hz; masses in kg/m² (each in [1e-3, 1e4]),
    gap d in m (in [1e-4, 10])."""
    air = check_air(air)
    m1 = _bounded("double wall", "mass_1", mass_1, "kg/m^2", "surface_density")
    m2 = _bounded("double wall", "mass_2", mass_2, "kg/m^2", "surface_density")
    d = _bounded("double wall", "gap", gap, "m", "wall_gap")
    return math.sqrt(air.density * air.speed**2 * (m1 + m2) / (d * m1 * m2)) / (2.0 * np.pi)


def _neck(volume: float, neck_length: float, neck_radius: float, end_correction: float) -> tuple[float, float, float]:
    v = _bounded("Helmholtz resonator", "volume", volume, "m^3", "resonator_volume")
    length = _bounded("Helmholtz resonator", "neck_length", neck_length, "m", "neck")
    radius = _bounded("Helmholtz resonator", "neck_radius", neck_radius, "m", "neck")
    correction = _bounded("Helmholtz resonator", "end_correction", end_correction, "neck radii", "end_correction")
    return v, np.pi * radius**2, length + correction * radius


def helmholtz_resonator_frequency(
    volume: float, neck_length: float, neck_radius: float, air: Air | None = None, end_correction: float = 1.2
) -> float:
    """f_H = (c/2π)·√(S/(V·L_eff)), Hz; S = πr², L_eff = L + end_correction·r (1.2 unflanged … 1.7 flanged).

    Args: volume V in m³ (in [1e-9, 1e3]), neck_length L and neck_radius r in m (each in [1e-5, 10]),
    end_correction in [0, 2]; air gives the lossless c.
    """
    v, area, effective = _neck(volume, neck_length, neck_radius, end_correction)
    return check_air(air).speed / (2.0 * np.pi) * math.sqrt(area / (v * effective))


def side_branch_transmission_loss(
    freqs: ArrayLike,
    volume: float,
    neck_length: float,
    neck_radius: float,
    duct_area: float,
    air: Air | None = None,
    end_correction: float = 1.2,
    resistance: float = 0.0,
) -> np.ndarray:
    """TL of a Helmholtz resonator as a side branch of a duct, dB, (n_freq,).

    TL = 20·log10|1 + ρc/(2·S_d·Z_b)| with Z_b = R + i(ωρL_eff/S − ρc²/(ωV)) (acoustic impedance,
    Pa·s/m³). Resonator arguments as in :func:`helmholtz_resonator_frequency`; ``duct_area`` S_d
    in m² (in [1e-6, 100]); ``resistance`` R in Pa·s/m³ (in [0, 1e12]); freqs (n_freq,) Hz in [0.1, 2e4].

    Raises:
        ValueError: bad inputs, or R = 0 with a frequency exactly at f_H (infinite TL): give R > 0.
    """
    air = check_air(air)
    freqs = check_freqs(freqs)
    v, area, effective = _neck(volume, neck_length, neck_radius, end_correction)
    s_d = _bounded("side branch", "duct_area", duct_area, "m^2", "duct_area")
    r = _bounded("side branch", "resistance", resistance, "Pa s/m^3", "resistance")
    omega = 2.0 * np.pi * freqs
    z_b = r + 1j * (omega * air.density * effective / area - air.density * air.speed**2 / (omega * v))
    if np.any(z_b == 0):
        raise ValueError(
            "side-branch impedance is exactly zero (lossless resonator exactly at f_H): the TL is infinite; "
            f"give resistance > 0; got resistance={resistance!r}"
        )
    return 20.0 * np.log10(np.abs(1.0 + air.impedance / (2.0 * s_d * z_b)))
