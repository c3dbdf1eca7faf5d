"""Metals and validated geometry of a nanogap-loop array (SI units)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

C0 = 299_792_458.0
"""Speed of light in vacuum, m/s."""


@dataclass(frozen=True)
class Drude:
    """Drude metal, ε_m(ω) = 1 − ω_p²/(ω² + iγω) with time dependence e^{−iωt}.

    Args:
        plasma_frequency: ω_p, rad/s; positive and finite.
        damping: γ, 1/s; positive and finite. For a film of measured DC conductivity σ,
            γ = ε0·ω_p²/σ.
    """

    plasma_frequency: float
    damping: float

    def __post_init__(self) -> None:
        for name in ("plasma_frequency", "damping"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value > 0):
                raise ValueError(f"Drude {name} must be positive and finite (rad/s or 1/s); got {name}={value!r}")
        object.__setattr__(self, "plasma_frequency", float(self.plasma_frequency))
        object.__setattr__(self, "damping", float(self.damping))

    def permittivity(self, freqs: ArrayLike) -> np.ndarray:
        """Relative permittivity at ``freqs`` ((n,) float64, Hz) → (n,) complex128."""
        omega = 2.0 * np.pi * np.asarray(freqs, dtype=np.float64)
        return 1.0 - self.plasma_frequency**2 / (omega**2 + 1j * self.damping * omega)


METALS: dict[str, Drude] = {
    "gold": Drude(1.37e16, 4.07e13),
    "silver": Drude(1.369e16, 2.73e13),
    "copper": Drude(1.123e16, 1.38e13),
    "aluminium": Drude(2.242e16, 1.24e14),
}
"""Drude parameters of bulk metals (Ordal et al., Appl. Opt. 22, 1099 (1983)); rad/s and 1/s."""

_ALIASES = {"au": "gold", "ag": "silver", "cu": "copper", "al": "aluminium", "aluminum": "aluminium"}

Metal = str | Drude


def resolve_metal(metal: Metal) -> Drude | None:
    """Drude parameters of ``metal``, or None for the perfect conductor ``"pec"``."""
    if isinstance(metal, Drude):
        return metal
    if isinstance(metal, str):
        key = _ALIASES.get(metal.lower(), metal.lower())
        if key == "pec":
            return None
        if key in METALS:
            return METALS[key]
    known = ", ".join([*METALS, "pec"])
    raise ValueError(f"metal must be one of {known} or a thz.Drude(plasma_frequency, damping); got metal={metal!r}")


def _check_permittivity(name: str, value: complex) -> complex:
    try:
        eps = complex(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number (relative permittivity); got {name}={value!r}") from None
    if not (math.isfinite(eps.real) and math.isfinite(eps.imag)) or eps.real <= 0 or eps.imag < 0:
        raise ValueError(
            f"{name} must be finite with real part > 0 and imaginary part >= 0 (a passive dielectric, "
            f"e^(-iwt) convention); got {name}={value!r}"
        )
    return eps


MATERIAL_FIELDS = ("eps_gap", "eps_substrate", "eps_superstrate", "metal")
"""The material fields shared by :class:`LoopArray`, ``LoopArrayBatch`` and the env configs."""


@dataclass(frozen=True)
class Materials:
    """The materials of a loop array: gap filler, the two half-spaces and the metal.

    One value object for the four material fields that a loop array, a batch of them and an env
    config all carry, with their defaults (gold film, ε_g = 9 gap, quartz-like ε = 3.8 substrate,
    air above).

    Args:
        eps_gap: relative permittivity of the gap filler (complex allowed, Im ≥ 0).
        eps_substrate: relative permittivity of the exit half-space (complex allowed, Im ≥ 0).
        eps_superstrate: relative permittivity of the incidence half-space.
        metal: ``"gold"``, ``"silver"``, ``"copper"``, ``"aluminium"``, ``"pec"`` or a :class:`Drude`.

    Raises:
        ValueError: a permittivity is not passive, or the metal is unknown.
    """

    eps_gap: complex = 9.0
    eps_substrate: complex = 3.8
    eps_superstrate: complex = 1.0
    metal: Metal = "gold"

    def __post_init__(self) -> None:
        for name in MATERIAL_FIELDS[:3]:
            object.__setattr__(self, name, _check_permittivity(name, getattr(self, name)))
        resolve_metal(self.metal)

    @classmethod
    def of(cls, holder: object) -> Materials:
        """The materials of anything carrying the four fields (a loop array, a batch, an env config)."""
        return cls(**{name: getattr(holder, name) for name in MATERIAL_FIELDS})

    def as_dict(self) -> dict[str, complex | Metal]:
        """The four fields as keyword arguments of ``LoopArray`` / ``LoopArrayBatch``."""
        return {name: getattr(self, name) for name in MATERIAL_FIELDS}


@dataclass(frozen=True)
class LoopArray:
    """Periodic array of rectangular nanogap loops in a metal film (normal incidence, E ∥ x).

    Every length is in metres. Side lengths are measured on the gap centre-line; the loop is
    centred in its rectangular unit cell.

    Args:
        gap: gap width w, m; 0 < gap < min(side_x, side_y).
        thickness: metal film thickness h, m; > 0.
        side_x: loop side along x (the incident field), m; side_x < period_x.
        side_y: loop side along y, m; side_y < period_y.
        period_x: lattice period Λ_x, m.
        period_y: lattice period Λ_y, m.
        eps_gap: relative permittivity of the gap filler (complex allowed, Im ≥ 0).
        eps_substrate: relative permittivity of the exit half-space (complex allowed, Im ≥ 0).
        eps_superstrate: relative permittivity of the incidence half-space.
        metal: ``"gold"`` (default), ``"silver"``, ``"copper"``, ``"aluminium"``, ``"pec"`` or a
            :class:`Drude` instance.

    Raises:
        ValueError: a size is not positive and finite, gap ≥ a side, a side ≥ its period, a
            permittivity is not passive, or the metal is unknown.
    """

    gap: float
    thickness: float
    side_x: float
    side_y: float
    period_x: float
    period_y: float
    eps_gap: complex = Materials.eps_gap
    eps_substrate: complex = Materials.eps_substrate
    eps_superstrate: complex = Materials.eps_superstrate
    metal: Metal = Materials.metal
    drude: Drude | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("gap", "thickness", "side_x", "side_y", "period_x", "period_y"):
            value = getattr(self, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a length in metres; got {name}={value!r}") from None
            if not (math.isfinite(number) and number > 0):
                raise ValueError(f"{name} must be positive and finite (metres); got {name}={value!r} m")
            object.__setattr__(self, name, number)
        for side in ("side_x", "side_y"):
            if self.gap >= getattr(self, side):
                raise ValueError(
                    f"gap must be smaller than side_x and side_y; got gap={self.gap:g} m, "
                    f"side_x={self.side_x:g} m, side_y={self.side_y:g} m"
                )
        for side, period in (("side_x", "period_x"), ("side_y", "period_y")):
            if getattr(self, side) >= getattr(self, period):
                raise ValueError(
                    f"{side} must be smaller than {period}; got {side}={getattr(self, side):g} m, "
                    f"{period}={getattr(self, period):g} m"
                )
        for name, value in Materials.of(self).as_dict().items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "drude", resolve_metal(self.metal))

    @property
    def materials(self) -> Materials:
        """The four material fields as one :class:`Materials` value."""
        return Materials.of(self)

    @property
    def perimeter(self) -> float:
        """Mean loop perimeter P = 2(l_x + l_y), m."""
        return 2.0 * (self.side_x + self.side_y)

    @property
    def coverage(self) -> float:
        """Gap area fraction β = wP/A (dimensionless)."""
        return self.gap * self.perimeter / (self.period_x * self.period_y)

    @property
    def diffraction_frequency(self) -> float:
        """First Rayleigh anomaly c/(n_max·Λ_max), Hz: above it a non-zero order propagates."""
        n_max = max(np.sqrt(self.eps_substrate).real, np.sqrt(self.eps_superstrate).real)
        return C0 / (n_max * max(self.period_x, self.period_y))
