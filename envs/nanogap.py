"""Gymnasium environments for the inverse design of THz nanogap-loop arrays.

An agent walks a rectangular nanogap-loop array (``analytic.thz``) through an integer grid of
designs; each new design is evaluated at a fixed target frequency by the analytic model. The
single environments (:class:`NanogapLoopEnv`, :class:`NanogapLoopContinuousEnv`) and their
vector twins (:class:`NanogapLoopVectorEnv`, :class:`NanogapLoopContinuousVectorEnv`) share one
:class:`NanogapCore` that owns the grid, the physics calls, the LRU cache and the best design.

Design vector order (observations, continuous actions, grid indices): side_x, side_y,
period_x, period_y, gap, thickness. All lengths are in metres and frequencies in Hz.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from analytic import thz

try:
    from gymnasium.vector import AutoresetMode
except ImportError:  # gymnasium < 1.1 has no AutoresetMode; next-step autoreset is its only mode
    AutoresetMode = None

__all__ = [
    "DESIGN_PARAMETERS",
    "OBJECTIVES",
    "DesignGrid",
    "Evaluation",
    "NanogapConfig",
    "NanogapCore",
    "NanogapLoopContinuousEnv",
    "NanogapLoopContinuousVectorEnv",
    "NanogapLoopEnv",
    "NanogapLoopVectorEnv",
]

DESIGN_PARAMETERS = ("side_x", "side_y", "period_x", "period_y", "gap", "thickness")
"""Order of the design vector: observations, continuous actions and grid indices."""

OBJECTIVES = ("field_enhancement", "filter")
"""Values accepted by ``NanogapConfig.objective``."""

_STARTS = ("random", "center")
_GEOMETRY_FIELDS = ("gap", "thickness", "side_x", "side_y", "period_x", "period_y")
_MATERIAL_FIELDS = ("eps_gap", "eps_substrate", "eps_superstrate")
_COLUMN = {name: i for i, name in enumerate(DESIGN_PARAMETERS)}
_AXES = (("side_x", "period_x"), ("side_y", "period_y"))
_SAMPLE_BATCH = 64
_FE_DECADES = 5.0
_T_DECADES = 8.0
_TINY = 1e-300


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _real_tuple(name: str, value: Any, length: int, meaning: str) -> tuple[float, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence | np.ndarray)
        or len(value) != length
        or not all(_is_real(v) and math.isfinite(v) for v in value)
    ):
        raise ValueError(f"{name} must be {length} finite numbers {meaning}; got {name}={value!r}")
    return tuple(float(v) for v in value)


@dataclass(frozen=True)
class NanogapConfig:
    """Settings of the nanogap-loop environments; build one with :meth:`from_mapping`.

    Attributes:
        side_x, side_y: (min, max, step) of the loop sides, m. The grid is min + k·step, k ≥ 0,
            up to the largest value ≤ max.
        period_x, period_y: (min, max, step) of the lattice periods, m.
        gap: (min, max, step) of the gap width, m.
        thickness: (min, max, step) of the metal thickness, m.
        margin: m, > 0; a design needs period ≥ side + margin on both axes.
        target_frequency: f0, Hz; a design needs f0 below its first diffraction order
            c/(n_max·max(period_x, period_y)), n_max = max Re√ε of substrate and superstrate.
        objective: ``"field_enhancement"`` or ``"filter"`` (see :class:`NanogapLoopEnv`).
        reward_scale: > 0; multiplies the differential reward.
        q_target: > 0.5; the filter objective samples the side points f0·(1 ± 1/(2·q_target)).
        filter_weights: (w_peak, w_q) ≥ 0, not both zero; weights of the filter score.
        observe_fe: append log10 field enhancement and log10 transmittance at f0 to the observation.
        start: ``"random"`` (uniform over valid grid designs) or ``"center"``.
        cache_size: ≥ 0; LRU entries of evaluated designs (0 disables the cache).
        resonance_every: ≥ 0; put ``resonance_hz`` in the step info every this many steps of an
            episode (costs ~300 model evaluations each); 0 never does.
        resonance_window: (lo, hi) with 0 < lo < 1 < hi; the resonance search window is
            [lo·f0, min(hi·f0, diffraction frequency of the design)].
        max_steps_per_action: ≥ 1; grid steps of a continuous action component of ±1
            (continuous environments only).
        eps_gap, eps_substrate, eps_superstrate, metal: materials, as in ``thz.LoopArray``.
    """

    side_x: tuple[float, float, float] = (10e-6, 500e-6, 5e-6)
    side_y: tuple[float, float, float] = (10e-6, 500e-6, 5e-6)
    period_x: tuple[float, float, float] = (20e-6, 1000e-6, 10e-6)
    period_y: tuple[float, float, float] = (20e-6, 1000e-6, 10e-6)
    gap: tuple[float, float, float] = (1e-9, 20e-9, 1e-9)
    thickness: tuple[float, float, float] = (10e-9, 200e-9, 10e-9)
    margin: float = 10e-6
    target_frequency: float = 0.2e12
    objective: str = "field_enhancement"
    reward_scale: float = 1.0
    q_target: float = 20.0
    filter_weights: tuple[float, float] = (0.5, 0.5)
    observe_fe: bool = True
    start: str = "random"
    cache_size: int = 65536
    resonance_every: int = 0
    resonance_window: tuple[float, float] = (0.5, 2.0)
    max_steps_per_action: int = 3
    eps_gap: complex = 9.0
    eps_substrate: complex = 3.8
    eps_superstrate: complex = 1.0
    metal: thz.Drude | str = "gold"

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | NanogapConfig | None = None, **overrides: Any) -> NanogapConfig:
        """Merge ``config`` (a mapping or a config) with keyword ``overrides`` (which win).

        Raises:
            ValueError: an unknown key (the message lists the valid ones) or an invalid value.
        """
        if isinstance(config, NanogapConfig):
            merged = {f.name: getattr(config, f.name) for f in fields(cls)}
        elif config is None or isinstance(config, Mapping):
            merged = dict(config or {})
        else:
            raise ValueError(f"config must be a mapping, a NanogapConfig or None; got config={config!r}")
        merged.update(overrides)
        valid = sorted(f.name for f in fields(cls))
        for key in merged:
            if key not in valid:
                raise ValueError(f"unknown config key {key!r}; valid keys are: {', '.join(valid)}")
        return cls(**merged)

    def __post_init__(self) -> None:
        for name in DESIGN_PARAMETERS:
            lo, hi, step = _real_tuple(name, getattr(self, name), 3, "(min, max, step) in metres")
            if lo <= 0:
                raise ValueError(f"{name} min must be positive (m); got {name}=({lo!r}, {hi!r}, {step!r})")
            if hi <= lo:
                raise ValueError(f"{name} min must be smaller than max (m); got {name}=({lo!r}, {hi!r}, {step!r})")
            if step <= 0:
                raise ValueError(f"{name} step must be positive (m); got {name}=({lo!r}, {hi!r}, {step!r})")
            object.__setattr__(self, name, (lo, hi, step))
        for name, unit in (("margin", "m"), ("target_frequency", "Hz"), ("reward_scale", "dimensionless")):
            value = getattr(self, name)
            if not (_is_real(value) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite ({unit}); got {name}={value!r}")
            object.__setattr__(self, name, float(value))
        if not (_is_real(self.q_target) and math.isfinite(self.q_target) and self.q_target > 0.5):
            raise ValueError(f"q_target must be finite and > 0.5; got q_target={self.q_target!r}")
        object.__setattr__(self, "q_target", float(self.q_target))
        weights = _real_tuple("filter_weights", self.filter_weights, 2, "(w_peak, w_q)")
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError(
                f"filter_weights must be >= 0 and not both zero; got filter_weights={self.filter_weights!r}"
            )
        object.__setattr__(self, "filter_weights", weights)
        window = _real_tuple("resonance_window", self.resonance_window, 2, "(lo, hi)")
        if not (0 < window[0] < 1 < window[1]):
            raise ValueError(
                f"resonance_window must satisfy 0 < lo < 1 < hi; got resonance_window={self.resonance_window!r}"
            )
        object.__setattr__(self, "resonance_window", window)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}; got objective={self.objective!r}")
        if self.start not in _STARTS:
            raise ValueError(f"start must be one of {', '.join(_STARTS)}; got start={self.start!r}")
        if not isinstance(self.observe_fe, bool | np.bool_):
            raise ValueError(f"observe_fe must be a bool; got observe_fe={self.observe_fe!r}")
        object.__setattr__(self, "observe_fe", bool(self.observe_fe))
        for name, low in (("cache_size", 0), ("resonance_every", 0), ("max_steps_per_action", 1)):
            value = getattr(self, name)
            if not (_is_int(value) and value >= low):
                raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")
            object.__setattr__(self, name, int(value))
        # thz.LoopArray validates materials with messages naming the field; any valid geometry will do.
        thz.LoopArray(
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0, **{name: getattr(self, name) for name in (*_MATERIAL_FIELDS, "metal")}
        )

    @property
    def n_max(self) -> float:
        """Largest refractive index of substrate and superstrate (as ``thz.LoopArray`` computes it)."""
        return max(np.sqrt(complex(self.eps_substrate)).real, np.sqrt(complex(self.eps_superstrate)).real)


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _last(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[-1]) if hits.size else None


class DesignGrid:
    """Integer grid of valid designs; index arrays are int64 of shape (..., 6) in DESIGN_PARAMETERS order.

    A design is valid when every index is inside its grid, gap < min(side_x, side_y),
    period ≥ side + margin on both axes (to 1e-6 of the finer side/period step, absorbing float
    rounding) and target_frequency < c/(n_max·max(period_x, period_y)). Lengths are computed
    as min + k·step from the integer index k, so they never drift.

    Attributes:
        sizes: (6,) int64, number of grid points of each parameter.
        values: per parameter, the (size,) float64 grid in metres.
        low, high: (6,) int64, the index box holding every valid design (inclusive).

    Raises:
        ValueError: no valid design exists (the message names the bound that excludes them all).
    """

    def __init__(self, config: NanogapConfig) -> None:
        self.config = config
        self.values = tuple(self._axis(config, name) for name in DESIGN_PARAMETERS)
        self.sizes = np.array([v.size for v in self.values], dtype=np.int64)
        steps = [getattr(config, name)[2] for name in ("side_x", "side_y", "period_x", "period_y")]
        self.tolerance = 1e-6 * min(steps)
        self.low = np.zeros(6, dtype=np.int64)
        self.high = self.sizes - 1
        self._shrink_box()

    @staticmethod
    def _axis(config: NanogapConfig, name: str) -> np.ndarray:
        lo, hi, step = getattr(config, name)
        count = math.floor((hi - lo) / step * (1 + 1e-12)) + 1
        return lo + np.arange(count, dtype=np.int64) * step

    def _value(self, name: str, index: int) -> float:
        return float(self.values[_COLUMN[name]][index])

    def _shrink_box(self) -> None:
        """Tighten ``low``/``high`` to the box of valid designs, or raise if there is none."""
        cfg, col = self.config, _COLUMN
        gap_min = self._value("gap", 0)
        for side, period in _AXES:
            s_lo = _first(self.values[col[side]] > gap_min)
            if s_lo is None:
                raise ValueError(
                    f"gap min must be smaller than the largest {side}; got gap min={gap_min:g} m, "
                    f"{side} max={self._value(side, -1):g} m"
                )
            need = self._value(side, s_lo) + cfg.margin
            p_lo = _first(self._fits(self._value(side, s_lo), self.values[col[period]]))
            if p_lo is None:
                raise ValueError(
                    f"{period} max must be >= the smallest usable {side} + margin = {need:g} m; got {period} max="
                    f"{self._value(period, -1):g} m"
                )
            self.low[col[side]], self.low[col[period]] = s_lo, p_lo
        smallest = max(self._value(period, self.low[col[period]]) for _, period in _AXES)
        bound = thz.C0 / (cfg.n_max * smallest)
        if not cfg.target_frequency < bound:
            raise ValueError(
                f"target_frequency must be below the first diffraction order c/(n_max·period) = {bound:g} Hz of the "
                f"smallest allowed period {smallest:g} m (n_max={cfg.n_max:g}); got target_frequency="
                f"{cfg.target_frequency:g} Hz"
            )
        for side, period in _AXES:
            self.high[col[period]] = _last(self._below_diffraction(self.values[col[period]]))
            self.high[col[side]] = self._largest_side(side, self._value(period, self.high[col[period]]))
        self.high[col["gap"]] = self._largest_gap(min(self._value(side, self.high[col[side]]) for side, _ in _AXES))

    def _fits(self, side: np.ndarray | float, period: np.ndarray | float) -> np.ndarray:
        """period ≥ side + margin, to ``tolerance`` (m)."""
        return np.asarray(period >= side + self.config.margin - self.tolerance)

    def _below_diffraction(self, periods: np.ndarray) -> np.ndarray:
        diffraction = thz.C0 / (self.config.n_max * periods)
        return self.config.target_frequency < diffraction

    def _largest_side(self, side: str, period: float) -> int:
        return _last(self._fits(self.values[_COLUMN[side]], period))

    def _largest_gap(self, side: float) -> int:
        return _last(self.values[_COLUMN["gap"]] < side)

    def lengths(self, index: np.ndarray) -> np.ndarray:
        """(..., 6) int64 grid indices (inside the grid) → (..., 6) float64 lengths, m."""
        index = np.asarray(index)
        return np.stack([self.values[p][index[..., p]] for p in range(6)], axis=-1)

    def valid(self, index: np.ndarray) -> np.ndarray:
        """(n, 6) int64 grid indices, any integers → (n,) bool, True for valid designs."""
        index = np.asarray(index, dtype=np.int64)
        inside = np.all((index >= 0) & (index < self.sizes), axis=-1)
        si = self.lengths(np.clip(index, 0, self.sizes - 1))
        col = _COLUMN
        ok = inside & (si[:, col["gap"]] < np.minimum(si[:, col["side_x"]], si[:, col["side_y"]]))
        for side, period in _AXES:
            ok &= self._fits(si[:, col[side]], si[:, col[period]])
        largest = np.maximum(si[:, col["period_x"]], si[:, col["period_y"]])
        return ok & self._below_diffraction(largest)

    def move(self, index: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply (n, 6) integer ``delta`` to (n, 6) valid ``index``.

        Returns:
            (new index (n, 6) int64, invalid (n,) bool): rows whose move would leave the grid or
            break a constraint keep their old index and are flagged invalid.
        """
        candidate = np.asarray(index, dtype=np.int64) + np.asarray(delta, dtype=np.int64)
        ok = self.valid(candidate)
        return np.where(ok[:, None], candidate, index), ~ok

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A (6,) int64 index drawn uniformly from the valid designs (rejection sampling in ``low..high``)."""
        while True:
            candidates = rng.integers(self.low, self.high, size=(_SAMPLE_BATCH, 6), endpoint=True)
            hit = _first(self.valid(candidates))
            if hit is not None:
                return candidates[hit]

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, 6) int64 indices drawn uniformly and independently from the valid designs."""
        found: list[np.ndarray] = []
        count = 0
        while count < n:
            candidates = rng.integers(self.low, self.high, size=(max(2 * (n - count), _SAMPLE_BATCH), 6), endpoint=True)
            hits = candidates[self.valid(candidates)]
            found.append(hits)
            count += len(hits)
        return np.concatenate(found)[:n]

    def repair(self, index: np.ndarray) -> np.ndarray:
        """Project (n, 6) integer indices onto valid designs, (n, 6) int64.

        Each index is clipped into ``low..high``; then each side is lowered just enough to satisfy
        period ≥ side + margin and the gap just enough to satisfy gap < min(side_x, side_y), as in
        :meth:`center`. Valid rows are returned unchanged. Black-box optimisers propose points in
        the ``low..high`` box and this makes every proposal an evaluable design.
        """
        col = _COLUMN
        index = np.clip(np.asarray(index, dtype=np.int64), self.low, self.high)
        for side, period in _AXES:
            room = self.values[col[period]][index[:, col[period]]] - self.config.margin + self.tolerance
            largest = np.searchsorted(self.values[col[side]], room, side="right") - 1
            index[:, col[side]] = np.minimum(index[:, col[side]], largest)
        smallest_side = np.minimum(*(self.values[col[side]][index[:, col[side]]] for side, _ in _AXES))
        largest_gap = np.searchsorted(self.values[col["gap"]], smallest_side, side="left") - 1
        index[:, col["gap"]] = np.minimum(index[:, col["gap"]], largest_gap)
        return index

    def center(self) -> np.ndarray:
        """(6,) int64: the grid centre made valid.

        Periods are clipped into their valid range, then each side and the gap are lowered just
        enough to satisfy period ≥ side + margin and gap < min(side_x, side_y).
        """
        col = _COLUMN
        index = np.clip((self.sizes - 1) // 2, self.low, self.high)
        for side, period in _AXES:
            largest = self._largest_side(side, self._value(period, index[col[period]]))
            index[col[side]] = min(index[col[side]], largest)
        gap_limit = min(self._value(side, index[col[side]]) for side, _ in _AXES)
        index[col["gap"]] = min(index[col["gap"]], self._largest_gap(gap_limit))
        return index

    def normalise(self, index: np.ndarray) -> np.ndarray:
        """(..., 6) grid indices → (..., 6) float64 positions in [0, 1] (index / (size − 1))."""
        return np.asarray(index) / np.maximum(self.sizes - 1, 1)

    def design(self, index: np.ndarray) -> dict[str, Any]:
        """(6,) index → keyword arguments of ``thz.LoopArray`` (SI floats and the materials)."""
        si = self.lengths(index)
        design: dict[str, Any] = {name: float(si[_COLUMN[name]]) for name in _GEOMETRY_FIELDS}
        design.update({name: getattr(self.config, name) for name in (*_MATERIAL_FIELDS, "metal")})
        return design


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Model response of one design at the target frequency f0.

    Attributes:
        fe_avg: gap-averaged field enhancement (incident-field normalisation).
        t_abs: |t|, transmitted field relative to the incident field.
        transmittance: zero-order power transmittance T(f0).
        objective: the objective value (fe_avg, or the filter score).
        potential: the quantity whose change is the reward (log fe_avg, or the filter score).
    """

    fe_avg: float
    t_abs: float
    transmittance: float
    objective: float
    potential: float


class NanogapCore:
    """Grid, physics, LRU cache, best design, observations and infos shared by every environment.

    Args:
        config: validated settings.
        continuous: Box(-1, 1, (6,)) relative moves instead of Discrete(12) single steps.

    Attributes:
        evaluations: designs evaluated by the model so far.
        cache_hits: requested designs served from the cache (or repeated within one batch).
        best_value: highest objective value seen (−inf before the first evaluation).
        best_index: grid index (6 ints) of that design (None before).
        best_design: ``thz.LoopArray`` keyword arguments of that design (None before).
    """

    def __init__(self, config: NanogapConfig, continuous: bool) -> None:
        self.config = config
        self.grid = DesignGrid(config)
        self.continuous = continuous
        f0 = config.target_frequency
        if config.objective == "filter":
            half_width = 1.0 / (2.0 * config.q_target)
            self.freqs = np.array([f0, f0 * (1.0 - half_width), f0 * (1.0 + half_width)])
        else:
            self.freqs = np.array([f0])
        self.action_space: spaces.Space[Any] = (
            spaces.Box(-1.0, 1.0, (6,), np.float32) if continuous else spaces.Discrete(12)
        )
        self.observation_space = spaces.Box(0.0, 1.0, (8 if config.observe_fe else 6,), np.float32)
        self._cache: OrderedDict[tuple[int, ...], Evaluation] = OrderedDict()
        self.evaluations = 0
        self.cache_hits = 0
        self.best_value = -math.inf
        self.best_index: tuple[int, ...] | None = None
        self.best_design: dict[str, Any] | None = None

    def evaluate(self, index: np.ndarray) -> list[Evaluation]:
        """Evaluate (n, 6) valid indices; designs missing from the cache go to ONE ``thz.spectra`` call."""
        keys = [tuple(int(k) for k in row) for row in np.asarray(index)]
        found: dict[tuple[int, ...], Evaluation] = {}
        missing: dict[tuple[int, ...], None] = {}
        for key in keys:
            if key in found or key in missing:
                self.cache_hits += 1
            elif key in self._cache:
                self._cache.move_to_end(key)
                found[key] = self._cache[key]
                self.cache_hits += 1
            else:
                missing[key] = None
        if missing:
            fresh = dict(zip(missing, self._model(np.array(list(missing), dtype=np.int64))))
            self.evaluations += len(fresh)
            for key, evaluation in fresh.items():
                self._cache[key] = evaluation
                if evaluation.objective > self.best_value:
                    self.best_value = evaluation.objective
                    self.best_index = key
                    self.best_design = self.grid.design(np.array(key))
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
            found.update(fresh)
        return [found[key] for key in keys]

    def _model(self, index: np.ndarray) -> list[Evaluation]:
        cfg = self.config
        si = self.grid.lengths(index)
        batch = thz.LoopArrayBatch(
            **{name: si[:, _COLUMN[name]] for name in _GEOMETRY_FIELDS},
            **{name: getattr(cfg, name) for name in (*_MATERIAL_FIELDS, "metal")},
        )
        response = thz.spectra(batch, self.freqs)
        fe, t_abs, transmittance = response.fe_avg[:, 0], response.t_abs[:, 0], response.transmittance
        if cfg.objective == "filter":
            w_peak, w_q = cfg.filter_weights
            peak = transmittance[:, 0]
            objective = w_peak * peak + w_q * np.maximum(peak - transmittance[:, 1:].mean(axis=1), 0.0)
            potential = objective
        else:
            objective, potential = fe, np.log(np.maximum(fe, _TINY))
        return [
            Evaluation(fe_avg=float(f), t_abs=float(t), transmittance=float(tr), objective=float(o), potential=float(p))
            for f, t, tr, o, p in zip(fe, t_abs, transmittance[:, 0], objective, potential)
        ]

    def start(self, rng: np.random.Generator, start: str) -> np.ndarray:
        """(6,) int64 starting index: uniform over valid designs (``"random"``) or the valid centre."""
        return self.grid.sample(rng) if start == "random" else self.grid.center()

    def reset_start(self, options: Mapping[str, Any] | None) -> str:
        """The start mode of a reset: ``options["start"]`` if given, else ``config.start``."""
        options = dict(options or {})
        start = options.pop("start", self.config.start)
        if options:
            raise ValueError(f"reset options accept only 'start'; got options keys {sorted(options)}")
        if start not in _STARTS:
            raise ValueError(f"options['start'] must be one of {', '.join(_STARTS)}; got start={start!r}")
        return start

    def deltas(self, actions: Any, n: int) -> np.ndarray:
        """A batch of ``n`` actions → (n, 6) int64 grid steps.

        Discrete: integer actions in [0, 12) of shape (n,) (or (), (1,) when n = 1); action 2p is
        −1 step and 2p+1 is +1 step on parameter p. Continuous: (n, 6) (or (6,) when n = 1)
        finite reals, clipped to [−1, 1], scaled by max_steps_per_action and rounded.
        """
        array = np.asarray(actions)
        if self.continuous:
            shapes = ((6,), (1, 6)) if n == 1 else ((n, 6),)
            if array.shape not in shapes or array.dtype.kind not in "iuf":
                raise ValueError(f"action must be real numbers of shape {shapes[0]}; got action={actions!r}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"action must be finite; got action={actions!r}")
            scaled = np.clip(array.reshape(n, 6).astype(np.float64), -1.0, 1.0) * self.config.max_steps_per_action
            return np.rint(scaled).astype(np.int64)
        shapes = ((), (1,), (n,)) if n == 1 else ((n,),)
        if array.shape not in shapes or array.dtype.kind not in "iu":
            raise ValueError(f"action must be integers of shape {shapes[-1]}; got action={actions!r}")
        flat = array.reshape(n).astype(np.int64)
        if np.any((flat < 0) | (flat >= 12)):
            raise ValueError(f"action must lie in [0, 12); got action={actions!r}")
        delta = np.zeros((n, 6), dtype=np.int64)
        delta[np.arange(n), flat // 2] = np.where(flat % 2 == 1, 1, -1)
        return delta

    def observe(self, index: np.ndarray, evaluations: Sequence[Evaluation]) -> np.ndarray:
        """(n, 6) indices and their evaluations → (n, 6 or 8) float32 observations in [0, 1]."""
        columns = [self.grid.normalise(index)]
        if self.config.observe_fe:
            fe = np.array([e.fe_avg for e in evaluations])
            transmittance = np.array([e.transmittance for e in evaluations])
            log_t = np.log10(np.maximum(transmittance, _TINY))
            columns += [np.log10(np.maximum(fe, _TINY))[:, None] / _FE_DECADES, 1.0 + log_t[:, None] / _T_DECADES]
        return np.clip(np.concatenate(columns, axis=1), 0.0, 1.0).astype(np.float32)

    def info(self, index: np.ndarray, evaluation: Evaluation, invalid_move: bool, steps: int) -> dict[str, Any]:
        """A fresh info dict of one design; ``resonance_hz`` only when ``steps`` hits ``resonance_every``."""
        info: dict[str, Any] = {
            "fe_avg": evaluation.fe_avg,
            "t_abs": evaluation.t_abs,
            "transmittance": evaluation.transmittance,
            "objective": evaluation.objective,
            "design": self.grid.design(index),
            "invalid_move": bool(invalid_move),
        }
        every = self.config.resonance_every
        if every and steps > 0 and steps % every == 0:
            info["resonance_hz"] = self.resonance(index).frequency
        return info

    def resonance(self, index: np.ndarray) -> thz.Resonance:
        """Maximum of |t| of the design at (6,) ``index`` within ``resonance_window`` around f0 (slow)."""
        array = thz.LoopArray(**self.grid.design(index))
        lo, hi = self.config.resonance_window
        f0 = self.config.target_frequency
        return thz.resonance(array, lo * f0, min(hi * f0, array.diffraction_frequency))

    def render(self, index: np.ndarray, evaluation: Evaluation) -> str:
        """One text line describing the design at (6,) ``index`` and its evaluation."""
        d = self.grid.design(index)
        return (
            f"side {d['side_x'] * 1e6:.1f}x{d['side_y'] * 1e6:.1f} um, period {d['period_x'] * 1e6:.1f}x"
            f"{d['period_y'] * 1e6:.1f} um, gap {d['gap'] * 1e9:.1f} nm, thickness {d['thickness'] * 1e9:.1f} nm | "
            f"fe_avg {evaluation.fe_avg:.4g}, |t| {evaluation.t_abs:.4g}, objective {evaluation.objective:.4g}"
        )


class _CoreStatistics:
    """Search statistics read from the shared :class:`NanogapCore` (all sub-environments of a vector env)."""

    core: NanogapCore

    @property
    def evaluations(self) -> int:
        """Designs evaluated by the model so far."""
        return self.core.evaluations

    @property
    def cache_hits(self) -> int:
        """Designs served from the cache so far."""
        return self.core.cache_hits

    @property
    def best_value(self) -> float:
        """Highest objective value evaluated so far (−inf before the first evaluation)."""
        return self.core.best_value

    @property
    def best_design(self) -> dict[str, Any] | None:
        """``thz.LoopArray`` keyword arguments of the best design so far (None before)."""
        return self.core.best_design


def _check_render_mode(render_mode: str | None, metadata: Mapping[str, Any]) -> None:
    if render_mode is not None and render_mode not in metadata["render_modes"]:
        raise ValueError(
            f"render_mode must be None or one of {metadata['render_modes']}; got render_mode={render_mode!r}"
        )


class NanogapLoopEnv(_CoreStatistics, gym.Env[np.ndarray, Any]):
    """Inverse design of a THz nanogap-loop array, one grid step at a time.

    ## Description

    A rectangular array of rectangular nanogap loops in a gold film (``analytic.thz``) is
    described by six lengths: side_x, side_y (loop sides), period_x, period_y (lattice
    periods), gap (gap width) and thickness (film thickness). Each lies on a configurable grid
    (defaults: sides 10–500 µm step 5 µm, periods 20–1000 µm step 10 µm, gap 1–20 nm step
    1 nm, thickness 10–200 nm step 10 nm). A design is valid when period ≥ side + margin
    (10 µm) on both axes, gap < both sides, and the target frequency f0 (0.2 THz) lies below
    the first diffraction order c/(n_max·max(period)). The agent moves one parameter by one
    grid step per action; the analytic model scores each new design at f0.

    ## Action Space

    ``Discrete(12)``: action 2p moves parameter p (in the order side_x, side_y, period_x,
    period_y, gap, thickness) one grid step down, action 2p+1 one step up. Python ints,
    NumPy integers, 0-d arrays and arrays of shape (1,) are accepted. A move that leaves the
    grid or breaks a constraint keeps the design and sets ``info["invalid_move"] = True``.

    ## Observation Space

    ``Box(0, 1, (8,), float32)``: the six grid positions index/(size − 1) in the design order,
    then clip(log10(fe_avg)/5, 0, 1) and clip(1 + log10(T(f0))/8, 0, 1), the transmittance
    at f0 on a logarithmic scale from 1e-8 (0) to 1 (1). With
    ``observe_fe=False`` only the six positions, ``Box(0, 1, (6,), float32)``.

    ## Rewards

    Differential: ``reward_scale · (Φ(new design) − Φ(old design))``, so an episode's return is
    the total improvement and an invalid move earns 0.

    - ``objective="field_enhancement"`` (default): value = fe_avg(f0), the gap-averaged field
      enhancement normalised to the incident field; Φ = ln fe_avg.
    - ``objective="filter"``: a high-Q transmission peak at f0 (Opt. Mater. Express 13(11),
      3384 (2023)). With T0 = T(f0) and T_side the mean transmittance at
      f± = f0·(1 ± 1/(2·q_target)), one batched call per step,
      value = Φ = w_peak·T0 + w_q·T0·clip(1 − T_side/T0, 0, 1) = w_peak·T0 + w_q·max(T0 − T_side, 0),
      where (w_peak, w_q) = ``filter_weights`` (default (0.5, 0.5)). The first term rewards
      transmission at f0, the second a peak narrower than f0/q_target; for a passive array the
      score lies in [0, w_peak + w_q].

    ## Starting State

    ``start="random"`` (default): a design drawn uniformly from the valid grid designs with
    ``self.np_random`` (rejection sampling). ``start="center"``: the grid centre, periods
    clipped into their valid range, then sides and gap lowered just enough to be valid.
    ``reset(options={"start": ...})`` overrides the setting for one episode.

    ## Episode End

    The episode never terminates (``terminated`` is always False). It is truncated after
    ``max_episode_steps`` steps (128) by the ``TimeLimit`` wrapper of the registration.

    ## Arguments

    ``config`` (a mapping or :class:`NanogapConfig`) and keyword ``overrides`` are merged into a
    :class:`NanogapConfig` (see it for every key); unknown keys or invalid values raise
    ``ValueError``. ``render_mode`` is None or ``"ansi"`` (a text line).

    ```python
    import gymnasium as gym
    import envs  # registers the ids
    env = gym.make("workbench/NanogapLoop-v0", target_frequency=0.3e12, objective="filter")
    ```

    Every step returns a fresh ``info`` with ``fe_avg``, ``t_abs`` and ``transmittance`` at
    f0, ``objective`` (the value above), ``invalid_move`` and ``design`` (the
    ``thz.LoopArray`` keyword arguments, SI units: ``thz.LoopArray(**info["design"])``).
    ``resonance_hz`` is added only every ``resonance_every`` steps (default 0: never), as it
    costs ~300 model evaluations; :meth:`resonance` computes it on demand.

    Evaluations are cached by grid index in an LRU of ``cache_size`` entries; ``evaluations``
    and ``cache_hits`` count model evaluations and cache hits, and ``best_value`` /
    ``best_design`` track the best design evaluated over the environment's lifetime.

    ## Vectorized environment

    ``gym.make_vec("workbench/NanogapLoop-v0", num_envs=n)`` builds a
    :class:`NanogapLoopVectorEnv`, which evaluates the whole batch in one model call per
    step with next-step autoreset.

    ## Version History

    * v0: initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    continuous: ClassVar[bool] = False

    def __init__(
        self,
        config: Mapping[str, Any] | NanogapConfig | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        self.config = NanogapConfig.from_mapping(config, **overrides)
        _check_render_mode(render_mode, self.metadata)
        self.render_mode = render_mode
        self.core = NanogapCore(self.config, self.continuous)
        self.action_space = self.core.action_space
        self.observation_space = self.core.observation_space
        self._index: np.ndarray | None = None
        self._evaluation: Evaluation | None = None
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``options`` may hold ``"start"`` (``"random"`` or ``"center"``)."""
        super().reset(seed=seed)
        start = self.core.reset_start(options)
        self._index = self.core.start(self.np_random, start)
        (self._evaluation,) = self.core.evaluate(self._index[None])
        self._steps = 0
        return self._observation(), self.core.info(self._index, self._evaluation, False, 0)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Move the design; returns (obs (6 or 8,) float32, reward, False, False, info)."""
        if self._index is None or self._evaluation is None:
            raise ResetNeeded("call reset() before step()")
        index, invalid = self.core.grid.move(self._index[None], self.core.deltas(action, 1))
        (evaluation,) = self.core.evaluate(index)
        reward = self.config.reward_scale * (evaluation.potential - self._evaluation.potential)
        self._index, self._evaluation = index[0], evaluation
        self._steps += 1
        info = self.core.info(self._index, evaluation, bool(invalid[0]), self._steps)
        return self._observation(), float(reward), False, False, info

    def _observation(self) -> np.ndarray:
        return self.core.observe(self._index[None], [self._evaluation])[0]

    def render(self) -> str | None:
        """The current design as a text line when ``render_mode="ansi"``, else None."""
        if self.render_mode is None or self._index is None:
            return None
        return self.core.render(self._index, self._evaluation)

    def resonance(self) -> thz.Resonance:
        """Resonance (max |t|) of the current design in ``resonance_window`` around f0, on demand (slow)."""
        if self._index is None:
            raise ResetNeeded("call reset() before resonance()")
        return self.core.resonance(self._index)

    @property
    def design(self) -> dict[str, Any] | None:
        """``thz.LoopArray`` keyword arguments of the current design (SI), None before reset."""
        return None if self._index is None else self.core.grid.design(self._index)


class NanogapLoopContinuousEnv(NanogapLoopEnv):
    """Inverse design of a THz nanogap-loop array with relative moves of all six parameters.

    ## Description

    As :class:`NanogapLoopEnv`, but one action moves every parameter at once.

    ## Action Space

    ``Box(-1, 1, (6,), float32)`` in the order side_x, side_y, period_x, period_y, gap,
    thickness. Component a (clipped to [−1, 1]) moves its parameter by
    round(a · max_steps_per_action) grid steps (default ±3). If the moved design leaves the
    grid or breaks a constraint, the whole move is rejected, the design is kept and
    ``info["invalid_move"] = True``.

    ## Observation Space

    As :class:`NanogapLoopEnv`: ``Box(0, 1, (8,), float32)``, or ``(6,)`` with
    ``observe_fe=False``.

    ## Rewards

    As :class:`NanogapLoopEnv`: ``reward_scale · (Φ(new) − Φ(old))`` with Φ = ln fe_avg
    (``"field_enhancement"``) or the filter score (``"filter"``).

    ## Starting State

    As :class:`NanogapLoopEnv` (``start="random"`` or ``"center"``).

    ## Episode End

    Never terminates; truncated after 128 steps by the registration's ``TimeLimit``.

    ## Arguments

    As :class:`NanogapLoopEnv`; ``max_steps_per_action`` (default 3) sets the move scale.

    ```python
    env = gym.make("workbench/NanogapLoopContinuous-v0", max_steps_per_action=5)
    ```

    ## Vectorized environment

    ``gym.make_vec("workbench/NanogapLoopContinuous-v0", num_envs=n)`` builds a
    :class:`NanogapLoopContinuousVectorEnv`.

    ## Version History

    * v0: initial version.
    """

    continuous: ClassVar[bool] = True


class NanogapLoopVectorEnv(_CoreStatistics, VectorEnv):
    """``num_envs`` nanogap-loop design episodes evaluated in one model call per step.

    Same spaces, rewards and starting states as :class:`NanogapLoopEnv`; ``single_*_space``
    equal the single environment's and ``observation_space``/``action_space`` are batched.
    Episodes are truncated after ``max_episode_steps`` steps each and never terminate.

    Autoreset is next-step (``AutoresetMode.NEXT_STEP``, the default): the step after an
    episode ends ignores that sub-environment's action, draws a new starting design from its own
    generator and returns the reset observation with reward 0 and terminated = truncated = False.
    With ``autoreset_mode=AutoresetMode.SAME_STEP`` (what stable-baselines3 expects) the step that
    ends an episode already returns the reset observation, the final one in ``infos["final_obs"]``
    (mask ``infos["_final_obs"]``) and the final info in ``infos["final_info"]``.

    Seeding: ``reset(seed=s)`` seeds sub-environment i with s + i, ``reset(seed=[s0, s1, …])``
    with s_i, so sub-environment i follows ``NanogapLoopEnv`` reset with the same seed.

    Returns per step: observations (num_envs, 6 or 8) float32, rewards (num_envs,) float64,
    terminations and truncations (num_envs,) bool, and infos in the Gymnasium vector
    convention: each single-environment key holds a (num_envs,) array with a boolean mask
    under ``"_" + key``; ``infos["design"]`` is a dict of such arrays, one per
    ``thz.LoopArray`` field. The cache and best design are shared by all sub-environments.

    Args:
        num_envs: number of sub-environments, ≥ 1.
        config, overrides: as :class:`NanogapLoopEnv`.
        max_episode_steps: steps per episode, ≥ 1 (``make_vec`` passes the registered 128).
        render_mode: None or ``"ansi"`` (a tuple of text lines).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default) or ``AutoresetMode.SAME_STEP``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi"],
        "render_fps": 4,
        **({"autoreset_mode": AutoresetMode.NEXT_STEP} if AutoresetMode is not None else {}),
    }
    continuous: ClassVar[bool] = False

    def __init__(
        self,
        num_envs: int = 1,
        config: Mapping[str, Any] | NanogapConfig | None = None,
        max_episode_steps: int = 128,
        render_mode: str | None = None,
        autoreset_mode: Any = None,
        **overrides: Any,
    ) -> None:
        modes = (None,) if AutoresetMode is None else (None, AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
        if autoreset_mode not in modes:
            raise ValueError(f"autoreset_mode must be AutoresetMode.NEXT_STEP or SAME_STEP; got {autoreset_mode!r}")
        self.same_step = AutoresetMode is not None and autoreset_mode == AutoresetMode.SAME_STEP
        if self.same_step:
            self.metadata = {**self.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        for name, value in (("num_envs", num_envs), ("max_episode_steps", max_episode_steps)):
            if not (_is_int(value) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
        self.config = NanogapConfig.from_mapping(config, **overrides)
        _check_render_mode(render_mode, self.metadata)
        self.render_mode = render_mode
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        self.core = NanogapCore(self.config, self.continuous)
        self.single_action_space = self.core.action_space
        self.single_observation_space = self.core.observation_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._rngs: list[np.random.Generator] | None = None
        self._index: np.ndarray | None = None
        self._evaluations: list[Evaluation] = []
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=np.bool_)
        self._start = self.config.start

    def _seed(self, seed: int | Sequence[int | None] | None) -> None:
        if seed is None:
            if self._rngs is None:
                self._rngs = [seeding.np_random()[0] for _ in range(self.num_envs)]
            return
        if _is_int(seed):
            super().reset(seed=int(seed))
            seeds: list[int | None] = [int(seed) + i for i in range(self.num_envs)]
        elif (
            isinstance(seed, Sequence)
            and len(seed) == self.num_envs
            and all(s is None or (_is_int(s) and s >= 0) for s in seed)
        ):
            seeds = [None if s is None else int(s) for s in seed]
        else:
            raise ValueError(f"seed must be None, an int or a list of {self.num_envs} ints or None; got seed={seed!r}")
        self._rngs = [seeding.np_random(s)[0] for s in seeds]

    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-environment; ``options`` may hold ``"start"`` (kept for autoresets)."""
        self._seed(seed)
        self._start = self.core.reset_start(options)
        self._index = np.stack([self.core.start(rng, self._start) for rng in self._rngs])
        self._evaluations = self.core.evaluate(self._index)
        self._steps[:] = 0
        self._prev_done[:] = False
        invalid = np.zeros(self.num_envs, dtype=np.bool_)
        return self.core.observe(self._index, self._evaluations), self._infos(invalid)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-environment (next-step autoreset of those whose episode ended)."""
        if self._index is None:
            raise ResetNeeded("call reset() before step()")
        done = self._prev_done
        delta = self.core.deltas(actions, self.num_envs)
        delta[done] = 0
        index, invalid = self.core.grid.move(self._index, delta)
        for i in np.flatnonzero(done):
            index[i] = self.core.start(self._rngs[i], self._start)
        invalid[done] = False
        evaluations = self.core.evaluate(index)
        rewards = self.config.reward_scale * np.array(
            [new.potential - old.potential for new, old in zip(evaluations, self._evaluations)]
        )
        rewards[done] = 0.0
        self._steps += 1
        self._steps[done] = 0
        terminations = np.zeros(self.num_envs, dtype=np.bool_)
        truncations = self._steps >= self.max_episode_steps
        self._prev_done = terminations | truncations
        self._index, self._evaluations = index, evaluations
        observations = self.core.observe(index, evaluations)
        infos = self._infos(invalid)
        if self.same_step and self._prev_done.any():
            observations, infos = self._reset_finished(observations, infos)
        return observations, rewards, terminations, truncations, infos

    def _reset_finished(self, observations: np.ndarray, infos: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """Same-step autoreset: restart finished sub-environments now, keeping their final obs/info."""
        done = np.flatnonzero(self._prev_done)
        final_obs = np.array(observations)
        final_info = infos
        for i in done:
            self._index[i] = self.core.start(self._rngs[i], self._start)
        fresh = self.core.evaluate(self._index[done])
        for i, evaluation in zip(done, fresh):
            self._evaluations[i] = evaluation
        self._steps[done] = 0
        self._prev_done[:] = False
        observations = self.core.observe(self._index, self._evaluations)
        infos = self._infos(np.zeros(self.num_envs, dtype=np.bool_))
        infos["final_obs"], infos["_final_obs"] = final_obs, np.zeros(self.num_envs, dtype=np.bool_)
        infos["_final_obs"][done] = True
        infos["final_info"], infos["_final_info"] = final_info, infos["_final_obs"].copy()
        return observations, infos

    def _infos(self, invalid: np.ndarray) -> dict[str, Any]:
        infos: dict[str, Any] = {}
        for i in range(self.num_envs):
            info = self.core.info(self._index[i], self._evaluations[i], bool(invalid[i]), int(self._steps[i]))
            infos = self._add_info(infos, info, i)
        return infos

    def render(self) -> tuple[str, ...] | None:
        """One text line per sub-environment when ``render_mode="ansi"``, else None."""
        if self.render_mode is None or self._index is None:
            return None
        return tuple(self.core.render(index, ev) for index, ev in zip(self._index, self._evaluations))

    def resonance(self, env_index: int) -> thz.Resonance:
        """Resonance of sub-environment ``env_index``'s current design, on demand (slow)."""
        if self._index is None:
            raise ResetNeeded("call reset() before resonance()")
        if not (_is_int(env_index) and 0 <= env_index < self.num_envs):
            raise ValueError(f"env_index must be an integer in [0, {self.num_envs}); got env_index={env_index!r}")
        return self.core.resonance(self._index[env_index])


class NanogapLoopContinuousVectorEnv(NanogapLoopVectorEnv):
    """Vector version of :class:`NanogapLoopContinuousEnv`: actions (num_envs, 6) float32 in [−1, 1]."""

    continuous: ClassVar[bool] = True
