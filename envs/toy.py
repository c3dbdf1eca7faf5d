"""A toy design family with a closed-form objective: the fast stand-in for physics in tests and demos.

An agent walks a point on a ``dim``-dimensional integer grid of the unit cube under a budget
constraint (the mean coordinate may not exceed ``budget``, like the acoustic mass budget), scored
by a smooth, mildly multimodal bowl whose optimum moves with ``target_frequency``. The model is a
few NumPy operations (no Numba compilation), so searches, sweeps and resume logic can be exercised
in milliseconds with exactly the machinery of the physics families: the same grid, core, cache,
vector env, ``model=`` injection and search family record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ._common import (
    CoreBase,
    GridBase,
    GridConfig,
    GridEnv,
    GridVectorEnv,
    check_model,
    integer_at_least,
    is_real,
    one_of,
    positive,
)

__all__ = [
    "BowlModel",
    "ToyConfig",
    "ToyContinuousEnv",
    "ToyContinuousVectorEnv",
    "ToyCore",
    "ToyEnv",
    "ToyGrid",
    "ToyModel",
    "ToyVectorEnv",
]

OBJECTIVES = ("bowl",)
"""Values accepted by ``ToyConfig.objective``."""

MAX_DIM = 8
MAX_SIZE = 1001
_RIPPLE = 0.1  # amplitude of the cosine ripples on the bowl
_RIPPLE_WAVES = 3.0  # half-waves of the ripple across the unit interval


@runtime_checkable
class ToyModel(Protocol):
    """The batched model call of the toy family: (n, dim) points of the unit cube → (n,) values."""

    def values(self, points: np.ndarray) -> np.ndarray:
        """(n, dim) float64 in [0, 1] → (n,) float64 objective values (higher is better), finite."""
        ...


@dataclass(frozen=True)
class BowlModel:
    """v(u) = −Σ (u_i − c_i)² + 0.1·Σ cos(3π(u_i − c_i)): a bowl with ripples, maximal (0.1·dim) at u = c.

    Attributes:
        centre: (dim,) the optimum c in the unit cube.
    """

    centre: tuple[float, ...]

    def values(self, points: np.ndarray) -> np.ndarray:
        """(n, dim) points → (n,) values."""
        offset = np.asarray(points, dtype=np.float64) - np.asarray(self.centre)
        return -np.sum(offset**2, axis=1) + _RIPPLE * np.sum(np.cos(_RIPPLE_WAVES * np.pi * offset), axis=1)


def bowl_centre(dim: int, target_frequency: float) -> tuple[float, ...]:
    """The optimum of the bowl: c_i = 0.3 + 0.2·sin(2π·f·(i + 1)/(dim + 1)), inside the budget of 0.5."""
    return tuple(0.3 + 0.2 * math.sin(2 * math.pi * target_frequency * (i + 1) / (dim + 1)) for i in range(dim))


@dataclass(frozen=True)
class ToyConfig(GridConfig):
    """Settings of the toy environments; build one with :meth:`from_mapping`.

    Attributes:
        dim: design parameters, 1 … 8.
        size: grid points per parameter, 2 … 1001 (positions k/(size − 1)).
        budget: (0, 1]; a design is valid when its mean position is at most this.
        objective: ``"bowl"``.
        target_frequency: > 0, "Hz" only by name: moves the bowl's optimum (see :func:`bowl_centre`).
        reward_scale, start, cache_size, max_steps_per_action, move_steps: as every grid environment.
    """

    dim: int = 4
    size: int = 21
    budget: float = 0.6
    objective: str = "bowl"
    target_frequency: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set("dim", integer_at_least("dim", self.dim, 1))
        self._set("size", integer_at_least("size", self.size, 2))
        if self.dim > MAX_DIM or self.size > MAX_SIZE:
            raise ValueError(
                f"dim must be <= {MAX_DIM} and size <= {MAX_SIZE}; got dim={self.dim!r}, size={self.size!r}"
            )
        if not (is_real(self.budget) and 0 < self.budget <= 1):
            raise ValueError(f"budget must lie in (0, 1]; got budget={self.budget!r}")
        self._set("budget", float(self.budget))
        one_of("objective", self.objective, OBJECTIVES)
        self._set("target_frequency", positive("target_frequency", self.target_frequency, "Hz"))


class ToyGrid(GridBase):
    """The integer grid {0, …, size − 1}^dim with mean position ≤ budget."""

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.sizes = np.full(config.dim, config.size, dtype=np.int64)
        self.low = np.zeros(config.dim, dtype=np.int64)
        self.high = self.sizes - 1

    def valid(self, index: np.ndarray) -> np.ndarray:
        """(n, dim) indices → (n,) bool: inside the grid and within the budget."""
        index = np.asarray(index)
        inside = np.all((index >= 0) & (index < self.sizes), axis=1)
        return inside & (self.normalise(index).mean(axis=1) <= self.config.budget * (1 + 1e-12))

    def center(self) -> np.ndarray:
        """(dim,) the grid centre, lowered onto the budget if needed."""
        return self.repair(((self.sizes - 1) // 2)[None])[0]

    def repair(self, index: np.ndarray) -> np.ndarray:
        """Clip into the grid, then scale the positions down (floor) until the mean fits the budget."""
        index = np.clip(np.asarray(index, dtype=np.int64), 0, self.high)
        mean = self.normalise(index).mean(axis=1, keepdims=True)
        scale = np.minimum(1.0, self.config.budget / np.maximum(mean, 1e-300))
        return np.floor(index * scale + 1e-9).astype(np.int64)

    def design(self, index: np.ndarray) -> dict[str, Any]:
        """(dim,) index → ``{"u0": …, "u1": …}``, positions in [0, 1]."""
        return {f"u{i}": float(u) for i, u in enumerate(self.normalise(np.asarray(index)))}


@dataclass(frozen=True, slots=True)
class ToyEvaluation:
    """Model value of one design: ``objective`` = ``potential`` = v(u)."""

    objective: float
    potential: float


class ToyCore(CoreBase[ToyEvaluation]):
    """Grid, model calls, LRU cache and best design of the toy environments.

    Args:
        config: validated settings.
        continuous: Box(-1, 1, (dim,)) relative moves instead of Discrete(2·dim·len(move_steps)) moves.
        model: any :class:`ToyModel`; None → :class:`BowlModel` centred at :func:`bowl_centre`.
    """

    def __init__(self, config: ToyConfig, continuous: bool, model: ToyModel | None = None) -> None:
        super().__init__(config, ToyGrid(config), continuous, config.dim + 1)
        default = BowlModel(bowl_centre(config.dim, config.target_frequency))
        self.model: ToyModel = check_model(model, ToyModel, default)

    def _model(self, index: np.ndarray) -> list[ToyEvaluation]:
        values = self.model.values(self.grid.normalise(index))
        return [ToyEvaluation(float(v), float(v)) for v in values]

    def observe(self, index: np.ndarray, evaluations: Sequence[ToyEvaluation]) -> np.ndarray:
        """(n, dim) indices → (n, dim + 1) float32: positions, then clip(1 + v/dim, 0, 1)."""
        values = np.array([e.objective for e in evaluations])
        columns = [self.grid.normalise(index), (1.0 + values / self.config.dim)[:, None]]
        return np.clip(np.concatenate(columns, axis=1), 0.0, 1.0).astype(np.float32)

    def info(self, index: np.ndarray, evaluation: ToyEvaluation, invalid_move: bool, steps: int) -> dict[str, Any]:
        """``objective``, ``invalid_move`` and ``design`` of the design at ``index``."""
        return {
            "objective": evaluation.objective,
            "invalid_move": bool(invalid_move),
            "design": self.grid.design(index),
        }

    def render(self, index: np.ndarray, evaluation: ToyEvaluation) -> str:
        """One text line: the positions and the value."""
        position = ", ".join(f"{u:.2f}" for u in self.grid.design(index).values())
        return f"u = ({position}) | value {evaluation.objective:.4f}"


class ToyEnv(GridEnv):
    """A point on a budgeted grid, moved one step at a time towards the top of a rippled bowl.

    ## Description

    The fast stand-in for a physics family: same grid, cache, vector env and search machinery,
    a closed-form objective. Design: ``dim`` positions u_i = k_i/(size − 1) with mean(u) ≤
    ``budget``.

    ## Action Space

    ``Discrete(2·dim)``: action 2p lowers u_p by one grid step, 2p+1 raises it; a move that
    leaves the grid or the budget keeps the design (``info["invalid_move"]``).

    ## Observation Space

    ``Box(0, 1, (dim + 1,), float32)``: the positions, then clip(1 + v/dim, 0, 1).

    ## Rewards

    ``reward_scale · (v(new) − v(old))`` with v of :class:`BowlModel` (or the injected model).

    ## Starting State

    ``start="random"``: uniform over the valid designs; ``"center"``: the grid centre, repaired.

    ## Episode End

    Never terminates; truncated after 128 steps by the registration's ``TimeLimit``.

    ## Arguments

    ``config`` / keyword overrides → :class:`ToyConfig`; ``render_mode`` None or ``"ansi"``;
    ``model`` any :class:`ToyModel` (None: the bowl).

    ## Version History

    * v0: initial version.
    """

    config_class = ToyConfig
    core_class = ToyCore


class ToyContinuousEnv(ToyEnv):
    """:class:`ToyEnv` with relative moves of every position at once, Box(-1, 1, (dim,))."""

    continuous: ClassVar[bool] = True


class ToyVectorEnv(GridVectorEnv):
    """Native vector env of :class:`ToyEnv` (arguments of :class:`envs._common.GridVectorEnv`)."""

    config_class = ToyConfig
    core_class = ToyCore


class ToyContinuousVectorEnv(ToyVectorEnv):
    """Vector version of :class:`ToyContinuousEnv`."""

    continuous: ClassVar[bool] = True
