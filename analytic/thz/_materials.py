"""Metals and validated geometry of a nanogap-loop array (SI units)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

C0 = 299_792_458.0
"""Speed of light in vacuum, m/s."""


DRUDE_BOUNDS = {"plasma_frequency": (1e14, 1e17), "damping": (1e10, 1e16)}
"""Accepted Drude parameters, rad/s and 1/s: wide around every real metal (ω_p 1e15–3e16, γ 1e13–2e14)."""

LENGTH_BOUNDS = {
    "gap": (1e-10, 1e-4),
    "thickness": (1e-9, 1e-3),
    "side_x": (1e-7, 1e-2),
    "side_y": (1e-7, 1e-2),
    "period_x": (1e-7, 2e-2),
    "period_y": (1e-7, 2e-2),
}
"""Accepted lengths, m. Gaps from one atomic layer (tunnelling below ~1 nm is not modelled) to
100 µm; films from 1 nm to 1 mm; loops from 100 nm to 1 cm, in cells up to 2 cm."""

MAX_PERIOD_RATIO = 1000.0
"""Largest accepted max(Λ_x, Λ_y)/min(Λ_x, Λ_y) (beyond it the cell is a grating, not a loop array).
The lattice sum spans K = k_periods·2π/min(Λ), so its rows, scratch and work grow with
k_periods·ratio, which :func:`analytic.thz.spectra` bounds further."""

MAX_PERMITTIVITY = 1e4
"""Largest accepted |ε| of a dielectric (water ≈ 80 static, SrTiO₃ a few hundred at THz)."""

MIN_PERMITTIVITY = 0.01
"""Smallest accepted Re ε of a dielectric (n ≥ 0.1); the model needs Re ε > 0 (no plasmonic half-spaces)."""


@dataclass(frozen=True)
class Drude:
    """Drude metal, ε_m(ω) = 1 − ω_p²/(ω² + iγω) with time dependence e^{−iωt}.

    Args:
        plasma_frequency: ω_p, rad/s; in [1e14, 1e17] (real metals: 1e15–3e16).
        damping: γ, 1/s; in [1e10, 1e16] (real metals: 1e13–2e14). For a film of measured DC
            conductivity σ, γ = ε0·ω_p²/σ.

    Raises:
        ValueError: a parameter outside its range (the message names it, the bound and the value).
    """

    plasma_frequency: float
    damping: float

    def __post_init__(self) -> None:
        for name, unit in (("plasma_frequency", "rad/s"), ("damping", "1/s")):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating)) or isinstance(value, bool):
                raise ValueError(f"Drude {name} must be a real number ({unit}); got {name}={value!r}")
            low, high = DRUDE_BOUNDS[name]
            if not low <= value <= high:  # also rejects NaN
                raise ValueError(f"Drude {name} must lie in [{low:g}, {high:g}] {unit}; got {name}={value!r}")
            object.__setattr__(self, name, float(value))

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
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        eps = complex(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number (relative permittivity); got {name}={value!r}") from None
    if not (math.isfinite(eps.real) and math.isfinite(eps.imag)) or eps.real < MIN_PERMITTIVITY or eps.imag < 0:
        raise ValueError(
            f"{name} must be finite with real part >= {MIN_PERMITTIVITY:g} and imaginary part >= 0 (a passive "
            f"dielectric, e^(-iwt) convention); got {name}={value!r}"
        )
    if abs(eps) > MAX_PERMITTIVITY:
        raise ValueError(f"{name} must have |{name}| <= {MAX_PERMITTIVITY:g}; got {name}={value!r}")
    return eps


def check_geometry(values: dict[str, np.ndarray], indexed: bool) -> None:
    """Raise ValueError unless every geometry array (same shape, m) lies in LENGTH_BOUNDS and is consistent.

    Consistency: gap < side (the inner metal patch exists), period > side + gap (the gaps of
    neighbouring loops do not touch), max(Λ)/min(Λ) ≤ MAX_PERIOD_RATIO. The message names the
    first offending entry (``name[i]`` when ``indexed``), the bound and the value.
    """

    def fail(bad: np.ndarray, rule: str, names: tuple[str, ...]) -> None:
        if bad.any():
            i = int(np.argmax(bad))
            got = ", ".join(
                f"{n}[{i}]={float(values[n][i])!r}" if indexed else f"{n}={float(values[n][i])!r}" for n in names
            )
            raise ValueError(f"{rule}; got {got} m")

    for name, (low, high) in LENGTH_BOUNDS.items():
        value = values[name]
        fail(~((value >= low) & (value <= high)), f"{name} must lie in [{low:g}, {high:g}] m", (name,))
    for side, period in (("side_x", "period_x"), ("side_y", "period_y")):
        fail(values["gap"] >= values[side], f"gap must be smaller than {side}", ("gap", side))
        fail(
            values[period] - values[side] <= values["gap"],
            f"{period} must exceed {side} + gap (gaps of neighbouring loops must not overlap)",
            (period, side, "gap"),
        )
    px, py = values["period_x"], values["period_y"]
    fail(
        np.maximum(px, py) > MAX_PERIOD_RATIO * np.minimum(px, py),
        f"period_x/period_y must lie in [1/{MAX_PERIOD_RATIO:g}, {MAX_PERIOD_RATIO:g}]",
        ("period_x", "period_y"),
    )


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
        gap: gap width w, m; in [1e-10, 1e-4] and gap < min(side_x, side_y).
        thickness: metal film thickness h, m; in [1e-9, 1e-3].
        side_x: loop side along x (the incident field), m; in [1e-7, 1e-2].
        side_y: loop side along y, m; in [1e-7, 1e-2].
        period_x: lattice period Λ_x, m; in [1e-7, 2e-2] and period_x > side_x + gap.
        period_y: lattice period Λ_y, m; in [1e-7, 2e-2] and period_y > side_y + gap;
            max(Λ)/min(Λ) ≤ 1000 (and k_periods·max(Λ)/min(Λ) ≤ 10000 when evaluated).
        eps_gap: relative permittivity of the gap filler (complex allowed, Re ≥ 0.01, Im ≥ 0, |ε| ≤ 1e4).
        eps_substrate: relative permittivity of the exit half-space (same rules).
        eps_superstrate: relative permittivity of the incidence half-space (same rules).
        metal: ``"gold"`` (default), ``"silver"``, ``"copper"``, ``"aluminium"``, ``"pec"`` or a
            :class:`Drude` instance.

    Raises:
        ValueError: a length outside its range, gap ≥ a side, period ≤ side + gap (overlapping
            gaps), a period ratio above 1000, a permittivity that is not passive or too large, or an
            unknown metal.
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
                if isinstance(value, (str, bytes, bool)):
                    raise TypeError
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"{name} must be a length in metres; got {name}={value!r}") from None
            object.__setattr__(self, name, number)
        check_geometry({name: np.array([getattr(self, name)]) for name in LENGTH_BOUNDS}, indexed=False)
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
