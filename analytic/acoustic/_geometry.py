"""Validated inputs of the plate-backed cavity model: air, plate, cavity, loads and masses (SI units).

Conventions (design note acoustic-model, Conventions and §2.1): time dependence e^{iωt}, peak
amplitudes. The cavity is [0, lx]×[0, ly]×[0, lz] with the plate on z = lz (3D), or the 2D analogue
[0, lx]×[0, lz] in the x–z plane with a plate strip on z = lz, everything per unit width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np


def _real(owner: str, name: str, value: object, unit: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{owner} {name} must be a real number ({unit}); got {name}={value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{owner} {name} must be finite ({unit}); got {name}={value!r}")
    return number


def _positive(owner: str, name: str, value: object, unit: str) -> float:
    number = _real(owner, name, value, unit)
    if number <= 0:
        raise ValueError(f"{owner} {name} must be > 0 ({unit}); got {name}={value!r}")
    return number


def _non_negative(owner: str, name: str, value: object, unit: str) -> float:
    number = _real(owner, name, value, unit)
    if number < 0:
        raise ValueError(f"{owner} {name} must be >= 0 ({unit}); got {name}={value!r}")
    return number


def _complex(owner: str, name: str, value: object, unit: str) -> complex:
    try:
        number = complex(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{owner} {name} must be a (complex) number ({unit}); got {name}={value!r}") from None
    if not (math.isfinite(number.real) and math.isfinite(number.imag)):
        raise ValueError(f"{owner} {name} must be finite ({unit}); got {name}={value!r}")
    return number


def _position(owner: str, value: object, dims: tuple[int, ...], shape: str) -> float | tuple[float, ...]:
    """A scalar (when 1 is in ``dims``) or a tuple of ``dims`` finite coordinates, m; ``shape`` names the form."""
    if np.ndim(value) == 0 and 1 in dims:
        return _real(owner, "position", value, "m")
    try:
        coords = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        coords = ()
    if len(coords) not in dims or len(coords) == 1 or not all(math.isfinite(v) for v in coords):
        raise ValueError(f"{owner} position must be {shape} in metres (finite); got position={value!r}")
    return coords


@dataclass(frozen=True)
class Air:
    """Cavity fluid.

    Args:
        density: ρ0, kg/m³; > 0.
        speed: c, m/s; > 0.
        loss_factor: η_a ≥ 0; enters as c² → c²(1 + iη_a) wherever c² appears (note §2.1).
    """

    density: float = 1.21
    speed: float = 343.0
    loss_factor: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "density", _positive("Air", "density", self.density, "kg/m^3"))
        object.__setattr__(self, "speed", _positive("Air", "speed", self.speed, "m/s"))
        object.__setattr__(self, "loss_factor", _non_negative("Air", "loss_factor", self.loss_factor, "dimensionless"))

    @property
    def impedance(self) -> float:
        """Characteristic impedance ρ0c, Pa·s/m (rayl), lossless."""
        return self.density * self.speed


@dataclass(frozen=True)
class Material:
    """Isotropic plate material: Young's modulus E (Pa), density ρ (kg/m³), Poisson's ratio ν."""

    youngs_modulus: float
    density: float
    poisson: float


MATERIALS: Mapping[str, Material] = MappingProxyType(
    {
        "aluminium": Material(70e9, 2700.0, 0.33),
        "steel": Material(210e9, 7850.0, 0.30),
        "polymer": Material(3e9, 1200.0, 0.35),
    }
)
"""Named plate materials (note §2.5 ranges): E in Pa, ρ in kg/m³, ν."""

_MATERIAL_ALIASES = {"aluminum": "aluminium", "al": "aluminium"}


@dataclass(frozen=True)
class Plate:
    """Thin isotropic Kirchhoff plate, simply supported on its edges.

    Args:
        thickness: h, m; > 0.
        youngs_modulus: E, Pa; > 0 (lossless; the loss enters as E(1 + iη_s)).
        density: ρ_s, kg/m³; > 0.
        poisson: ν in (−1, 0.5).
        loss_factor: η_s ≥ 0.
    """

    thickness: float
    youngs_modulus: float
    density: float
    poisson: float
    loss_factor: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "thickness", _positive("Plate", "thickness", self.thickness, "m"))
        object.__setattr__(self, "youngs_modulus", _positive("Plate", "youngs_modulus", self.youngs_modulus, "Pa"))
        object.__setattr__(self, "density", _positive("Plate", "density", self.density, "kg/m^3"))
        poisson = _real("Plate", "poisson", self.poisson, "dimensionless")
        if not -1.0 < poisson < 0.5:
            raise ValueError(f"Plate poisson must lie in (-1, 0.5); got poisson={self.poisson!r}")
        object.__setattr__(self, "poisson", poisson)
        object.__setattr__(
            self, "loss_factor", _non_negative("Plate", "loss_factor", self.loss_factor, "dimensionless")
        )

    @classmethod
    def of(cls, material: str | Material, thickness: float, loss_factor: float = 0.0) -> Plate:
        """Plate of a named material (a key of :data:`MATERIALS`) or a :class:`Material`, thickness in m."""
        if isinstance(material, str):
            key = _MATERIAL_ALIASES.get(material.lower(), material.lower())
            if key not in MATERIALS:
                raise ValueError(f"material must be one of {', '.join(MATERIALS)}; got material={material!r}")
            material = MATERIALS[key]
        if not isinstance(material, Material):
            raise ValueError(f"material must be a name or an acoustic.Material; got material={material!r}")
        return cls(thickness, material.youngs_modulus, material.density, material.poisson, loss_factor)

    @property
    def bending_stiffness(self) -> float:
        """D = Eh³/(12(1 − ν²)), N·m (real, lossless)."""
        return self.youngs_modulus * self.thickness**3 / (12.0 * (1.0 - self.poisson**2))

    @property
    def surface_density(self) -> float:
        """m″ = ρ_s·h, kg/m²."""
        return self.density * self.thickness


@dataclass(frozen=True)
class PlateCavity:
    """Rigid rectangular cavity closed on z = lz by a simply supported plate.

    Args:
        size: ``(lx, ly, lz)`` in m for 3D, or ``(lx, lz)`` for the 2D analogue (cavity in the x–z
            plane, plate strip on z = lz, per unit width); every length > 0.
        plate: the :class:`Plate`.
        air: the cavity :class:`Air`.
    """

    size: tuple[float, ...]
    plate: Plate
    air: Air = Air()

    def __post_init__(self) -> None:
        try:
            size = tuple(float(v) for v in self.size)
        except (TypeError, ValueError):
            size = ()
        if len(size) not in (2, 3):
            raise ValueError(f"PlateCavity size must be (lx, lz) or (lx, ly, lz) in metres; got size={self.size!r}")
        names = ("lx", "lz") if len(size) == 2 else ("lx", "ly", "lz")
        for name, value in zip(names, size):
            _positive("PlateCavity", f"size {name}", value, "m")
        if not isinstance(self.plate, Plate):
            raise ValueError(f"PlateCavity plate must be an acoustic.Plate; got plate={self.plate!r}")
        if not isinstance(self.air, Air):
            raise ValueError(f"PlateCavity air must be an acoustic.Air; got air={self.air!r}")
        object.__setattr__(self, "size", size)

    @property
    def dim(self) -> int:
        """2 or 3."""
        return len(self.size)

    @property
    def lx(self) -> float:
        """Plate and cavity length along x, m."""
        return self.size[0]

    @property
    def ly(self) -> float | None:
        """Plate and cavity length along y, m (None in 2D)."""
        return self.size[1] if self.dim == 3 else None

    @property
    def lz(self) -> float:
        """Cavity depth (plate at z = lz), m."""
        return self.size[-1]

    @property
    def volume(self) -> float:
        """V = lx·ly·lz, m³ (3D); lx·lz, m² per unit width (2D)."""
        return float(np.prod(self.size))

    @property
    def plate_area(self) -> float:
        """S = lx·ly, m² (3D); lx, m per unit width (2D)."""
        return self.lx * self.ly if self.dim == 3 else self.lx

    @property
    def plate_mass(self) -> float:
        """m″·S, kg (3D); kg/m per unit width (2D)."""
        return self.plate.surface_density * self.plate_area

    def check_on_plate(self, owner: str, position: float | tuple[float, ...]) -> None:
        """Raise ValueError unless ``position`` (x in 2D, (x, y) in 3D, m) lies strictly inside the plate."""
        coords = (position,) if np.ndim(position) == 0 else tuple(position)  # type: ignore[arg-type]
        if len(coords) != self.dim - 1:
            want = "x (2D cavity)" if self.dim == 2 else "(x, y) (3D cavity)"
            raise ValueError(f"{owner} position must be {want}; got position={position!r}")
        for axis, value, length in zip("xy", coords, self.size[:-1]):
            if not 0.0 < value < length:
                raise ValueError(
                    f"{owner} position {axis} must lie strictly inside the plate, 0 < {axis} < {length:g} m; "
                    f"got {axis}={value!r} m"
                )

    def check_in_cavity(self, owner: str, position: tuple[float, ...]) -> None:
        """Raise ValueError unless ``position`` ((x, z) in 2D, (x, y, z) in 3D, m) lies inside the closed cavity."""
        if len(position) != self.dim:
            want = "(x, z) (2D cavity)" if self.dim == 2 else "(x, y, z) (3D cavity)"
            raise ValueError(f"{owner} position must be {want}; got position={position!r}")
        axes = "xz" if self.dim == 2 else "xyz"
        for axis, value, length in zip(axes, position, self.size):
            if not 0.0 <= value <= length:
                raise ValueError(
                    f"{owner} position {axis} must lie inside the cavity, 0 <= {axis} <= {length:g} m; got {axis}={value!r} m"
                )


@dataclass(frozen=True)
class PointForce:
    """Harmonic point force on a 3D plate, outward (+z) positive.

    Args:
        amplitude: F, N (peak, complex allowed).
        position: (x, y) on the plate, m; strictly inside (0, lx)×(0, ly).
    """

    amplitude: complex
    position: tuple[float, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "amplitude", _complex("PointForce", "amplitude", self.amplitude, "N"))
        object.__setattr__(self, "position", _position("PointForce", self.position, (2,), "(x, y)"))


@dataclass(frozen=True)
class LineForce:
    """Harmonic line force across a 2D plate strip (per unit width), outward (+z) positive.

    Args:
        amplitude: F, N/m (peak, complex allowed).
        position: x on the strip, m; strictly inside (0, lx).
    """

    amplitude: complex
    position: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "amplitude", _complex("LineForce", "amplitude", self.amplitude, "N/m"))
        object.__setattr__(self, "position", _position("LineForce", self.position, (1,), "a number x"))


@dataclass(frozen=True)
class PlaneWave:
    """Blocked plane wave at normal incidence: uniform load f = −2·p_inc on the whole plate.

    Args:
        amplitude: incident pressure p_inc, Pa (peak, complex allowed).
    """

    amplitude: complex

    def __post_init__(self) -> None:
        object.__setattr__(self, "amplitude", _complex("PlaneWave", "amplitude", self.amplitude, "Pa"))


@dataclass(frozen=True)
class PointMass:
    """Added mass rigidly attached to the plate (adds −ω²·M·φφᵀ to the plate impedance).

    Args:
        mass: kg in 3D; in 2D a line mass across the strip, kg/m per unit width; ≥ 0.
        position: (x, y) in 3D or x in 2D, m; strictly inside the plate.
    """

    mass: float
    position: float | tuple[float, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mass", _non_negative("PointMass", "mass", self.mass, "kg or kg/m"))
        object.__setattr__(self, "position", _position("PointMass", self.position, (1, 2), "x (2D) or (x, y) (3D)"))


@dataclass(frozen=True)
class Monopole:
    """Interior point (3D) or line (2D) monopole, solved with the full modal form (note §2.3).

    Args:
        volume_velocity: q, m³/s (peak, complex allowed); in 2D m²/s per unit width.
        position: (x, y, z) in 3D or (x, z) in 2D, m; inside the closed cavity.
    """

    volume_velocity: complex
    position: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "volume_velocity", _complex("Monopole", "volume_velocity", self.volume_velocity, "m^3/s")
        )
        object.__setattr__(
            self, "position", _position("Monopole", self.position, (2, 3), "(x, z) (2D) or (x, y, z) (3D)")
        )


def check_load(cavity: PlateCavity, load: object) -> None:
    """Raise ValueError unless ``load`` is a plate load that fits ``cavity`` (dimension and position)."""
    if isinstance(load, PointForce):
        if cavity.dim != 3:
            raise ValueError(
                f"a PointForce needs a 3D cavity; got a {cavity.dim}D cavity, size={cavity.size}: use LineForce in 2D"
            )
        cavity.check_on_plate("PointForce", load.position)
    elif isinstance(load, LineForce):
        if cavity.dim != 2:
            raise ValueError(
                f"a LineForce needs a 2D cavity; got a {cavity.dim}D cavity, size={cavity.size}: use PointForce in 3D"
            )
        cavity.check_on_plate("LineForce", load.position)
    elif not isinstance(load, PlaneWave):
        raise ValueError(f"force must be a PointForce, LineForce, PlaneWave or a sequence of them; got force={load!r}")


def check_mass(cavity: PlateCavity, mass: object) -> None:
    """Raise ValueError unless ``mass`` is a :class:`PointMass` whose position fits ``cavity``."""
    if not isinstance(mass, PointMass):
        raise ValueError(f"masses must hold acoustic.PointMass items; got {mass!r}")
    cavity.check_on_plate("PointMass", mass.position)
