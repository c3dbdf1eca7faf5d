"""Parametric 2D plate–cavity problems: geometry families, parameter ranges, validated samples.

A problem is the 2D cavity (x–z plane, per unit width) closed on z = lz by a simply supported plate
strip and driven by a blocked plane wave of 1 Pa (uniform line load −2 Pa on the plate). Two
geometry families:

* ``"rectangle"``: the rigid box [0, lx]×[0, lz];
* ``"trapezoid"``: the back wall tilted, running from (0, 0) to (lx, tilt·lz), so the depth falls
  linearly from lz at x = 0 to (1 − tilt)·lz at x = lx; ``tilt = 0`` is the rectangle.

Loss: one factor η for the plate (E → E(1+iη)) and the air (c² → c²(1+iη)). The plate material is a
class (aluminium, steel or polymer, the implicit parameter) whose E and ρ vary by ±15 % around the
nominal values (explicit parameters). Time dependence e^{iωt}, SI units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytic.acoustic import MATERIALS, Air, Plate, PlateCavity

FAMILIES = ("rectangle", "trapezoid")
"""Geometry families."""

MATERIAL_CLASSES = ("aluminium", "steel", "polymer")
"""Implicit parameter: the plate material class (index = the class code)."""

MATERIAL_SPREAD = 0.15
"""E and ρ lie within ±15 % of the nominal values of their material class."""

AIR = Air()
"""Cavity air: ρ0 = 1.21 kg/m³, c = 343 m/s (its loss factor is replaced by the problem's η)."""

LOAD_PRESSURE = 1.0
"""Incident plane-wave amplitude p_inc, Pa; the plate carries the blocked load −2·p_inc."""

RANGES: dict[str, tuple[float, float]] = {
    "frequency": (20.0, 200.0),
    "youngs_modulus": (
        (1 - MATERIAL_SPREAD) * min(MATERIALS[m].youngs_modulus for m in MATERIAL_CLASSES),
        (1 + MATERIAL_SPREAD) * max(MATERIALS[m].youngs_modulus for m in MATERIAL_CLASSES),
    ),
    "density": (
        (1 - MATERIAL_SPREAD) * min(MATERIALS[m].density for m in MATERIAL_CLASSES),
        (1 + MATERIAL_SPREAD) * max(MATERIALS[m].density for m in MATERIAL_CLASSES),
    ),
    "thickness": (2e-3, 4e-3),
    "lx": (0.4, 0.6),
    "lz": (0.3, 0.45),
    "loss": (0.02, 0.05),
    "tilt": (0.0, 0.5),
}
"""Training ranges of the explicit parameters (SI: Hz, Pa, kg/m³, m, m, m, –, –)."""

UNITS = {
    "frequency": "Hz",
    "youngs_modulus": "Pa",
    "density": "kg/m^3",
    "thickness": "m",
    "lx": "m",
    "lz": "m",
    "loss": "dimensionless",
    "tilt": "fraction of lz",
}

LOG_SCALED = frozenset({"youngs_modulus", "density", "frequency"})
"""Parameters normalised on a log scale (they span a factor of 12 to 95)."""


def parameter_names(family: str) -> tuple[str, ...]:
    """Explicit parameters of ``family``, in the order of :meth:`Problem.vector`."""
    names = ("frequency", "youngs_modulus", "density", "thickness", "lx", "lz", "loss")
    return names + ("tilt",) if check_family(family) == "trapezoid" else names


def check_family(family: object) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got family={family!r}")
    return family  # type: ignore[return-value]


def material_bounds(material: str, name: str) -> tuple[float, float]:
    """Bounds of ``youngs_modulus`` (Pa) or ``density`` (kg/m³) inside the class ``material``."""
    nominal = getattr(MATERIALS[material], name)
    return (1 - MATERIAL_SPREAD) * nominal, (1 + MATERIAL_SPREAD) * nominal


@dataclass(frozen=True)
class Problem:
    """One plate–cavity problem.

    Attributes:
        family: ``"rectangle"`` or ``"trapezoid"``.
        material: the material class, one of :data:`MATERIAL_CLASSES` (sets ν).
        frequency: Hz. youngs_modulus: E, Pa. density: ρ_s, kg/m³. thickness: h, m.
        lx, lz: cavity width and (largest) depth, m. loss: η of the plate and the air.
        tilt: back-wall rise at x = lx as a fraction of lz (0 for the rectangle), in [0, 0.9].
    """

    family: str
    material: str
    frequency: float
    youngs_modulus: float
    density: float
    thickness: float
    lx: float
    lz: float
    loss: float
    tilt: float = 0.0

    def __post_init__(self) -> None:
        check_family(self.family)
        if self.material not in MATERIAL_CLASSES:
            raise ValueError(f"material must be one of {', '.join(MATERIAL_CLASSES)}; got material={self.material!r}")
        for name in ("frequency", "youngs_modulus", "density", "thickness", "lx", "lz"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Problem {name} must be a positive finite number ({UNITS[name]}); got {name}={value!r}"
                )
        if not (isinstance(self.loss, (int, float)) and math.isfinite(self.loss) and 0 <= self.loss < 1):
            raise ValueError(f"Problem loss must lie in [0, 1); got loss={self.loss!r}")
        limit = 0.0 if self.family == "rectangle" else 0.9
        if not (isinstance(self.tilt, (int, float)) and math.isfinite(self.tilt) and 0 <= self.tilt <= limit):
            raise ValueError(
                f"Problem tilt must lie in [0, {limit:g}] for family {self.family!r}; got tilt={self.tilt!r}"
            )

    @property
    def omega(self) -> float:
        """Angular frequency, rad/s."""
        return 2.0 * math.pi * self.frequency

    @property
    def plate(self) -> Plate:
        return Plate(self.thickness, self.youngs_modulus, self.density, MATERIALS[self.material].poisson, self.loss)

    @property
    def cavity(self) -> PlateCavity:
        """The bounding rectangular cavity (the problem itself for ``"rectangle"``)."""
        return PlateCavity((self.lx, self.lz), self.plate, Air(AIR.density, AIR.speed, self.loss))

    def vector(self) -> np.ndarray:
        """Explicit parameters as (n_params,) float64 in the order of :func:`parameter_names`."""
        return np.array([getattr(self, name) for name in parameter_names(self.family)], dtype=np.float64)

    @classmethod
    def from_vector(cls, family: str, material: str, vector: np.ndarray) -> Problem:
        names = parameter_names(family)
        return cls(family, material, **{name: float(v) for name, v in zip(names, vector)})

    def out_of_range(self) -> list[tuple[str, float, float, float]]:
        """(name, low, high, value) of every explicit parameter outside the training ranges."""
        out = []
        for name in parameter_names(self.family):
            low, high = RANGES[name]
            if name in ("youngs_modulus", "density"):
                low, high = material_bounds(self.material, name)
            value = getattr(self, name)
            if not low <= value <= high:
                out.append((name, low, high, value))
        return out


def sample_problems(
    family: str, count: int, rng: np.random.Generator, outside: bool = False, margin: float = 0.2
) -> list[Problem]:
    """``count`` random problems of ``family``: uniform in the ranges (log-uniform for :data:`LOG_SCALED`).

    With ``outside=True`` one parameter per problem (chosen at random) is drawn beyond its range, by up
    to ``margin`` of the range's width (of the log width for log-scaled ones) on a random side; a tilt
    below 0 is not a trapezoid, so the tilt only goes beyond its upper bound.
    """
    names = parameter_names(family)
    problems = []
    for _ in range(count):
        material = MATERIAL_CLASSES[int(rng.integers(len(MATERIAL_CLASSES)))]
        values = {}
        for name in names:
            low, high = material_bounds(material, name) if name in ("youngs_modulus", "density") else RANGES[name]
            values[name] = _draw(name, low, high, rng.uniform())
        if outside:
            name = names[int(rng.integers(len(names)))]
            low, high = material_bounds(material, name) if name in ("youngs_modulus", "density") else RANGES[name]
            above = name == "tilt" or bool(rng.integers(2))
            u = 1.0 + margin * rng.uniform(0.1, 1.0) if above else -margin * rng.uniform(0.1, 1.0)
            values[name] = _draw(name, low, high, u)
        if family == "rectangle":
            values.pop("tilt", None)
        problems.append(Problem(family, material, **values))
    return problems


def _draw(name: str, low: float, high: float, u: float) -> float:
    """The point at fraction ``u`` of [low, high] (on a log scale for :data:`LOG_SCALED`)."""
    if name in LOG_SCALED:
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
    return float(low + u * (high - low))
