"""Validated inputs of the plate-backed cavity model: air, plate, cavity, loads and masses (SI units).

Conventions (docs/models/acoustic.md, Conventions and §2.1): time dependence e^{iωt}, peak
amplitudes. The cavity is [0, lx]×[0, ly]×[0, lz] with the plate on z = lz (3D), or the 2D analogue
[0, lx]×[0, lz] in the x–z plane with a plate strip on z = lz, everything per unit width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

BOUNDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "air_density": (1e-12, 1e4),
        "air_speed": (10.0, 1e4),
        "loss_factor": (0.0, 1.0),
        "thickness": (1e-5, 0.1),
        "youngs_modulus": (1e5, 1e13),
        "density": (10.0, 3e4),
        "poisson": (-0.9, 0.499),
        "length": (1e-2, 100.0),
        "amplitude": (0.0, 1e9),
        "volume_velocity": (0.0, 1e3),
        "mass": (0.0, 1e6),
        "surface_density": (1e-3, 1e4),
        "wall_gap": (1e-4, 10.0),
        "resonator_volume": (1e-9, 1e3),
        "neck": (1e-5, 10.0),
        "end_correction": (0.0, 2.0),
        "duct_area": (1e-6, 100.0),
        "resistance": (0.0, 1e12),
    }
)
"""Accepted ranges (SI units) of the model's inputs, wide around the physical ones: gases to
liquids (ρ0 1e-12–1e4 kg/m³, down to the in-vacuo limit; c 10–1e4 m/s), loss factors 0–1, plates 10 µm–10 cm thick of
rubber-to-diamond stiffness (E 1e5–1e13 Pa) and foam-to-osmium density (10–3e4 kg/m³),
ν in [−0.9, 0.499], cavity lengths 1 cm–100 m, |loads| ≤ 1e9 (N, N/m or Pa), |q| ≤ 1e3 m³/s,
masses ≤ 1e6 kg; companion models: panel and wall masses 1e-3–1e4 kg/m², wall gaps 0.1 mm–10 m,
resonator volumes 1e-9–1e3 m³, neck lengths and radii 10 µm–10 m, end corrections 0–2 radii,
duct areas 1e-6–100 m², resistances 0–1e12 Pa·s/m³. The upper bounds keep every squared quantity
(|p|², D, ω_ab²) finite."""

THIN_PLATE_RATIO = 10.0
"""Kirchhoff plate validity: each in-plane plate length must be at least this multiple of the thickness."""


def _bounded(owner: str, name: str, value: object, unit: str, bound: str, magnitude: bool = False) -> float:
    """A real number (|complex| when ``magnitude``) inside ``BOUNDS[bound]``, else ValueError naming it."""
    number = abs(_complex(owner, name, value, unit)) if magnitude else _real(owner, name, value, unit)
    low, high = BOUNDS[bound]
    if not low <= number <= high:
        what = f"|{name}|" if magnitude else name
        raise ValueError(
            f"{owner} {what} must lie in [{low:g}, {high:g}]{' ' + unit if unit else ''}; got {name}={value!r}"
        )
    return number


def _real(owner: str, name: str, value: object, unit: str) -> float:
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{owner} {name} must be a real number ({unit}); got {name}={value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{owner} {name} must be finite ({unit}); got {name}={value!r}")
    return number


def _complex(owner: str, name: str, value: object, unit: str) -> complex:
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        number = complex(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{owner} {name} must be a (complex) number ({unit}); got {name}={value!r}") from None
    if not (math.isfinite(number.real) and math.isfinite(number.imag)):
        raise ValueError(f"{owner} {name} must be finite ({unit}); got {name}={value!r}")
    return number


def _position(owner: str, value: object, dims: tuple[int, ...], shape: str) -> float | tuple[float, ...]:
    """A scalar (when 1 is in ``dims``) or a tuple of ``dims`` finite coordinates, m; ``shape`` names the form."""
    if np.ndim(value) == 0 and 1 in dims:
        return _real(owner, "position", value, "m")
    try:
        coords = tuple(_real(owner, "position", v, "m") for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError, OverflowError):
        coords = ()
    if len(coords) not in dims or len(coords) == 1 or not all(math.isfinite(v) for v in coords):
        raise ValueError(f"{owner} position must be {shape} in metres (finite); got position={value!r}")
    return coords


@dataclass(frozen=True)
class Air:
    """Cavity fluid.

    Args:
        density: ρ0, kg/m³; in [1e-12, 1e4] (1e-12: the in-vacuo limit).
        speed: c, m/s; in [10, 1e4].
        loss_factor: η_a in [0, 1]; enters as c² → c²(1 + iη_a) wherever c² appears (docs/models/acoustic.md §2.1).

    Raises:
        ValueError: a value outside its range (see :data:`BOUNDS`).
    """

    density: float = 1.21
    speed: float = 343.0
    loss_factor: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "density", _bounded("Air", "density", self.density, "kg/m^3", "air_density"))
        object.__setattr__(self, "speed", _bounded("Air", "speed", self.speed, "m/s", "air_speed"))
        object.__setattr__(self, "loss_factor", _bounded("Air", "loss_factor", self.loss_factor, "", "loss_factor"))

    @property
    def impedance(self) -> float:
        """Characteristic impedance ρ0c, Pa·s/m (rayl), lossless."""
        return self.density * self.speed


def check_air(air: object) -> Air:
    """``air`` if it is an :class:`Air`, :class:`Air` () for None, else ValueError."""
    if air is None:
        return Air()
    if not isinstance(air, Air):
        raise ValueError(f"air must be an acoustic.Air or None; got air={air!r}")
    return air


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
"""Named plate materials (docs/models/acoustic.md §2.5 ranges): E in Pa, ρ in kg/m³, ν."""

_MATERIAL_ALIASES = {"aluminum": "aluminium", "al": "aluminium"}


@dataclass(frozen=True)
class Plate:
    """Thin isotropic Kirchhoff plate, simply supported on its edges.

    Args:
        thickness: h, m; in [1e-5, 0.1] (and thin: see :class:`PlateCavity`).
        youngs_modulus: E, Pa; in [1e5, 1e13] (lossless; the loss enters as E(1 + iη_s)).
        density: ρ_s, kg/m³; in [10, 3e4].
        poisson: ν in [−0.9, 0.499].
        loss_factor: η_s in [0, 1].

    Raises:
        ValueError: a value outside its range (see :data:`BOUNDS`).
    """

    thickness: float
    youngs_modulus: float
    density: float
    poisson: float
    loss_factor: float = 0.0

    def __post_init__(self) -> None:
        for name, unit in (
            ("thickness", "m"),
            ("youngs_modulus", "Pa"),
            ("density", "kg/m^3"),
            ("poisson", ""),
            ("loss_factor", ""),
        ):
            object.__setattr__(self, name, _bounded("Plate", name, getattr(self, name), unit, name))

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
            plane, plate strip on z = lz, per unit width); every length in [0.01, 100] m, and each
            in-plane length at least 10 plate thicknesses (Kirchhoff thin-plate theory).
        plate: the :class:`Plate`.
        air: the cavity :class:`Air`.

    Raises:
        ValueError: a length outside its range, a plate too thick for its size, wrong types.
    """

    size: tuple[float, ...]
    plate: Plate
    air: Air = Air()

    def __post_init__(self) -> None:
        try:
            size = tuple(_real("PlateCavity", "size", v, "m") for v in self.size)
        except (TypeError, ValueError, OverflowError):
            size = ()
        if len(size) not in (2, 3):
            raise ValueError(f"PlateCavity size must be (lx, lz) or (lx, ly, lz) in metres; got size={self.size!r}")
        names = ("lx", "lz") if len(size) == 2 else ("lx", "ly", "lz")
        for name, value in zip(names, size):
            _bounded("PlateCavity", f"size {name}", value, "m", "length")
        if not isinstance(self.plate, Plate):
            raise ValueError(f"PlateCavity plate must be an acoustic.Plate; got plate={self.plate!r}")
        for name, value in zip(names[:-1], size[:-1]):
            if value < THIN_PLATE_RATIO * self.plate.thickness:
                raise ValueError(
                    f"PlateCavity size {name} must be at least {THIN_PLATE_RATIO:g} plate thicknesses "
                    f"(thin-plate theory); got {name}={value!r} m with thickness={self.plate.thickness!r} m"
                )
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
        amplitude: F, N (peak, complex allowed); |F| ≤ 1e9.
        position: (x, y) on the plate, m; strictly inside (0, lx)×(0, ly).
    """

    amplitude: complex
    position: tuple[float, float]

    def __post_init__(self) -> None:
        _bounded("PointForce", "amplitude", self.amplitude, "N", "amplitude", magnitude=True)
        object.__setattr__(self, "amplitude", _complex("PointForce", "amplitude", self.amplitude, "N"))
        object.__setattr__(self, "position", _position("PointForce", self.position, (2,), "(x, y)"))


@dataclass(frozen=True)
class LineForce:
    """Harmonic line force across a 2D plate strip (per unit width), outward (+z) positive.

    Args:
        amplitude: F, N/m (peak, complex allowed); |F| ≤ 1e9.
        position: x on the strip, m; strictly inside (0, lx).
    """

    amplitude: complex
    position: float

    def __post_init__(self) -> None:
        _bounded("LineForce", "amplitude", self.amplitude, "N/m", "amplitude", magnitude=True)
        object.__setattr__(self, "amplitude", _complex("LineForce", "amplitude", self.amplitude, "N/m"))
        object.__setattr__(self, "position", _position("LineForce", self.position, (1,), "a number x"))


@dataclass(frozen=True)
class PlaneWave:
    """Blocked plane wave at normal incidence: uniform load f = −2·p_inc on the whole plate.

    Args:
        amplitude: incident pressure p_inc, Pa (peak, complex allowed); |p_inc| ≤ 1e9.
    """

    amplitude: complex

    def __post_init__(self) -> None:
        _bounded("PlaneWave", "amplitude", self.amplitude, "Pa", "amplitude", magnitude=True)
        object.__setattr__(self, "amplitude", _complex("PlaneWave", "amplitude", self.amplitude, "Pa"))


@dataclass(frozen=True)
class PointMass:
    """Added mass rigidly attached to the plate (adds −ω²·M·φφᵀ to the plate impedance).

    Args:
        mass: kg in 3D; in 2D a line mass across the strip, kg/m per unit width; in [0, 1e6].
        position: (x, y) in 3D or x in 2D, m; strictly inside the plate.
    """

    mass: float
    position: float | tuple[float, float]

    def __post_init__(self) -> None:
        object.__setattr__(self, "mass", _bounded("PointMass", "mass", self.mass, "kg or kg/m", "mass"))
        object.__setattr__(self, "position", _position("PointMass", self.position, (1, 2), "x (2D) or (x, y) (3D)"))


@dataclass(frozen=True)
class Monopole:
    """Interior point (3D) or line (2D) monopole, solved with the full modal form (docs/models/acoustic.md §2.3).

    Args:
        volume_velocity: q, m³/s (peak, complex allowed); in 2D m²/s per unit width; |q| ≤ 1e3.
        position: (x, y, z) in 3D or (x, z) in 2D, m; inside the closed cavity.
    """

    volume_velocity: complex
    position: tuple[float, ...]

    def __post_init__(self) -> None:
        _bounded("Monopole", "volume_velocity", self.volume_velocity, "m^3/s", "volume_velocity", magnitude=True)
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
