"""Closed-form companion models (note §2.6): panel transmission loss (Model B) and the Helmholtz resonator (Model C).

Time dependence e^{iωt}; SI units.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import quad

from ._geometry import Air, Plate, _non_negative, _positive
from ._model import check_freqs

DIFFUSE_LIMIT_DEG = 78.0
"""Default upper incidence angle of the diffuse-field average, degrees (field incidence)."""


def coincidence_frequency(plate: Plate, air: Air | None = None) -> float:
    """f_c = (c²/2π)·√(m″/D), Hz, with the lossless speed c of ``air`` (default 343 m/s)."""
    speed = (air or Air()).speed
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
            for a limp mass (Z = iωm″).
        freqs: (n_freq,) Hz, > 0.
        incidence: ``"normal"`` (θ = 0, where bending drops out) or ``"diffuse"``: τ(θ) averaged
            with weight sin 2θ over 0…``max_angle`` degrees and normalised, integrated in s = sin²θ
            by adaptive quadrature with the coincidence point as a breakpoint.
        air: fluid on both sides (ρc from its lossless density and speed); default :class:`Air`.
        max_angle: upper angle of the diffuse average, degrees, in (0, 90).

    τ(θ) = |1 + Z·cosθ/(2ρc)|⁻²; for a limp panel at normal incidence TL = 10·log10[1 + (ωm″/2ρc)²].
    """
    air = air or Air()
    freqs = check_freqs(freqs)
    if isinstance(panel, Plate):
        surface_density, f_c, loss = panel.surface_density, coincidence_frequency(panel, air), panel.loss_factor
    else:
        surface_density, f_c, loss = _positive("panel", "surface_density", panel, "kg/m^2"), math.inf, 0.0
    if incidence not in ("normal", "diffuse"):
        raise ValueError(f"incidence must be 'normal' or 'diffuse'; got incidence={incidence!r}")
    if not (isinstance(max_angle, (int, float)) and 0.0 < max_angle < 90.0):
        raise ValueError(f"max_angle must be in (0, 90) degrees; got max_angle={max_angle!r}")
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
    """Mass–air–mass resonance f_0 = (1/2π)·√(ρc²(m1+m2)/(d·m1·m2)), Hz; masses in kg/m², gap d in m."""
    air = air or Air()
    m1 = _positive("double wall", "mass_1", mass_1, "kg/m^2")
    m2 = _positive("double wall", "mass_2", mass_2, "kg/m^2")
    d = _positive("double wall", "gap", gap, "m")
    return math.sqrt(air.density * air.speed**2 * (m1 + m2) / (d * m1 * m2)) / (2.0 * np.pi)


def _neck(volume: float, neck_length: float, neck_radius: float, end_correction: float) -> tuple[float, float, float]:
    v = _positive("Helmholtz resonator", "volume", volume, "m^3")
    length = _positive("Helmholtz resonator", "neck_length", neck_length, "m")
    radius = _positive("Helmholtz resonator", "neck_radius", neck_radius, "m")
    correction = _non_negative("Helmholtz resonator", "end_correction", end_correction, "neck radii")
    return v, np.pi * radius**2, length + correction * radius


def helmholtz_resonator_frequency(
    volume: float, neck_length: float, neck_radius: float, air: Air | None = None, end_correction: float = 1.2
) -> float:
    """f_H = (c/2π)·√(S/(V·L_eff)), Hz; S = πr², L_eff = L + end_correction·r (1.2 unflanged … 1.7 flanged).

    Args: volume V in m³, neck_length L in m, neck_radius r in m; air gives the lossless c.
    """
    v, area, effective = _neck(volume, neck_length, neck_radius, end_correction)
    return (air or Air()).speed / (2.0 * np.pi) * math.sqrt(area / (v * effective))


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
    Pa·s/m³). ``duct_area`` S_d in m²; ``resistance`` R ≥ 0 in Pa·s/m³.

    Raises:
        ValueError: bad inputs, or R = 0 with a frequency exactly at f_H (infinite TL): give R > 0.
    """
    air = air or Air()
    freqs = check_freqs(freqs)
    v, area, effective = _neck(volume, neck_length, neck_radius, end_correction)
    s_d = _positive("side branch", "duct_area", duct_area, "m^2")
    r = _non_negative("side branch", "resistance", resistance, "Pa s/m^3")
    omega = 2.0 * np.pi * freqs
    z_b = r + 1j * (omega * air.density * effective / area - air.density * air.speed**2 / (omega * v))
    if np.any(z_b == 0):
        raise ValueError(
            "side-branch impedance is exactly zero (lossless resonator exactly at f_H): the TL is infinite; "
            f"give resistance > 0; got resistance={resistance!r}"
        )
    return 20.0 * np.log10(np.abs(1.0 + air.impedance / (2.0 * s_d * z_b)))
