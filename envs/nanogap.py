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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium.error import ResetNeeded

from analytic import thz

from ._common import (
    CoreBase,
    GridBase,
    GridConfig,
    GridEnv,
    GridVectorEnv,
    check_model,
    first,
    flag,
    grid_range,
    grid_values,
    integer_at_least,
    is_int,
    is_real,
    last,
    one_of,
    positive,
    real_tuple,
)
from ._render import nanogap_frame

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

OBJECTIVES = ("field_enhancement", "filter", "filter_spectrum")
"""Values accepted by ``NanogapConfig.objective``."""

_COLUMN = {name: i for i, name in enumerate(DESIGN_PARAMETERS)}
_AXES = (("side_x", "period_x"), ("side_y", "period_y"))
_FE_DECADES = 5.0
_T_DECADES = 8.0
_TINY = 1e-300
_IMAGE_POINTS = 96
# Upper ends of the design grids, m: mm-scale loops and periods, sub-µm gaps and films (the model's regime).
_LENGTH_LIMITS = {"side_x": 0.01, "side_y": 0.01, "period_x": 0.02, "period_y": 0.02, "gap": 1e-6, "thickness": 10e-6}
_MAX_SPECTRUM_POINTS = 4096


@dataclass(frozen=True)
class NanogapConfig(GridConfig):
    """Settings of the nanogap-loop environments; build one with :meth:`from_mapping`.

    Attributes:
        side_x, side_y: (min, max, step) of the loop sides, m. The grid is min + k·step, k ≥ 0,
            up to the largest value ≤ max; at most 100,000 values per parameter, and maxima below
            10 mm (sides), 20 mm (periods), 1 µm (gap) and 10 µm (thickness).
        period_x, period_y: (min, max, step) of the lattice periods, m.
        gap: (min, max, step) of the gap width, m.
        thickness: (min, max, step) of the metal thickness, m.
        margin: m, > 0; a design needs period ≥ side + margin on both axes.
        target_frequency: f0, Hz; a design needs f0 below its first diffraction order
            c/(n_max·max(period_x, period_y)), n_max = max Re√ε of substrate and superstrate.
        objective: ``"field_enhancement"``, ``"filter"`` (the three-frequency proxy) or
            ``"filter_spectrum"`` (the resonance read from a whole spectrum); see :class:`NanogapLoopEnv`.
        q_target: > 0.5; the filter objective samples the side points f0·(1 ± 1/(2·q_target));
            ``filter_spectrum`` wants a peak of quality factor at least q_target within f0/(2·q_target).
        spectrum_points: 16 … 4096; frequencies of the ``filter_spectrum`` spectrum, spread
            evenly over ``resonance_window``·f0.
        filter_weights: (w_peak, w_q) ≥ 0, not both zero; weights of the filter score.
        observe_fe: append log10 field enhancement and log10 transmittance at f0 to the observation.
        resonance_every: ≥ 0; put ``resonance_hz`` in the step info every this many steps of an
            episode (costs ~300 model evaluations each); 0 never does.
        resonance_window: (lo, hi) with 0 < lo < 1 < hi; the resonance search window is
            [lo·f0, min(hi·f0, diffraction frequency of the design)].
        eps_gap, eps_substrate, eps_superstrate, metal: materials, as in ``thz.LoopArray``.
        reward_scale, start, cache_size, max_steps_per_action, move_steps: the keys every grid
            environment takes: reward multiplier (> 0, default 1), ``"random"`` or ``"center"``
            start, LRU cache entries (default 65536), grid steps of a continuous action of ±1
            (default 3) and the step sizes of the discrete moves (default (1,)).
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
    q_target: float = 20.0
    spectrum_points: int = 128
    filter_weights: tuple[float, float] = (0.5, 0.5)
    observe_fe: bool = True
    resonance_every: int = 0
    resonance_window: tuple[float, float] = (0.5, 2.0)
    eps_gap: complex = thz.Materials.eps_gap
    eps_substrate: complex = thz.Materials.eps_substrate
    eps_superstrate: complex = thz.Materials.eps_superstrate
    metal: thz.Drude | str = thz.Materials.metal

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in DESIGN_PARAMETERS:
            self._set(name, grid_range(name, getattr(self, name), "m", high=_LENGTH_LIMITS[name]))
        self._set("margin", positive("margin", self.margin, "m"))
        self._set("target_frequency", positive("target_frequency", self.target_frequency, "Hz"))
        if not (is_real(self.q_target) and math.isfinite(self.q_target) and self.q_target > 0.5):
            raise ValueError(f"q_target must be finite and > 0.5; got q_target={self.q_target!r}")
        self._set("q_target", float(self.q_target))
        self._set("spectrum_points", integer_at_least("spectrum_points", self.spectrum_points, 16))
        if self.spectrum_points > _MAX_SPECTRUM_POINTS:
            raise ValueError(
                f"spectrum_points must be <= {_MAX_SPECTRUM_POINTS}; got spectrum_points={self.spectrum_points!r}"
            )
        weights = real_tuple("filter_weights", self.filter_weights, 2, "(w_peak, w_q)")
        if min(weights) < 0 or max(weights) == 0:
            raise ValueError(
                f"filter_weights must be >= 0 and not both zero; got filter_weights={self.filter_weights!r}"
            )
        self._set("filter_weights", weights)
        window = real_tuple("resonance_window", self.resonance_window, 2, "(lo, hi)")
        if not (0 < window[0] < 1 < window[1]):
            raise ValueError(
                f"resonance_window must satisfy 0 < lo < 1 < hi; got resonance_window={self.resonance_window!r}"
            )
        self._set("resonance_window", window)
        one_of("objective", self.objective, OBJECTIVES)
        self._set("observe_fe", flag("observe_fe", self.observe_fe))
        self._set("resonance_every", integer_at_least("resonance_every", self.resonance_every, 0))
        thz.Materials.of(self)  # validates the materials with messages naming the field

    @property
    def n_max(self) -> float:
        """Largest refractive index of substrate and superstrate (as ``thz.LoopArray`` computes it)."""
        return max(np.sqrt(complex(self.eps_substrate)).real, np.sqrt(complex(self.eps_superstrate)).real)


class DesignGrid(GridBase):
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
        self.values = tuple(grid_values(*getattr(config, name)) for name in DESIGN_PARAMETERS)
        self.sizes = np.array([v.size for v in self.values], dtype=np.int64)
        steps = [getattr(config, name)[2] for name in ("side_x", "side_y", "period_x", "period_y")]
        self.tolerance = 1e-6 * min(steps)
        self.low = np.zeros(6, dtype=np.int64)
        self.high = self.sizes - 1
        self._shrink_box()

    def _value(self, name: str, index: int) -> float:
        return float(self.values[_COLUMN[name]][index])

    def _shrink_box(self) -> None:
        """Tighten ``low``/``high`` to the box of valid designs, or raise if there is none."""
        cfg, col = self.config, _COLUMN
        gap_min = self._value("gap", 0)
        for side, period in _AXES:
            s_lo = first(self.values[col[side]] > gap_min)
            if s_lo is None:
                raise ValueError(
                    f"gap min must be smaller than the largest {side}; got gap min={gap_min:g} m, "
                    f"{side} max={self._value(side, -1):g} m"
                )
            need = self._value(side, s_lo) + cfg.margin
            p_lo = first(self._fits(self._value(side, s_lo), self.values[col[period]]))
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
            self.high[col[period]] = last(self._below_diffraction(self.values[col[period]]))
            self.high[col[side]] = self._largest_side(side, self._value(period, self.high[col[period]]))
        self.high[col["gap"]] = self._largest_gap(min(self._value(side, self.high[col[side]]) for side, _ in _AXES))

    def _fits(self, side: np.ndarray | float, period: np.ndarray | float) -> np.ndarray:
        """period ≥ side + margin, to ``tolerance`` (m)."""
        return np.asarray(period >= side + self.config.margin - self.tolerance)

    def _below_diffraction(self, periods: np.ndarray) -> np.ndarray:
        diffraction = thz.C0 / (self.config.n_max * periods)
        return self.config.target_frequency < diffraction

    def _largest_side(self, side: str, period: float) -> int:
        return last(self._fits(self.values[_COLUMN[side]], period))

    def _largest_gap(self, side: float) -> int:
        return last(self.values[_COLUMN["gap"]] < side)

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

    def design(self, index: np.ndarray) -> dict[str, Any]:
        """(6,) index → keyword arguments of ``thz.LoopArray`` (SI floats and the materials)."""
        si = self.lengths(index)
        design: dict[str, Any] = {name: float(si[_COLUMN[name]]) for name in thz.GEOMETRY_FIELDS}
        return design | {name: getattr(self.config, name) for name in thz.MATERIAL_FIELDS}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Model response of one design at the target frequency f0.

    Attributes:
        fe_avg: gap-averaged field enhancement (incident-field normalisation).
        t_abs: |t|, transmitted field relative to the incident field.
        transmittance: zero-order power transmittance T(f0).
        objective: the objective value (fe_avg, or the filter score).
        potential: the quantity whose change is the reward (log fe_avg, or the filter score).
        peak_hz, peak_transmittance, peak_q: the transmission peak nearest f0 read from the
            spectrum (``filter_spectrum`` only; None otherwise): centre (Hz), T there, f/FWHM.
    """

    fe_avg: float
    t_abs: float
    transmittance: float
    objective: float
    potential: float
    peak_hz: float | None = None
    peak_transmittance: float | None = None
    peak_q: float | None = None


class NanogapCore(CoreBase[Evaluation]):
    """Grid, physics, LRU cache, best design, observations and infos shared by every environment.

    One ``model.spectra`` call per :meth:`evaluate` of designs missing from the cache; the cache,
    best tracking and action parsing are those of :class:`envs._common.CoreBase`.

    Args:
        config: validated settings.
        continuous: Box(-1, 1, (6,)) relative moves instead of Discrete(12) single steps.
        model: the physics, any ``thz.SpectraModel`` (a surrogate, say); None → ``thz.ModalModel()``,
            the Numba modal expansion. Every objective reads its numbers from this model; only
            ``resonance_hz`` (``resonance_every``) and :meth:`resonance` use the modal expansion.

    Attributes:
        evaluations: designs evaluated by the model so far.
        cache_hits: requested designs served from the cache (or repeated within one batch).
        best_value: highest objective value seen (−inf before the first evaluation).
        best_index: grid index (6 ints) of that design (None before).
        best_design: ``thz.LoopArray`` keyword arguments of that design (None before).
    """

    def __init__(self, config: NanogapConfig, continuous: bool, model: thz.SpectraModel | None = None) -> None:
        super().__init__(config, DesignGrid(config), continuous, 8 if config.observe_fe else 6)
        self.model: thz.SpectraModel = check_model(model, thz.SpectraModel, thz.ModalModel())
        self.materials = thz.Materials.of(config)
        f0 = config.target_frequency
        if config.objective == "filter":
            half_width = 1.0 / (2.0 * config.q_target)
            self.freqs = np.array([f0, f0 * (1.0 - half_width), f0 * (1.0 + half_width)])
        elif config.objective == "filter_spectrum":  # f0 first, then the analysed band
            lo, hi = config.resonance_window
            self.freqs = np.concatenate([[f0], np.linspace(lo * f0, hi * f0, config.spectrum_points)])
        else:
            self.freqs = np.array([f0])

    def _model(self, index: np.ndarray) -> list[Evaluation]:
        cfg = self.config
        response = self.model.spectra(self._batch(index), self.freqs)
        fe, t_abs, transmittance = response.fe_avg[:, 0], response.t_abs[:, 0], response.transmittance
        if cfg.objective == "filter_spectrum":
            return self._spectrum_evaluations(response)
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

    def _spectrum_evaluations(self, response: thz.Spectrum) -> list[Evaluation]:
        """``filter_spectrum``: score = T_p · min(1, Q/q_target) / (1 + (2·q_target·(f_p − f0)/f0)²)."""
        cfg = self.config
        f0, q_target = cfg.target_frequency, cfg.q_target
        band = np.where(response.above_diffraction[:, 1:], 0.0, response.transmittance[:, 1:])
        peaks = thz.transmission_peaks(self.freqs[1:], band, f0)
        detuning = 2.0 * q_target * (peaks.frequency - f0) / f0
        score = peaks.transmittance * np.minimum(1.0, peaks.q / q_target) / (1.0 + detuning**2)
        return [
            Evaluation(
                fe_avg=float(response.fe_avg[k, 0]),
                t_abs=float(response.t_abs[k, 0]),
                transmittance=float(response.transmittance[k, 0]),
                objective=float(score[k]),
                potential=float(score[k]),
                peak_hz=float(peaks.frequency[k]),
                peak_transmittance=float(peaks.transmittance[k]),
                peak_q=float(peaks.q[k]),
            )
            for k in range(len(score))
        ]

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
        if evaluation.peak_hz is not None:
            info |= {"peak_hz": evaluation.peak_hz, "peak_transmittance": evaluation.peak_transmittance}
            info["peak_q"] = evaluation.peak_q
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

    def _batch(self, index: np.ndarray) -> thz.LoopArrayBatch:
        """(n, 6) grid indices → the batch of loop arrays the model evaluates."""
        si = self.grid.lengths(index)
        return thz.LoopArrayBatch(
            **{name: si[:, _COLUMN[name]] for name in thz.GEOMETRY_FIELDS}, **self.materials.as_dict()
        )

    def image(self, index: np.ndarray, evaluation: Evaluation) -> np.ndarray:
        """(H, W, 3) uint8 frame: the unit cell at (6,) ``index`` and the model's |t|, FE_avg over ``resonance_window``."""
        design = self.grid.design(index)
        lo, hi = self.config.resonance_window
        f0 = self.config.target_frequency
        freqs = np.linspace(lo * f0, min(hi * f0, thz.LoopArray(**design).diffraction_frequency), _IMAGE_POINTS)
        spec = self.model.spectra(self._batch(index[None]), freqs)
        return nanogap_frame(design, freqs, spec.t_abs[0], spec.fe_avg[0], f0, self.render(index, evaluation))

    def render(self, index: np.ndarray, evaluation: Evaluation) -> str:
        """One text line describing the design at (6,) ``index`` and its evaluation."""
        d = self.grid.design(index)
        return (
            f"side {d['side_x'] * 1e6:.1f}x{d['side_y'] * 1e6:.1f} um, period {d['period_x'] * 1e6:.1f}x"
            f"{d['period_y'] * 1e6:.1f} um, gap {d['gap'] * 1e9:.1f} nm, thickness {d['thickness'] * 1e9:.1f} nm | "
            f"fe_avg {evaluation.fe_avg:.4g}, |t| {evaluation.t_abs:.4g}, objective {evaluation.objective:.4g}"
        )


class NanogapLoopEnv(GridEnv):
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
    period_y, gap, thickness) one grid step down, action 2p+1 one step up. With
    ``move_steps=(1, 4)`` (say) the space is ``Discrete(24)``: actions 12 … 23 move by 4 steps. Python ints,
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
      score lies in [0, w_peak + w_q]. A proxy: three frequencies say nothing of where the
      resonance actually lies.
    - ``objective="filter_spectrum"``: the real resonance, read from the whole spectrum of
      ``spectrum_points`` frequencies over ``resonance_window``·f0 (points above the design's
      first diffraction order count as T = 0): the transmission peak nearest f0, its centre f_p
      (parabolic refinement), peak transmittance T_p and Q = f_p/FWHM (``thz.transmission_peaks``).
      value = Φ = T_p · min(1, Q/q_target) / (1 + (2·q_target·(f_p − f0)/f0)²), in [0, 1]: a
      full, narrow enough peak at f0 scores 1, and detuning by half the target width halves it.
      Costs ``spectrum_points`` + 1 frequencies per design (what cheap surrogate spectra are
      for); ``info`` adds ``peak_hz``, ``peak_transmittance`` and ``peak_q``.

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
    ``ValueError``. ``render_mode`` is None, ``"ansi"`` (a text line) or ``"rgb_array"`` (an
    (H, W, 3) uint8 frame of the unit cell and its spectrum around f0; what stable-baselines3 and
    Gymnasium's ``RecordVideo`` ask for). ``model`` (keyword, not a config key) is the physics:
    any ``thz.SpectraModel`` (a surrogate, say); None (default) is ``thz.ModalModel()``, the
    Numba modal expansion.

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

    * v0: initial version; the ``model`` keyword and the ``move_steps`` key added later, with no change of
      behaviour at their defaults.
    """

    config_class = NanogapConfig
    core_class = NanogapCore

    def resonance(self) -> thz.Resonance:
        """Resonance (max |t|) of the current design in ``resonance_window`` around f0, on demand (slow)."""
        if self._index is None:
            raise ResetNeeded("call reset() before resonance()")
        return self.core.resonance(self._index)


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


class NanogapLoopVectorEnv(GridVectorEnv):
    """``num_envs`` nanogap-loop design episodes evaluated in one ``thz.spectra`` call per step.

    Same spaces, rewards and starting states as :class:`NanogapLoopEnv`; the stepping, autoreset
    (next-step by default, ``autoreset_mode=AutoresetMode.SAME_STEP`` for stable-baselines3) and
    seeding rules are those of :class:`envs._common.GridVectorEnv`: ``reset(seed=s)`` seeds
    sub-environment i with s + i, so it follows ``NanogapLoopEnv`` reset with the same seed.
    Observations are (num_envs, 6 or 8) float32; ``infos["design"]`` is a dict of (num_envs,)
    arrays, one per ``thz.LoopArray`` field.

    Arguments are those of :class:`envs._common.GridVectorEnv` (``num_envs``, ``config`` and
    ``overrides`` as :class:`NanogapLoopEnv`, ``max_episode_steps``, ``render_mode``, ``autoreset_mode``,
    ``model``).
    """

    config_class = NanogapConfig
    core_class = NanogapCore

    def resonance(self, env_index: int) -> thz.Resonance:
        """Resonance of sub-environment ``env_index``'s current design, on demand (slow)."""
        if self._index is None:
            raise ResetNeeded("call reset() before resonance()")
        if not (is_int(env_index) and 0 <= env_index < self.num_envs):
            raise ValueError(f"env_index must be an integer in [0, {self.num_envs}); got env_index={env_index!r}")
        return self.core.resonance(self._index[env_index])


class NanogapLoopContinuousVectorEnv(NanogapLoopVectorEnv):
    """Vector version of :class:`NanogapLoopContinuousEnv`: actions (num_envs, 6) float32 in [−1, 1]."""

    continuous: ClassVar[bool] = True
