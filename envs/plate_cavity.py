"""Gymnasium environments for the inverse design of plate-backed acoustic cavities (``analytic.acoustic``).

An agent walks a 3D rigid box closed on z = lz by a simply supported plate (docs/models/acoustic.md
§2.1–§2.5) through an integer grid of designs: plate material and thickness,
cavity size, and up to four point masses on the plate. A fixed point force drives the plate; each
new design is scored by the depth-exact coupled modal model, either by its band-averaged cavity
level (``"quiet"``) or by its first coupled natural frequency (``"tune"``). The single
environments (:class:`PlateCavityEnv`, :class:`PlateCavityContinuousEnv`) and their vector twins
share one :class:`PlateCavityCore` (grid, physics calls, LRU cache, best design); the env and
vector-env machinery is that of ``envs._common``, shared with the THz environments.

Design vector order (observations, continuous actions, grid indices), see
:func:`design_parameters`: material, thickness, lx, ly, lz, then per point mass p = 1…P:
mass_p_x, mass_p_y (fractions of lx and ly) and mass_p (kg). SI units throughout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from analytic import acoustic

from ._common import (
    CoreBase,
    GridBase,
    GridConfig,
    GridEnv,
    GridVectorEnv,
    check_model,
    flag,
    grid_range,
    grid_values,
    integer_at_least,
    is_real,
    one_of,
    positive,
    real_tuple,
)
from ._render import cavity_frame

__all__ = [
    "MAX_MASSES",
    "OBJECTIVES",
    "CavityEvaluation",
    "CavityGrid",
    "PlateCavityConfig",
    "PlateCavityContinuousEnv",
    "PlateCavityContinuousVectorEnv",
    "PlateCavityCore",
    "PlateCavityEnv",
    "PlateCavityVectorEnv",
    "cavity_from_design",
    "design_parameters",
]

OBJECTIVES = ("quiet", "tune")
"""Values accepted by ``PlateCavityConfig.objective``."""

MAX_MASSES = 4
"""Largest ``n_masses``."""

_BASE_PARAMETERS = ("material", "thickness", "lx", "ly", "lz")
_MATERIAL, _THICKNESS, _LX, _LY, _LZ = range(5)
_LP_FLOOR_DB = 40.0  # observation: clip((L_band − 40 dB)/100 dB, 0, 1)
_LP_SPAN_DB = 100.0
_F1_DECADES = 4.0  # observation: clip(0.5 + log10(f1/f_target)/4, 0, 1)
_MAX_MODES = 32  # modes per in-plane axis (the analytic model's own cap)
_MAX_BAND_HZ = 20_000.0  # the audible range
_MAX_BAND_POINTS = 20_000  # frequencies of the quiet band grid
_DEFAULT_BUDGET = 1.2  # default mass budget: this multiple of the grid-centre design's total mass
_REPAIR_CHUNK = 256  # rows per (rows × valid plates) distance table of CavityGrid.repair


def design_parameters(n_masses: int) -> tuple[str, ...]:
    """Names of the design vector's components for ``n_masses`` point masses, in grid order."""
    masses = [(f"mass_{p}_x", f"mass_{p}_y", f"mass_{p}") for p in range(1, n_masses + 1)]
    return _BASE_PARAMETERS + tuple(name for triple in masses for name in triple)


@dataclass(frozen=True)
class PlateCavityConfig(GridConfig):
    """Settings of the plate-cavity environments; build one with :meth:`from_mapping`.

    Grids are (min, max, step): the values min + k·step, k ≥ 0, up to the largest ≤ max.

    Attributes:
        materials: names from ``acoustic.MATERIALS``; the grid orders them by density (lightest
            first), so a lower index is always a lighter plate.
        thickness: plate thickness grid, m (default 0.5–5 mm, step 0.25 mm).
        lx, ly: plate (and cavity) side grids, m (default 0.3–1 m, step 0.05 m).
        lz: cavity depth grid, m (default 0.2–1 m, step 0.05 m).
        n_masses: 0…4 point masses on the plate (default 4; a mass of 0 kg is no mass).
        mass: grid of each point mass, kg, min ≥ 0 (default 0–0.4 kg, step 0.02 kg).
        mass_position: grid of each mass coordinate as a fraction of lx or ly, inside (0, 1)
            (default 0.1–0.9, step 0.1).
        mass_budget: M_max, kg; a design needs m″·lx·ly + ΣM_p ≤ M_max. None (default): 1.2 × the
            total mass of the grid-centre design (3.94 kg with the defaults, so 4.72 kg).
        force: point-force amplitude F, N (peak), > 0.
        force_position: (x, y) of the force as fractions of (lx, ly), inside (0, 1); default
            (0.31, 0.43), off the symmetry lines so that every plate mode is driven.
        plate_loss, air_loss: η_s, η_a > 0 (default 0.01 each), entered as E(1 + iη_s) and
            c²(1 + iη_a) (docs/models/acoustic.md §2.1).
        air_density, air_speed: ρ0 (kg/m³) and c (m/s) of the cavity air.
        objective: ``"quiet"`` (default) or ``"tune"`` (see :class:`PlateCavityEnv`).
        band: (f_lo, f_hi), Hz, 0 < f_lo < f_hi; the band of the quiet objective (20–400 Hz).
        points_per_bandwidth: ≥ 2; the quiet band grid is geometric with ratio at most
            1 + min(η_s, η_a)/points_per_bandwidth (default 2: spacing ≤ η·f/2).
        target_frequency: f_target, Hz, > 0 (tune objective; default 60 Hz).
        tune_away: tune objective: push f1 away from f_target instead of onto it.
        n_plate, n_transverse: plate and transverse cavity modes per in-plane axis, ≥ 1
            (default 8 each); one mode set for every design of the env.
        mode_margin: ≥ 0 (default 1.5); quiet objective: a design is valid only if the mode set
            holds every plate and transverse mode up to mode_margin·f_hi along each axis (see
            :class:`CavityGrid`); 0 drops this rule.
        observe_objective: append the normalised objective to the observation.
        reward_scale, start, cache_size, max_steps_per_action, move_steps: the keys every grid
            environment takes: reward multiplier (> 0, default 1), ``"random"`` or ``"center"``
            start, LRU cache entries (default 65536), grid steps of a continuous action of ±1
            (default 3) and the step sizes of the discrete moves (default (1,)).
    """

    materials: tuple[str, ...] = ("polymer", "aluminium", "steel")
    thickness: tuple[float, float, float] = (0.5e-3, 5e-3, 0.25e-3)
    lx: tuple[float, float, float] = (0.3, 1.0, 0.05)
    ly: tuple[float, float, float] = (0.3, 1.0, 0.05)
    lz: tuple[float, float, float] = (0.2, 1.0, 0.05)
    n_masses: int = MAX_MASSES
    mass: tuple[float, float, float] = (0.0, 0.4, 0.02)
    mass_position: tuple[float, float, float] = (0.1, 0.9, 0.1)
    mass_budget: float | None = None
    force: float = 1.0
    force_position: tuple[float, float] = (0.31, 0.43)
    plate_loss: float = 0.01
    air_loss: float = 0.01
    air_density: float = 1.21
    air_speed: float = 343.0
    objective: str = "quiet"
    band: tuple[float, float] = (20.0, 400.0)
    points_per_bandwidth: float = 2.0
    target_frequency: float = 60.0
    tune_away: bool = False
    n_plate: int = 8
    n_transverse: int = 8
    mode_margin: float = 1.5
    observe_objective: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        names = self.materials
        if (
            isinstance(names, str)
            or not isinstance(names, Sequence)
            or not names
            or len(set(names)) != len(names)
            or not all(name in acoustic.MATERIALS for name in names)
        ):
            raise ValueError(
                f"materials must be distinct names from acoustic.MATERIALS ({', '.join(acoustic.MATERIALS)}); "
                f"got materials={names!r}"
            )
        self._set("materials", tuple(sorted(names, key=lambda name: acoustic.MATERIALS[name].density)))
        for name in ("thickness", "lx", "ly", "lz"):  # plates below 10 cm, rooms below 20 m
            self._set(name, grid_range(name, getattr(self, name), "m", high=0.1 if name == "thickness" else 20.0))
        self._set("n_masses", integer_at_least("n_masses", self.n_masses, 0))
        if self.n_masses > MAX_MASSES:
            raise ValueError(f"n_masses must be <= {MAX_MASSES}; got n_masses={self.n_masses!r}")
        self._set("mass", grid_range("mass", self.mass, "kg", open_low=False, high=1_000.0))
        position = grid_range("mass_position", self.mass_position, "fractions of lx and ly", high=1.0)
        self._set("mass_position", position)
        if self.mass_budget is not None:
            self._set("mass_budget", positive("mass_budget", self.mass_budget, "kg"))
        self._set("force", positive("force", self.force, "N"))
        fractions = real_tuple("force_position", self.force_position, 2, "(x/lx, y/ly)")
        if not all(0 < f < 1 for f in fractions):
            raise ValueError(
                f"force_position must lie inside the plate, 0 < x/lx < 1 and 0 < y/ly < 1; "
                f"got force_position={self.force_position!r}"
            )
        self._set("force_position", fractions)
        for name, unit in (
            ("plate_loss", "dimensionless; the band grid spacing is min(eta_s, eta_a)·f/points_per_bandwidth"),
            ("air_loss", "dimensionless; the band grid spacing is min(eta_s, eta_a)·f/points_per_bandwidth"),
            ("air_density", "kg/m^3"),
            ("air_speed", "m/s"),
            ("target_frequency", "Hz"),
        ):
            self._set(name, positive(name, getattr(self, name), unit))
        one_of("objective", self.objective, OBJECTIVES)
        band = real_tuple("band", self.band, 2, "(f_lo, f_hi) in Hz")
        if not 0 < band[0] < band[1]:
            raise ValueError(f"band must satisfy 0 < f_lo < f_hi (Hz); got band={self.band!r}")
        self._set("band", band)
        ppb = self.points_per_bandwidth
        if not (is_real(ppb) and math.isfinite(ppb) and ppb >= 2):
            raise ValueError(
                f"points_per_bandwidth must be finite and >= 2 (a grid finer than eta·f/2 does not alias the "
                f"resonance peaks); got points_per_bandwidth={ppb!r}"
            )
        self._set("points_per_bandwidth", float(ppb))
        self._set("tune_away", flag("tune_away", self.tune_away))
        self._set("observe_objective", flag("observe_objective", self.observe_objective))
        self._set("n_plate", integer_at_least("n_plate", self.n_plate, 1))
        self._set("n_transverse", integer_at_least("n_transverse", self.n_transverse, 1))
        for name in ("n_plate", "n_transverse"):
            if getattr(self, name) > _MAX_MODES:
                raise ValueError(f"{name} must be <= {_MAX_MODES} per axis; got {name}={getattr(self, name)!r}")
        for name in ("plate_loss", "air_loss"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be <= 1 (a loss factor); got {name}={getattr(self, name)!r}")
        if self.band[1] > _MAX_BAND_HZ or self.points_per_bandwidth > 100:
            raise ValueError(
                f"band f_hi must be <= {_MAX_BAND_HZ:g} Hz and points_per_bandwidth <= 100; got band={self.band!r}, "
                f"points_per_bandwidth={self.points_per_bandwidth!r}"
            )
        points = self.band_points
        if points > _MAX_BAND_POINTS:
            raise ValueError(
                f"the quiet band grid would hold {points:,} frequencies, more than {_MAX_BAND_POINTS:,}: narrow the band "
                f"or raise the loss factors; got band={self.band!r}, plate_loss={self.plate_loss!r}, "
                f"air_loss={self.air_loss!r}"
            )
        margin = self.mode_margin
        if not (is_real(margin) and math.isfinite(margin) and margin >= 0):
            raise ValueError(f"mode_margin must be finite and >= 0 (multiple of f_hi); got mode_margin={margin!r}")
        self._set("mode_margin", float(margin))

    @property
    def band_frequencies(self) -> np.ndarray:
        """The quiet objective's frequency grid, (n_freq,) float64 Hz.

        Geometric from f_lo to f_hi with n_freq = ⌈ln(f_hi/f_lo)/ln(1 + η/points_per_bandwidth)⌉ + 1
        points, η = min(η_s, η_a): consecutive frequencies differ by at most η·f/points_per_bandwidth.
        """
        return np.geomspace(*self.band, self.band_points)

    @property
    def band_points(self) -> int:
        """n_freq of :attr:`band_frequencies`: ⌈ln(f_hi/f_lo)/ln(1 + min(η_s, η_a)/points_per_bandwidth)⌉ + 1."""
        lo, hi = self.band
        ratio = 1.0 + min(self.plate_loss, self.air_loss) / self.points_per_bandwidth
        return math.ceil(math.log(hi / lo) / math.log(ratio)) + 1


class CavityGrid(GridBase):
    """Integer grid of plate-cavity designs; index arrays are int64 of shape (..., d), d = 5 + 3·n_masses.

    Columns in :func:`design_parameters` order. A design is valid when every index is inside its
    grid, its total mass m″·lx·ly + ΣM_p ≤ ``budget`` (to 1e-12 relative) and, for the quiet
    objective, the env's mode set resolves it (``mode_margin`` > 0): with f_top = mode_margin·f_hi,
    every plate mode index q whose one-axis frequency (π/2)·√(D/m″)·(q/L)² ≤ f_top is at most
    ``n_plate`` and every transverse cavity index n with c·n/(2L) ≤ f_top is below
    ``n_transverse``, for L = lx and L = ly (the rule of the model's own default mode counts). A
    design outside it would get a truncated, too-low band level. Values are computed as
    min + k·step from the integer index k, so they never drift.

    Attributes:
        materials: the plate ``acoustic.Material`` of each material index (lightest first).
        material_names: their names.
        values: per column, the (size,) float64 grid: material density (kg/m³), thickness and
            lx, ly, lz (m), then per mass x and y fractions and the mass (kg).
        sizes: (d,) int64, number of grid points of each column.
        low, high: (d,) int64, the index box holding every valid design (inclusive).
        budget: M_max, kg.
        resolved: (materials, thickness, lx, ly) bool table of the plates the mode set resolves
            (all True for the tune objective).

    Raises:
        ValueError: no valid design exists (over the mass budget, or not resolved by the modes).
    """

    def __init__(self, config: PlateCavityConfig) -> None:
        self.config = config
        self.material_names = config.materials
        self.materials = tuple(acoustic.MATERIALS[name] for name in config.materials)
        mass_axes = (grid_values(*config.mass_position), grid_values(*config.mass_position), grid_values(*config.mass))
        self.values = (
            np.array([m.density for m in self.materials]),
            *(grid_values(*getattr(config, name)) for name in _BASE_PARAMETERS[1:]),
            *(axis for _ in range(config.n_masses) for axis in mass_axes),
        )
        self.sizes = np.array([v.size for v in self.values], dtype=np.int64)
        self._mass_columns = np.arange(5, 5 + 3 * config.n_masses)[2::3]
        density, thickness, lx, ly = np.ix_(*self.values[:4])
        self._plate_mass = density * thickness * lx * ly  # (materials, thickness, lx, ly), kg
        self.resolved = self._resolution(thickness, lx, ly)
        centre = (self.sizes - 1) // 2
        self.budget = (
            _DEFAULT_BUDGET * float(self.total_mass(centre[None])[0])
            if config.mass_budget is None
            else config.mass_budget
        )
        least_added = config.n_masses * config.mass[0]
        lightest = float(self._plate_mass[0, 0, 0, 0]) + least_added
        if lightest > self.budget:
            raise ValueError(
                f"mass_budget must be >= the mass of the lightest design ({self.material_names[0]}, minimum thickness, "
                f"lx, ly and masses) = {lightest:g} kg; got mass_budget={self.budget:g} kg"
            )
        fits = self.resolved & (self._plate_mass + least_added <= self.budget * (1 + 1e-12))
        if not fits.any():
            raise ValueError(
                f"no design satisfies both the mass budget ({self.budget:g} kg) and the mode resolution of the quiet "
                f"objective (n_plate={config.n_plate}, n_transverse={config.n_transverse}, mode_margin="
                f"{config.mode_margin:g} × f_hi): raise mass_budget, n_plate or n_transverse, or lower mode_margin"
            )
        self._structures = np.argwhere(fits)  # (K, 4) material, thickness, lx, ly indices of valid plates
        self._structure_mass = self._plate_mass[fits]
        self.low = np.zeros(len(self.sizes), dtype=np.int64)
        self.high = self.sizes - 1
        self.low[:4], self.high[:4] = self._structures.min(axis=0), self._structures.max(axis=0)
        if config.n_masses:  # the heaviest single mass that the lightest valid plate carries with the others at min
            room = self.budget - self._structure_mass.min() - least_added + config.mass[0]
            self.high[self._mass_columns] = np.searchsorted(self.values[-1], room * (1 + 1e-12), side="right") - 1

    def _resolution(self, thickness: np.ndarray, lx: np.ndarray, ly: np.ndarray) -> np.ndarray:
        """(materials, thickness, lx, ly) bool: the plate is resolved by the mode set (see the class docstring)."""
        cfg = self.config
        shape = self._plate_mass.shape
        if cfg.objective != "quiet" or cfg.mode_margin == 0:
            return np.ones(shape, dtype=bool)
        top = cfg.mode_margin * cfg.band[1]
        # D/m″ = E·h²/(12·ρ·(1 − ν²)): per unit surface density, broadcast over (materials, thickness, lx, ly)
        ratio = np.array([m.youngs_modulus / (12.0 * m.density * (1.0 - m.poisson**2)) for m in self.materials])
        d_per_m = ratio[:, None, None, None] * thickness**2
        ok = np.ones(shape, dtype=bool)
        for length in (lx, ly):
            plate, transverse = acoustic.modes_below(length, d_per_m, 1.0, cfg.air_speed, top)
            ok &= (plate <= cfg.n_plate) & (transverse <= cfg.n_transverse)
        return ok

    def _structure(self, index: np.ndarray) -> tuple[np.ndarray, ...]:
        """(n, d) indices inside the grid → the (material, thickness, lx, ly) index tuple of the lookup tables."""
        return tuple(index[:, k] for k in range(4))

    def columns(self, index: np.ndarray) -> np.ndarray:
        """(..., d) grid indices (inside the grid) → (..., d) float64 column values (see ``values``)."""
        index = np.asarray(index)
        return np.stack([self.values[p][index[..., p]] for p in range(len(self.sizes))], axis=-1)

    def _added_mass(self, index: np.ndarray) -> np.ndarray:
        """(n, d) indices inside the grid → (n,) sum of the point masses, kg."""
        return (
            self.values[-1][index[:, self._mass_columns]].sum(axis=-1) if self.config.n_masses else np.zeros(len(index))
        )

    def total_mass(self, index: np.ndarray) -> np.ndarray:
        """(n, d) or (d,) grid indices (inside the grid) → (n,) or () total mass m″·lx·ly + ΣM_p, kg."""
        rows = np.atleast_2d(np.asarray(index, dtype=np.int64))
        total = self._plate_mass[self._structure(rows)] + self._added_mass(rows)
        return total if np.ndim(index) == 2 else total[0]

    def valid(self, index: np.ndarray) -> np.ndarray:
        """(n, d) int64 grid indices, any integers → (n,) bool, True for valid designs."""
        index = np.asarray(index, dtype=np.int64)
        inside = np.all((index >= 0) & (index < self.sizes), axis=-1)
        clipped = np.clip(index, 0, self.sizes - 1)
        fits = self.total_mass(clipped) <= self.budget * (1 + 1e-12)
        return inside & fits & self.resolved[self._structure(clipped)]

    def repair(self, index: np.ndarray) -> np.ndarray:
        """Project (n, d) integer indices onto valid designs, (n, d) int64.

        Each index is clipped into ``low..high``; valid rows are then returned unchanged. In an
        invalid row, the point masses 1…P are lowered in turn, each just enough for the lightest
        valid plate to carry them, and the plate (material, thickness, lx, ly) becomes the valid
        plate nearest in grid steps (L1; ties: the first in index order) that carries them with the
        budget; lz and the mass positions are kept. Black-box optimisers propose points in the
        ``low..high`` box and this makes every proposal an evaluable design.
        """
        index = np.clip(np.asarray(index, dtype=np.int64), self.low, self.high)
        bad = np.flatnonzero(~self.valid(index))
        limit = self.budget * (1 + 1e-12)
        for start in range(0, len(bad), _REPAIR_CHUNK):
            rows = index[bad[start : start + _REPAIR_CHUNK]]
            for column in self._mass_columns:
                others = self._added_mass(rows) - self.values[column][rows[:, column]]
                room = limit - self._structure_mass.min() - others
                largest = np.searchsorted(self.values[column], room, side="right") - 1
                rows[:, column] = np.minimum(rows[:, column], largest)
            carried = self._structure_mass[None, :] + self._added_mass(rows)[:, None] <= limit
            steps = np.abs(rows[:, None, :4] - self._structures[None, :, :]).sum(axis=-1)
            rows[:, :4] = self._structures[np.argmin(np.where(carried, steps, np.iinfo(np.int64).max), axis=1)]
            index[bad[start : start + _REPAIR_CHUNK]] = rows
        return index

    def center(self) -> np.ndarray:
        """(d,) int64: the grid centre, repaired if it is not a valid design."""
        return self.repair(((self.sizes - 1) // 2)[None])[0]

    def batch(self, index: np.ndarray) -> acoustic.CavityBatch:
        """(n, d) valid indices → the ``acoustic.CavityBatch`` of those designs with the fixed force and air."""
        cfg = self.config
        index = np.asarray(index, dtype=np.int64)
        v = self.columns(index)
        plate = v[:, [_LX, _LY]]
        masses = v[:, 5:].reshape(len(index), cfg.n_masses, 3)
        materials = [self.materials[k] for k in index[:, _MATERIAL]]
        return acoustic.CavityBatch(
            size=v[:, [_LX, _LY, _LZ]],
            thickness=v[:, _THICKNESS],
            youngs_modulus=[m.youngs_modulus for m in materials],
            density=v[:, _MATERIAL],
            poisson=[m.poisson for m in materials],
            plate_loss=cfg.plate_loss,
            air_density=cfg.air_density,
            air_speed=cfg.air_speed,
            air_loss=cfg.air_loss,
            force=cfg.force,
            force_position=plate * np.asarray(cfg.force_position),
            mass=masses[:, :, 2],
            mass_position=masses[:, :, :2] * plate[:, None, :],
        )

    def design(self, index: np.ndarray) -> dict[str, Any]:
        """(d,) index → the design mapping, SI units (keys: see :class:`PlateCavityEnv`, Arguments)."""
        cfg = self.config
        v = self.columns(index)
        material = self.materials[int(index[_MATERIAL])]
        lx, ly = float(v[_LX]), float(v[_LY])
        design: dict[str, Any] = {
            "material": self.material_names[int(index[_MATERIAL])],
            "thickness": float(v[_THICKNESS]),
            "youngs_modulus": material.youngs_modulus,
            "density": material.density,
            "poisson": material.poisson,
            "plate_loss": cfg.plate_loss,
            "lx": lx,
            "ly": ly,
            "lz": float(v[_LZ]),
            "air_density": cfg.air_density,
            "air_speed": cfg.air_speed,
            "air_loss": cfg.air_loss,
            "force": cfg.force,
            "force_x": cfg.force_position[0] * lx,
            "force_y": cfg.force_position[1] * ly,
        }
        for p in range(cfg.n_masses):
            x, y, mass = v[5 + 3 * p : 8 + 3 * p]
            design |= {f"mass_{p + 1}": float(mass), f"mass_{p + 1}_x": float(x) * lx, f"mass_{p + 1}_y": float(y) * ly}
        return design


def cavity_from_design(
    design: dict[str, Any],
) -> tuple[acoustic.PlateCavity, acoustic.PointForce, list[acoustic.PointMass]]:
    """Rebuild the model inputs of a design mapping (``info["design"]``, ``best_design``).

    Returns:
        ``(cavity, force, masses)`` for ``acoustic.response(cavity, freqs, force, masses)``.
    """
    plate = acoustic.Plate(
        design["thickness"], design["youngs_modulus"], design["density"], design["poisson"], design["plate_loss"]
    )
    air = acoustic.Air(design["air_density"], design["air_speed"], design["air_loss"])
    cavity = acoustic.PlateCavity((design["lx"], design["ly"], design["lz"]), plate, air)
    force = acoustic.PointForce(design["force"], (design["force_x"], design["force_y"]))
    count = sum(1 for key in design if key.startswith("mass_") and key.count("_") == 1)
    masses = [
        acoustic.PointMass(design[f"mass_{p}"], (design[f"mass_{p}_x"], design[f"mass_{p}_y"]))
        for p in range(1, count + 1)
    ]
    return cavity, force, masses


@dataclass(frozen=True, slots=True)
class CavityEvaluation:
    """Model response of one design.

    Attributes:
        objective: −J (quiet, dB) or ∓|f1 − f_target|/f_target (tune); higher is better.
        potential: the quantity whose change is the reward (the objective itself).
        lp_band: J, the band-averaged L_p,avg, dB re 20 µPa (quiet objective; None for tune).
        f1: first coupled natural frequency, Hz (tune objective; None for quiet).
    """

    objective: float
    potential: float
    lp_band: float | None = None
    f1: float | None = None


class PlateCavityCore(CoreBase[CavityEvaluation]):
    """Grid, physics, LRU cache, best design, observations and infos shared by every environment.

    One physics call per :meth:`evaluate` of designs missing from the cache: one
    ``model.band_level`` call over the band (quiet) or one ``model.first_coupled_frequency``
    call (tune) for the whole batch.

    Args:
        config: validated settings.
        continuous: Box(-1, 1, (d,)) relative moves instead of Discrete(2d) single steps.
        model: the physics, any ``acoustic.CavityModel`` (a surrogate, say); None →
            ``acoustic.ModalModel()``, the depth-exact modal model (Numba).

    Attributes:
        freqs: (n_freq,) Hz, the quiet objective's band grid (``config.band_frequencies``).
        evaluations, cache_hits, best_value, best_index, best_design: as in ``envs._common.CoreBase``.
    """

    def __init__(self, config: PlateCavityConfig, continuous: bool, model: acoustic.CavityModel | None = None) -> None:
        grid = CavityGrid(config)
        super().__init__(config, grid, continuous, grid.dim + int(config.observe_objective))
        self.model: acoustic.CavityModel = check_model(model, acoustic.CavityModel, acoustic.ModalModel())
        self.freqs = config.band_frequencies

    def _model(self, index: np.ndarray) -> list[CavityEvaluation]:
        cfg = self.config
        batch = self.grid.batch(index)
        if cfg.objective == "quiet":
            lp_band = self.model.band_level(batch, self.freqs, cfg.n_plate, cfg.n_transverse)
            return [CavityEvaluation(-float(j), -float(j), lp_band=float(j)) for j in lp_band]
        f1 = self.model.first_coupled_frequency(batch, cfg.n_plate, cfg.n_transverse)
        distance = np.abs(f1 - cfg.target_frequency) / cfg.target_frequency
        objective = distance if cfg.tune_away else -distance
        return [CavityEvaluation(float(o), float(o), f1=float(f)) for o, f in zip(objective, f1)]

    def observe(self, index: np.ndarray, evaluations: Sequence[CavityEvaluation]) -> np.ndarray:
        """(n, d) indices and their evaluations → (n, d or d + 1) float32 observations in [0, 1]."""
        columns = [self.grid.normalise(index)]
        if self.config.observe_objective:
            if self.config.objective == "quiet":
                lp = np.array([e.lp_band for e in evaluations])
                columns.append(((lp - _LP_FLOOR_DB) / _LP_SPAN_DB)[:, None])
            else:
                f1 = np.array([e.f1 for e in evaluations])
                columns.append((0.5 + np.log10(f1 / self.config.target_frequency) / _F1_DECADES)[:, None])
        return np.clip(np.concatenate(columns, axis=1), 0.0, 1.0).astype(np.float32)

    def info(self, index: np.ndarray, evaluation: CavityEvaluation, invalid_move: bool, steps: int) -> dict[str, Any]:
        """A fresh info dict of one design (``steps`` is unused: every key is computed every step)."""
        measure = {"lp_band": evaluation.lp_band} if self.config.objective == "quiet" else {"f1": evaluation.f1}
        return {
            "objective": evaluation.objective,
            **measure,
            "total_mass": float(self.grid.total_mass(index)),
            "invalid_move": bool(invalid_move),
            "design": self.grid.design(index),
        }

    def image(self, index: np.ndarray, evaluation: CavityEvaluation) -> np.ndarray:
        """(H, W, 3) uint8 frame: the plate at (d,) ``index`` with its masses and L_p,avg over the band.

        The level is drawn by the depth-exact modal model (``acoustic.responses``) whatever ``model``
        scores the designs: the model protocol returns band levels, not spectra.
        """
        cfg = self.config
        response = acoustic.responses(self.grid.batch(index[None]), self.freqs, cfg.n_plate, cfg.n_transverse)
        target = cfg.target_frequency if cfg.objective == "tune" else None
        caption = self.render(index, evaluation)
        design = self.grid.design(index)
        return cavity_frame(design, self.freqs, response.lp_avg[0], cfg.band, caption, evaluation.f1, target)

    def render(self, index: np.ndarray, evaluation: CavityEvaluation) -> str:
        """One text line describing the design at (d,) ``index`` and its evaluation."""
        d = self.grid.design(index)
        masses = ", ".join(
            f"{d[f'mass_{p}'] * 1e3:.0f} g@({d[f'mass_{p}_x']:.2f},{d[f'mass_{p}_y']:.2f})"
            for p in range(1, self.config.n_masses + 1)
        )
        measure = f"L_band {evaluation.lp_band:.2f} dB" if evaluation.f1 is None else f"f1 {evaluation.f1:.2f} Hz"
        return (
            f"{d['material']} {d['thickness'] * 1e3:.2f} mm, {d['lx']:.2f}x{d['ly']:.2f}x{d['lz']:.2f} m"
            f"{', masses ' + masses if masses else ''} | total {float(self.grid.total_mass(index)):.3f} kg, "
            f"{measure}, objective {evaluation.objective:.4g}"
        )


class PlateCavityEnv(GridEnv):
    """Inverse design of a quiet (or tuned) plate-backed cavity, one grid step at a time.

    ## Description

    A rigid rectangular box lx × ly × lz of air (ρ0 = 1.21 kg/m³, c = 343 m/s) is closed on
    z = lz by a simply supported thin plate (``analytic.acoustic``, docs/models/acoustic.md
    §2.1–§2.4, 3D) driven by a point force of 1 N at (0.31·lx, 0.43·ly), off the symmetry lines
    so that every plate mode is driven. The design is the plate material (polymer 3 GPa /
    1200 kg/m³, aluminium 70 GPa / 2700 kg/m³, steel 210 GPa / 7850 kg/m³), its thickness
    (0.5–5 mm, step 0.25 mm), lx and ly (0.3–1 m, step 0.05 m), lz (0.2–1 m, step 0.05 m) and
    four point masses on the plate, each at (x/lx, y/ly) on a 0.1–0.9 grid (step 0.1) with a
    mass of 0–0.4 kg (step 0.02 kg; 0 is no mass). A design is valid when its total mass
    m″·lx·ly + ΣM_p is at most the budget M_max (default 4.72 kg = 1.2 × the grid-centre
    design: 2.75 mm aluminium, 0.65 × 0.65 × 0.6 m, four 0.2 kg masses) and, for the quiet
    objective, when the model's mode set resolves its plate (see Rewards). Losses are η_s = η_a =
    0.01, mid-range of the ranges in docs/models/acoustic.md §2.5
    (η_s 0.001 bare metal – 0.05 damped, η_a 0.005–0.05) for a panel with mounting losses over a lightly treated enclosure. The
    material stays discrete in the continuous env too: a continuous E and ρ would describe no
    real material, and both envs then search one design space.

    ## Action Space

    ``Discrete(34)`` (with four masses; ``Discrete(2d)`` for d = 5 + 3·n_masses parameters):
    action 2p moves parameter p (order: material, thickness, lx, ly, lz, then mass_1_x,
    mass_1_y, mass_1, …, mass_4) one grid step down, action 2p+1 one step up; with k
    ``move_steps`` sizes the space is ``Discrete(2d·k)`` and action 2dj + 2p moves by
    ``move_steps[j]`` steps. Python ints,
    NumPy integers, 0-d arrays and arrays of shape (1,) are accepted. A move that leaves the
    grid or makes the design invalid (over the mass budget, or a plate the modes do not resolve)
    keeps the design and sets ``info["invalid_move"] = True``.

    ## Observation Space

    ``Box(0, 1, (18,), float32)``: the d = 17 grid positions index/(size − 1) in the design
    order, then the normalised objective: clip((J − 40 dB)/100 dB, 0, 1) for ``"quiet"``,
    clip(0.5 + log10(f1/f_target)/4, 0, 1) for ``"tune"`` (so the agent sees on which side of
    the target f1 lies). With ``observe_objective=False`` only the d positions.

    ## Rewards

    Differential: ``reward_scale · (Φ(new design) − Φ(old design))`` with Φ = the objective
    value, so an episode's return is the total improvement and an invalid move earns 0.
    Values are higher-is-better in both objectives.

    - ``objective="quiet"`` (default): value = −J, where J is the band-averaged cavity level
      J = ∫ L_p,avg(f) df / (f_hi − f_lo) over the band (20–400 Hz), L_p,avg = 10·log10(⟨|p|²⟩/2/
      p_ref²) dB re 20 µPa, integrated by the trapezoid rule in f of L_p,avg. The frequencies
      are a geometric grid whose spacing is at most η·f/2, η = min(η_s, η_a) (601 points with
      the defaults): a resonance peak's half-power bandwidth is about η·f, so every peak holds
      at least two points and J cannot alias (docs/models/acoustic.md §2.5) everywhere in
      the band, without knowing where the resonances are. An analytic band integral of the depth-exact form is
      not available; the grid costs one ``acoustic.responses`` call per step for all designs.
    - ``objective="tune"``: value = −|f1 − f_target|/f_target (f_target = ``target_frequency``,
      60 Hz), or +|f1 − f_target|/f_target with ``tune_away=True``; f1 is the first lossless
      coupled natural frequency (``acoustic.first_coupled_frequencies``, equal to
      ``acoustic.coupled_modes(cavity, 1, n_plate, n_transverse, masses)[0]``).

    Every design is evaluated with one shared mode set, ``n_plate`` × ``n_plate`` plate modes
    and ``n_transverse`` × ``n_transverse`` transverse cavity modes (default 8 and 8), so that
    objective values are comparable and one batched call serves a step. Thin plates on large
    cavities have more plate modes in the band than that (0.5 mm steel on 1 × 1 m: about 20 per
    axis below 400 Hz), and a truncated mode set would give them a J several dB too low, which
    a search would exploit. For ``"quiet"`` such plates are therefore not valid designs: a
    design must hold every plate and transverse mode up to ``mode_margin``·f_hi (1.5 × 400 Hz)
    along each axis in the mode set (:class:`CavityGrid`; J then agrees with twice the modes to
    about 0.1 dB). With the defaults this excludes, e.g., aluminium or steel thinner than
    3.25 mm on a 1 × 1 m plate, polymer thinner than 4.25 mm on 0.65 × 0.65 m and any polymer
    on 1 × 1 m; raise ``n_plate`` (the cost grows about as its sixth power) to admit them. ``workbench search acoustic`` reports J of the best
    design with twice the modes next to the env's value.

    ## Starting State

    ``start="random"`` (default): a design drawn uniformly from the valid grid designs with
    ``self.np_random`` (rejection sampling). ``start="center"``: the grid centre, repaired
    (:meth:`CavityGrid.repair`) if it is not valid. ``reset(options={"start": ...})`` overrides the setting for
    one episode.

    ## Episode End

    The episode never terminates (``terminated`` is always False). It is truncated after
    ``max_episode_steps`` steps (128) by the ``TimeLimit`` wrapper of the registration.

    ## Arguments

    ``config`` (a mapping or :class:`PlateCavityConfig`) and keyword ``overrides`` are merged
    into a :class:`PlateCavityConfig` (see it for every key: grids, budget, force, losses,
    band, mode counts); unknown keys or invalid values raise ``ValueError`` naming the key.
    ``render_mode`` is None, ``"ansi"`` (a text line) or ``"rgb_array"`` (an (H, W, 3)
    uint8 frame of the plate and its L_p,avg over the band). ``model`` (keyword, not a config
    key) is the physics: any ``acoustic.CavityModel`` (a surrogate, say); None (default) is
    ``acoustic.ModalModel()``, the depth-exact modal model.

    ```python
    import gymnasium as gym
    import envs  # registers the ids
    env = gym.make("workbench/PlateCavity-v0", objective="tune", target_frequency=80.0)
    ```

    Every step returns a fresh ``info`` with ``objective``, ``lp_band`` (J, dB; quiet) or
    ``f1`` (Hz; tune), ``total_mass`` (kg), ``invalid_move`` and ``design``, a flat mapping of
    SI values: ``material`` (name), ``thickness`` (m), ``youngs_modulus`` (Pa), ``density``
    (kg/m³), ``poisson``, ``plate_loss``, ``lx``, ``ly``, ``lz`` (m), ``air_density`` (kg/m³),
    ``air_speed`` (m/s), ``air_loss``, ``force`` (N), ``force_x``, ``force_y`` (m), and per
    mass ``mass_p`` (kg), ``mass_p_x``, ``mass_p_y`` (m). :func:`cavity_from_design` rebuilds
    ``(PlateCavity, PointForce, [PointMass])`` from it.

    An LRU of ``cache_size`` designs serves revisited designs without a model call
    (``evaluations`` and ``cache_hits`` count both); ``best_value`` and ``best_design`` hold the
    best design the environment has evaluated.

    ## Vectorized environment

    :class:`PlateCavityVectorEnv` (``gym.make_vec("workbench/PlateCavity-v0", num_envs=n)``)
    scores all n designs of a step in one physics call; next-step autoreset by default.

    ## Version History

    * v0: initial version.
    """

    config_class = PlateCavityConfig
    core_class = PlateCavityCore


class PlateCavityContinuousEnv(PlateCavityEnv):
    """Inverse design of a plate-backed cavity with relative moves of all parameters.

    ## Description

    As :class:`PlateCavityEnv`, but one action moves every parameter at once. The material
    stays a discrete grid parameter (its index moves like the others).

    ## Action Space

    ``Box(-1, 1, (d,), float32)`` (d = 17 with four masses) in the design order. Component a
    (clipped to [−1, 1]) moves its parameter by round(a · max_steps_per_action) grid steps
    (default ±3). If the moved design leaves the grid or is not valid (mass budget, mode
    resolution), the whole move is rejected, the design is kept and ``info["invalid_move"] = True``.

    ## Observation Space

    As :class:`PlateCavityEnv`: ``Box(0, 1, (18,), float32)``, or ``(17,)`` with
    ``observe_objective=False``.

    ## Rewards

    As :class:`PlateCavityEnv`: ``reward_scale · (Φ(new) − Φ(old))`` with Φ = −J (quiet) or
    ∓|f1 − f_target|/f_target (tune).

    ## Starting State and Episode End

    As :class:`PlateCavityEnv`: a random valid design (or the centre); truncated after 128 steps.

    ## Arguments

    Those of :class:`PlateCavityEnv`, with ``max_steps_per_action`` (grid steps of a component
    of ±1, default 3), e.g. ``gym.make("workbench/PlateCavityContinuous-v0", max_steps_per_action=2)``.

    ## Vectorized environment

    :class:`PlateCavityContinuousVectorEnv`, built by ``gym.make_vec`` with the vector entry point.

    ## Version History

    * v0: initial version.
    """

    continuous: ClassVar[bool] = True


class PlateCavityVectorEnv(GridVectorEnv):
    """Native vector env of :class:`PlateCavityEnv`: ``num_envs`` designs per step in one physics call.

    Spaces, rewards and starting states are those of :class:`PlateCavityEnv`; stepping, autoreset
    (next-step, or same-step for stable-baselines3), seeding (sub-environment i gets seed + i) and
    the arguments are those of :class:`envs._common.GridVectorEnv`. Observations are (num_envs,
    d or d + 1) float32; ``infos["design"]`` holds a (num_envs,) array per design key
    (``material``: an object array of names).
    """

    config_class = PlateCavityConfig
    core_class = PlateCavityCore


class PlateCavityContinuousVectorEnv(PlateCavityVectorEnv):
    """Vector version of :class:`PlateCavityContinuousEnv`: actions (num_envs, d) float32 in [−1, 1]."""

    continuous: ClassVar[bool] = True
