"""Machinery shared by the grid-design environments (THz nanogap loops, acoustic plate cavities).

A family module supplies three pieces and gets Gymnasium environments from them:

- a frozen config dataclass derived from :class:`GridConfig` (mapping constructor, common keys);
- a design grid derived from :class:`GridBase` (``valid``, ``center``, ``repair``, ``design``);
- a core derived from :class:`CoreBase`, built as ``core_class(config, continuous, model=model)``
  (``_model``: one call of the injected physics model for the designs missing from the LRU cache,
  scored by the objective; ``observe``, ``info``, ``render``).

Every environment takes ``model=`` as a constructor keyword (not a config key, so configs stay
plain JSON): any object honouring the family's protocol in ``analytic`` (``thz.SpectraModel``,
``acoustic.CavityModel``), such as a learned surrogate; None means the family's analytic model.

:class:`GridEnv` (single) and :class:`GridVectorEnv` (native vector env, next-step or same-step
autoreset) are generic over them; a family subclasses both and sets ``config_class`` and
``core_class``. Design indices are int64 arrays of shape (..., d), d = number of design parameters.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from ._render import grid_frame

try:
    from gymnasium.vector import AutoresetMode
except ImportError:  # gymnasium < 1.1 has no AutoresetMode; next-step autoreset is its only mode
    AutoresetMode = None

RENDER_MODES = ["ansi", "rgb_array"]
"""Render modes of every environment: a text line, or an (H, W, 3) uint8 frame of the design and its response."""

STARTS = ("random", "center")
"""Values accepted by the ``start`` config key and ``reset(options={"start": ...})``."""

_SAMPLE_BATCH = 64
MAX_MOVE_SIZES = 8
"""Most step sizes in ``move_steps``."""
MAX_MOVE_STEP = 10_000
"""Largest step size in ``move_steps``, grid steps."""
MAX_GRID_POINTS = 100_000
"""Most grid values of one design parameter (memory and validity tables scale with it)."""


# --------------------------------------------------------------------------- validation helpers


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers (not bools)."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value: Any) -> bool:
    """True for Python and NumPy integers and floats (not bools)."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def real_tuple(name: str, value: Any, length: int, meaning: str) -> tuple[float, ...]:
    """``value`` as ``length`` finite floats, else ValueError naming ``name`` and ``meaning``."""
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence | np.ndarray)
        or len(value) != length
        or not all(is_real(v) and math.isfinite(v) for v in value)
    ):
        raise ValueError(f"{name} must be {length} finite numbers {meaning}; got {name}={value!r}")
    return tuple(float(v) for v in value)


def positive(name: str, value: Any, unit: str) -> float:
    """``value`` as a positive finite float, else ValueError naming ``name`` and ``unit``."""
    if not (is_real(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite ({unit}); got {name}={value!r}")
    return float(value)


def integer_at_least(name: str, value: Any, low: int) -> int:
    """``value`` as an int ≥ ``low``, else ValueError."""
    if not (is_int(value) and value >= low):
        raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")
    return int(value)


def one_of(name: str, value: Any, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options``, else ValueError listing them."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}; got {name}={value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool (Python or NumPy), else ValueError."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a bool; got {name}={value!r}")
    return bool(value)


def grid_range(
    name: str, value: Any, unit: str, low: float = 0.0, open_low: bool = True, high: float = math.inf
) -> tuple[float, float, float]:
    """A grid ``(min, max, step)`` as floats with low < min (low ≤ min if not ``open_low``), min < max < high, step > 0.

    Raises:
        ValueError: naming ``name``, the violated bound and the value.
    """
    lo, hi, step = real_tuple(name, value, 3, f"(min, max, step) in {unit}")
    got = f"got {name}=({lo!r}, {hi!r}, {step!r})"
    if lo < low or (open_low and lo == low):
        bound = "positive" if open_low and low == 0 else f"{'>' if open_low else '>='} {low:g}"
        raise ValueError(f"{name} min must be {bound} ({unit}); {got}")
    if hi <= lo:
        raise ValueError(f"{name} min must be smaller than max ({unit}); {got}")
    if hi >= high:
        raise ValueError(f"{name} max must be < {high:g} ({unit}); {got}")
    if step <= 0:
        raise ValueError(f"{name} step must be positive ({unit}); {got}")
    if (hi - lo) / step >= MAX_GRID_POINTS:
        raise ValueError(
            f"{name} has {math.floor((hi - lo) / step) + 1:,} grid values, more than {MAX_GRID_POINTS:,}: raise the step "
            f"({unit}); {got}"
        )
    return lo, hi, step


def grid_values(lo: float, hi: float, step: float) -> np.ndarray:
    """The grid lo + k·step, k ≥ 0, up to the largest value ≤ hi (to 1e-12 relative), float64."""
    count = math.floor((hi - lo) / step * (1 + 1e-12)) + 1
    return lo + np.arange(count, dtype=np.int64) * step


def first(mask: np.ndarray) -> int | None:
    """Index of the first True of a 1-D mask, None if there is none."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def last(mask: np.ndarray) -> int | None:
    """Index of the last True of a 1-D mask, None if there is none."""
    hits = np.flatnonzero(mask)
    return int(hits[-1]) if hits.size else None


def check_model(model: Any, protocol: type, default: Any) -> Any:
    """``model`` if it honours ``protocol`` (a runtime-checkable Protocol), ``default`` for None, else ValueError."""
    if model is None:
        return default
    if not isinstance(model, protocol):
        methods = ", ".join(name for name in vars(protocol) if not name.startswith("_"))
        raise ValueError(
            f"model must honour {protocol.__module__.split('._')[0]}.{protocol.__name__} (methods: {methods}); "
            f"got model={model!r}"
        )
    return model


# --------------------------------------------------------------------------- config

C = TypeVar("C", bound="GridConfig")


@dataclass(frozen=True)
class GridConfig:
    """Keys every grid-design environment accepts; family configs derive from this dataclass.

    Attributes:
        reward_scale: > 0; multiplies the differential reward.
        start: ``"random"`` (uniform over valid grid designs) or ``"center"`` (the valid grid centre).
        cache_size: ≥ 0; LRU entries of evaluated designs (0 disables the cache).
        max_steps_per_action: ≥ 1; grid steps of a continuous action component of ±1
            (continuous environments only).
        move_steps: the grid-step sizes of the discrete moves, distinct integers in [1, 10,000]
            in increasing order, at most 8; default (1,), one step. With k sizes the action space
            is Discrete(2·d·k): action a moves parameter (a mod 2d) // 2 by
            ±move_steps[a // 2d] (up when a is odd). Coarse moves cross a grid of hundreds of
            values in a few steps (discrete environments only).
    """

    reward_scale: float = 1.0
    start: str = "random"
    cache_size: int = 65536
    max_steps_per_action: int = 3
    move_steps: tuple[int, ...] = (1,)

    @classmethod
    def from_mapping(cls: type[C], config: Mapping[str, Any] | C | None = None, **overrides: Any) -> C:
        """Merge ``config`` (a mapping or a config) with keyword ``overrides`` (which win).

        Raises:
            ValueError: an unknown key (the message lists the valid ones) or an invalid value.
        """
        if isinstance(config, cls):
            merged = {f.name: getattr(config, f.name) for f in fields(cls)}
        elif config is None or isinstance(config, Mapping):
            merged = dict(config or {})
        else:
            raise ValueError(f"config must be a mapping, a {cls.__name__} or None; got config={config!r}")
        merged.update(overrides)
        valid = sorted(f.name for f in fields(cls))
        for key in merged:
            if key not in valid:
                raise ValueError(f"unknown config key {key!r}; valid keys are: {', '.join(valid)}")
        return cls(**merged)

    def __post_init__(self) -> None:
        self._set("reward_scale", positive("reward_scale", self.reward_scale, "dimensionless"))
        one_of("start", self.start, STARTS)
        self._set("cache_size", integer_at_least("cache_size", self.cache_size, 0))
        self._set("max_steps_per_action", integer_at_least("max_steps_per_action", self.max_steps_per_action, 1))
        steps = self.move_steps
        if (
            isinstance(steps, str)
            or not isinstance(steps, Sequence | np.ndarray)
            or not 1 <= len(steps) <= MAX_MOVE_SIZES
            or not all(is_int(k) and 1 <= k <= MAX_MOVE_STEP for k in steps)
            or any(b <= a for a, b in zip(steps[:-1], steps[1:]))
        ):
            raise ValueError(
                f"move_steps must be 1 to {MAX_MOVE_SIZES} increasing integers in [1, {MAX_MOVE_STEP:,}]; "
                f"got move_steps={steps!r}"
            )
        self._set("move_steps", tuple(int(k) for k in steps))

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised value on the frozen instance (from ``__post_init__`` only)."""
        object.__setattr__(self, name, value)


# --------------------------------------------------------------------------- grid and core


class GridBase(ABC):
    """Integer grid of designs; index arrays are int64 of shape (..., d).

    Subclasses set ``sizes`` ((d,) int64, grid points per parameter) and ``low``/``high`` ((d,)
    int64, the inclusive index box holding every valid design), and implement :meth:`valid`,
    :meth:`center`, :meth:`repair` and :meth:`design`.
    """

    sizes: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def dim(self) -> int:
        """d, the number of design parameters."""
        return len(self.sizes)

    @abstractmethod
    def valid(self, index: np.ndarray) -> np.ndarray:
        """(n, d) grid indices, any integers → (n,) bool, True for valid designs."""

    @abstractmethod
    def center(self) -> np.ndarray:
        """(d,) int64: the grid centre made valid."""

    @abstractmethod
    def repair(self, index: np.ndarray) -> np.ndarray:
        """Project (n, d) integer indices in the ``low..high`` box onto valid designs, (n, d) int64."""

    @abstractmethod
    def design(self, index: np.ndarray) -> dict[str, Any]:
        """(d,) index → the design as a mapping of SI values."""

    def move(self, index: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply (n, d) integer ``delta`` to (n, d) valid ``index``.

        Returns:
            (new index (n, d) int64, invalid (n,) bool): rows whose move would leave the grid or
            break a constraint keep their old index and are flagged invalid.
        """
        candidate = np.asarray(index, dtype=np.int64) + np.asarray(delta, dtype=np.int64)
        ok = self.valid(candidate)
        return np.where(ok[:, None], candidate, index), ~ok

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A (d,) int64 index drawn uniformly from the valid designs (rejection sampling in ``low..high``)."""
        while True:
            candidates = rng.integers(self.low, self.high, size=(_SAMPLE_BATCH, self.dim), endpoint=True)
            hit = first(self.valid(candidates))
            if hit is not None:
                return candidates[hit]

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, d) int64 indices drawn uniformly and independently from the valid designs."""
        found: list[np.ndarray] = []
        count = 0
        while count < n:
            size = (max(2 * (n - count), _SAMPLE_BATCH), self.dim)
            candidates = rng.integers(self.low, self.high, size=size, endpoint=True)
            hits = candidates[self.valid(candidates)]
            found.append(hits)
            count += len(hits)
        return np.concatenate(found)[:n]

    def normalise(self, index: np.ndarray) -> np.ndarray:
        """(..., d) grid indices → (..., d) float64 positions in [0, 1] (index / (size − 1))."""
        return np.asarray(index) / np.maximum(self.sizes - 1, 1)


class Scored(Protocol):
    """What the core needs of an evaluation: the objective (higher is better) and the reward potential."""

    objective: float
    potential: float


E = TypeVar("E", bound=Scored)


class CoreBase(ABC, Generic[E]):
    """Grid, physics calls, LRU cache, best design and action parsing shared by every environment.

    Args:
        config: validated settings.
        grid: the design grid.
        continuous: Box(-1, 1, (d,)) relative moves instead of Discrete(2·d·len(move_steps)) moves.
        observation_size: length of the Box(0, 1) float32 observation.

    Attributes:
        evaluations: designs evaluated by the model so far.
        cache_hits: requested designs served from the cache (or repeated within one batch).
        best_value: highest objective value seen (−inf before the first evaluation).
        best_index: grid index (d ints) of that design (None before).
        best_design: the design mapping of that design (None before).
    """

    def __init__(self, config: GridConfig, grid: GridBase, continuous: bool, observation_size: int) -> None:
        self.config = config
        self.grid = grid
        self.continuous = continuous
        d = grid.dim
        self.action_space: spaces.Space[Any] = (
            spaces.Box(-1.0, 1.0, (d,), np.float32) if continuous else spaces.Discrete(2 * d * len(config.move_steps))
        )
        self.observation_space = spaces.Box(0.0, 1.0, (observation_size,), np.float32)
        self._cache: OrderedDict[tuple[int, ...], E] = OrderedDict()
        self.evaluations = 0
        self.cache_hits = 0
        self.best_value = -math.inf
        self.best_index: tuple[int, ...] | None = None

    @property
    def best_design(self) -> dict[str, Any] | None:
        """The design mapping of ``best_index`` (None before the first evaluation)."""
        return None if self.best_index is None else self.grid.design(np.array(self.best_index))

    def state(self) -> dict[str, Any]:
        """The search statistics as a JSON-ready mapping (for checkpoints): best value and index, counters."""
        return {
            "best_value": self.best_value,
            "best_index": None if self.best_index is None else list(self.best_index),
            "evaluations": self.evaluations,
            "cache_hits": self.cache_hits,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Set the statistics from a :meth:`state` mapping (the cache stays as it is).

        Raises:
            ValueError: a key is missing, or the best index is not a valid design of this grid.
        """
        missing = sorted({"best_value", "best_index", "evaluations", "cache_hits"} - set(state))
        if missing:
            raise ValueError(f"a core state needs the keys {', '.join(missing)}; got keys {sorted(state)}")
        index = state["best_index"]
        if index is not None:
            row = np.asarray(index, dtype=np.int64)
            if row.shape != (self.grid.dim,) or not self.grid.valid(row[None])[0]:
                raise ValueError(f"best_index must be a valid design index of {self.grid.dim} ints; got {index!r}")
            index = tuple(int(k) for k in row)
        self.best_value = float(state["best_value"])
        self.best_index = index
        self.evaluations = integer_at_least("evaluations", state["evaluations"], 0)
        self.cache_hits = integer_at_least("cache_hits", state["cache_hits"], 0)

    @abstractmethod
    def _model(self, index: np.ndarray) -> list[E]:
        """Evaluate (n, d) valid indices, all distinct and uncached, in one batched physics call."""

    @abstractmethod
    def observe(self, index: np.ndarray, evaluations: Sequence[E]) -> np.ndarray:
        """(n, d) indices and their evaluations → (n, observation_size) float32 observations in [0, 1]."""

    @abstractmethod
    def info(self, index: np.ndarray, evaluation: E, invalid_move: bool, steps: int) -> dict[str, Any]:
        """A fresh info dict of the design at (d,) ``index``."""

    @abstractmethod
    def render(self, index: np.ndarray, evaluation: E) -> str:
        """One text line describing the design at (d,) ``index`` and its evaluation."""

    def image(self, index: np.ndarray, evaluation: E) -> np.ndarray:
        """(H, W, 3) uint8 frame of the design at (d,) ``index``; families override it to draw their physics.

        This default draws the design's grid positions under the text line of :meth:`render`.
        """
        return grid_frame(self.grid.normalise(index), self.render(index, evaluation))

    def evaluate(self, index: np.ndarray) -> list[E]:
        """Evaluate (n, d) valid indices; designs missing from the cache go to ONE :meth:`_model` call."""
        keys = [tuple(int(k) for k in row) for row in np.asarray(index)]
        found: dict[tuple[int, ...], E] = {}
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
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
            found.update(fresh)
        return [found[key] for key in keys]

    def start(self, rng: np.random.Generator, start: str) -> np.ndarray:
        """(d,) int64 starting index: uniform over valid designs (``"random"``) or the valid centre."""
        return self.grid.sample(rng) if start == "random" else self.grid.center()

    def reset_start(self, options: Mapping[str, Any] | None) -> str:
        """The start mode of a reset: ``options["start"]`` if given, else ``config.start``."""
        options = dict(options or {})
        start = options.pop("start", self.config.start)
        if options:
            raise ValueError(f"reset options accept only 'start'; got options keys {sorted(options)}")
        if start not in STARTS:
            raise ValueError(f"options['start'] must be one of {', '.join(STARTS)}; got start={start!r}")
        return start

    def deltas(self, actions: Any, n: int) -> np.ndarray:
        """A batch of ``n`` actions → (n, d) int64 grid steps.

        Discrete: integer actions in [0, 2·d·k) of shape (n,) (or (), (1,) when n = 1), k =
        len(move_steps); action a = 2dj + 2p moves parameter p down by move_steps[j] grid steps and
        a = 2dj + 2p + 1 up. Continuous: (n, d) (or (d,) when n = 1)
        finite reals, clipped to [−1, 1], scaled by max_steps_per_action and rounded.
        """
        d = self.grid.dim
        array = np.asarray(actions)
        if self.continuous:
            shapes = ((d,), (1, d)) if n == 1 else ((n, d),)
            if array.shape not in shapes or array.dtype.kind not in "iuf":
                raise ValueError(f"action must be real numbers of shape {shapes[0]}; got action={actions!r}")
            if not np.all(np.isfinite(array)):
                raise ValueError(f"action must be finite; got action={actions!r}")
            scaled = np.clip(array.reshape(n, d).astype(np.float64), -1.0, 1.0) * self.config.max_steps_per_action
            return np.rint(scaled).astype(np.int64)
        shapes = ((), (1,), (n,)) if n == 1 else ((n,),)
        if array.shape not in shapes or array.dtype.kind not in "iu":
            raise ValueError(f"action must be integers of shape {shapes[-1]}; got action={actions!r}")
        flat = array.reshape(n).astype(np.int64)
        count = int(self.action_space.n)
        if np.any((flat < 0) | (flat >= count)):
            raise ValueError(f"action must lie in [0, {count}); got action={actions!r}")
        size = np.asarray(self.config.move_steps, dtype=np.int64)[flat // (2 * d)]
        within = flat % (2 * d)
        delta = np.zeros((n, d), dtype=np.int64)
        delta[np.arange(n), within // 2] = np.where(within % 2 == 1, size, -size)
        return delta


# --------------------------------------------------------------------------- environments


class CoreOwner:
    """Owner of the shared core (all sub-environments of a vector env) and its search statistics."""

    core: CoreBase
    config_class: ClassVar[type[GridConfig]]
    core_class: ClassVar[type[CoreBase]]
    continuous: ClassVar[bool] = False

    def _build_core(
        self, config: Mapping[str, Any] | GridConfig | None, render_mode: str | None, model: Any, overrides: dict
    ) -> None:
        """Set ``config`` (merged with ``overrides``), ``render_mode`` and the ``core``; raise ValueError on bad input."""
        self.config = self.config_class.from_mapping(config, **overrides)
        check_render_mode(render_mode, self.metadata)
        self.render_mode = render_mode
        self.core = self.core_class(self.config, self.continuous, model=model)

    def _render_one(self, index: np.ndarray, evaluation: Any) -> str | np.ndarray:
        """The text line (``"ansi"``) or the (H, W, 3) uint8 frame (``"rgb_array"``) of one design."""
        if self.render_mode == "rgb_array":
            return self.core.image(index, evaluation)
        return self.core.render(index, evaluation)

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
        """Design mapping (SI values) of the best design so far (None before)."""
        return self.core.best_design


def check_render_mode(render_mode: str | None, metadata: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``render_mode`` is None or listed in ``metadata["render_modes"]``."""
    if render_mode is not None and render_mode not in metadata["render_modes"]:
        raise ValueError(
            f"render_mode must be None or one of {metadata['render_modes']}; got render_mode={render_mode!r}"
        )


class GridEnv(CoreOwner, gym.Env[np.ndarray, Any]):
    """One design episode on a grid: each step moves the design and scores it with the core.

    Subclasses set ``config_class`` (a :class:`GridConfig` subclass), ``core_class`` (called as
    ``core_class(config, continuous, model=model)``) and ``continuous``, and carry the family's
    documentation.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": RENDER_MODES, "render_fps": 4}

    def __init__(
        self,
        config: Mapping[str, Any] | GridConfig | None = None,
        render_mode: str | None = None,
        model: Any = None,
        **overrides: Any,
    ) -> None:
        self._build_core(config, render_mode, model, overrides)
        self.action_space = self.core.action_space
        self.observation_space = self.core.observation_space
        self._index: np.ndarray | None = None
        self._evaluation: Any = None
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
        """Move the design; returns (observation float32, reward, False, False, info)."""
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

    def render(self) -> str | np.ndarray | None:
        """The current design: a text line (``"ansi"``), an (H, W, 3) uint8 frame (``"rgb_array"``) or None."""
        if self.render_mode is None or self._index is None:
            return None
        return self._render_one(self._index, self._evaluation)

    @property
    def design(self) -> dict[str, Any] | None:
        """Design mapping (SI values) of the current design, None before reset."""
        return None if self._index is None else self.core.grid.design(self._index)


class GridVectorEnv(CoreOwner, VectorEnv):
    """``num_envs`` design episodes evaluated in one batched model call per step.

    Same spaces, rewards and starting states as the family's single env; ``single_*_space``
    equal the single environment's and ``observation_space``/``action_space`` are batched.
    Episodes are truncated after ``max_episode_steps`` steps each and never terminate.

    Autoreset is next-step (``AutoresetMode.NEXT_STEP``, the default): the step after an
    episode ends ignores that sub-environment's action, draws a new starting design from its own
    generator and returns the reset observation with reward 0 and terminated = truncated = False.
    With ``autoreset_mode=AutoresetMode.SAME_STEP`` (what stable-baselines3 expects) the step that
    ends an episode already returns the reset observation, the final one in ``infos["final_obs"]``
    (mask ``infos["_final_obs"]``) and the final info in ``infos["final_info"]``.

    Seeding: ``reset(seed=s)`` seeds sub-environment i with s + i, ``reset(seed=[s0, s1, …])``
    with s_i, so sub-environment i follows the single env's reset with the same seed.

    Budgets: setting ``active = k`` (0 ≤ k < num_envs) makes the following steps move and
    evaluate only sub-environments 0 … k − 1; the others keep their design and step counter and
    return their last observation with reward 0 and no flags. A search uses it to spend an
    evaluation budget exactly on its last vector step; None (the default) steps all of them.

    Returns per step: observations (num_envs, observation size) float32, rewards (num_envs,)
    float64, terminations and truncations (num_envs,) bool, and infos in the Gymnasium vector
    convention: each single-environment key holds a (num_envs,) array with a boolean mask under
    ``"_" + key``; ``infos["design"]`` is a dict of such arrays, one per design key. The cache and
    best design are shared by all sub-environments.

    Args:
        num_envs: number of sub-environments, ≥ 1.
        config, overrides: as the single env.
        max_episode_steps: steps per episode, ≥ 1 (``make_vec`` passes the registered value).
        render_mode: None, ``"ansi"`` (a tuple of text lines) or ``"rgb_array"`` (a tuple of frames).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default) or ``AutoresetMode.SAME_STEP``.
        model: the family's physics model (see the module docstring); None → the analytic model.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": RENDER_MODES,
        "render_fps": 4,
        **({"autoreset_mode": AutoresetMode.NEXT_STEP} if AutoresetMode is not None else {}),
    }

    def __init__(
        self,
        num_envs: int = 1,
        config: Mapping[str, Any] | GridConfig | None = None,
        max_episode_steps: int = 128,
        render_mode: str | None = None,
        autoreset_mode: Any = None,
        model: Any = None,
        **overrides: Any,
    ) -> None:
        modes = (None,) if AutoresetMode is None else (None, AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
        if autoreset_mode not in modes:
            raise ValueError(f"autoreset_mode must be AutoresetMode.NEXT_STEP or SAME_STEP; got {autoreset_mode!r}")
        self.same_step = AutoresetMode is not None and autoreset_mode == AutoresetMode.SAME_STEP
        if self.same_step:
            self.metadata = {**self.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.num_envs = integer_at_least("num_envs", num_envs, 1)
        self.max_episode_steps = integer_at_least("max_episode_steps", max_episode_steps, 1)
        self._build_core(config, render_mode, model, overrides)
        self.single_action_space = self.core.action_space
        self.single_observation_space = self.core.observation_space
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._rngs: list[np.random.Generator] | None = None
        self._index: np.ndarray | None = None
        self._evaluations: list[Any] = []
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=np.bool_)
        self._start = self.config.start
        self.active: int | None = None

    def _seed(self, seed: int | Sequence[int | None] | None) -> None:
        if seed is None:
            if self._rngs is None:
                self._rngs = [seeding.np_random()[0] for _ in range(self.num_envs)]
            return
        if is_int(seed):
            super().reset(seed=int(seed))
            seeds: list[int | None] = [int(seed) + i for i in range(self.num_envs)]
        elif (
            isinstance(seed, Sequence)
            and len(seed) == self.num_envs
            and all(s is None or (is_int(s) and s >= 0) for s in seed)
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
        frozen = np.zeros(self.num_envs, dtype=np.bool_)
        if self.active is not None:
            frozen[integer_at_least("active", self.active, 0) :] = True
        done = self._prev_done & ~frozen
        delta = self.core.deltas(actions, self.num_envs)
        delta[done | frozen] = 0
        index, invalid = self.core.grid.move(self._index, delta)
        for i in np.flatnonzero(done):
            index[i] = self.core.start(self._rngs[i], self._start)
        invalid[done | frozen] = False
        live = np.flatnonzero(~frozen)
        evaluations = list(self._evaluations)
        for i, evaluation in zip(live, self.core.evaluate(index[live])):
            evaluations[i] = evaluation
        rewards = self.config.reward_scale * np.array(
            [new.potential - old.potential for new, old in zip(evaluations, self._evaluations)]
        )
        rewards[done | frozen] = 0.0
        self._steps[~frozen] += 1
        self._steps[done] = 0
        terminations = np.zeros(self.num_envs, dtype=np.bool_)
        truncations = (self._steps >= self.max_episode_steps) & ~frozen
        self._prev_done = (terminations | truncations) | (self._prev_done & frozen)
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

    def render(self) -> tuple[str, ...] | tuple[np.ndarray, ...] | None:
        """One text line (``"ansi"``) or (H, W, 3) uint8 frame (``"rgb_array"``) per sub-environment, else None."""
        if self.render_mode is None or self._index is None:
            return None
        return tuple(self._render_one(index, ev) for index, ev in zip(self._index, self._evaluations))
