"""The settings of one search (:class:`SearchConfig`); importing this module does not import torch."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from envs import MAX_MOVE_SIZES, MAX_MOVE_STEP

from ..agents import BASELINES, CONTINUOUS_ONLY
from ..agents._settings import resolve_agent_options, rollout_length
from ..families import FAMILIES

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_STEPS = 100_000_000
"""Largest budget of one search (evaluated designs)."""
MAX_NUM_ENVS = 4_096
"""Most sub-environments (designs per batched model call) of one search."""
def search_move_steps(sizes: Any) -> tuple[int, ...]:
    """Step sizes of a search's discrete moves on a grid of ``sizes`` points per parameter: (1, 4, 16, ...).

    Powers of 4 shorter than a quarter of the longest axis: a move can cross the grid in a few
    steps yet rarely leave it. The THz grid (99 points) gets (1, 4, 16), the acoustic one
    (at most 21) gets (1, 4).
    """
    longest = int(max(sizes))
    return tuple(4**k for k in range(MAX_MOVE_SIZES) if k == 0 or (4 ** (k + 1) < longest and 4**k <= MAX_MOVE_STEP))
_INT_BOUNDS = {
    "steps": (1, MAX_STEPS),
    "num_envs": (1, MAX_NUM_ENVS),
    "episode_steps": (1, 100_000),
    "torch_threads": (1, 256),
    "log_every": (1, MAX_STEPS),
    "checkpoint_every": (1, MAX_STEPS),
    "seed": (0, 2**32 - 1),
}


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one search; resolved once and saved as ``config.json`` in the run folder.

    Attributes:
        kind: physics family, ``"thz"`` (nanogap-loop arrays, the default), ``"acoustic"``
            (plate-backed cavities) or another name of ``workbench.families.FAMILIES``.
        objective: env objective, e.g. ``"field_enhancement"`` or ``"filter"`` for THz, ``"quiet"``
            or ``"tune"`` for acoustic; None → the family's default (``"field_enhancement"``,
            ``"quiet"``), resolved at construction.
        target_frequency: Hz; None → the family's default (0.2 THz for THz, 60 Hz for acoustic),
            resolved at construction.
        steps: iterations (evaluated designs): the budget of every agent.
        seed: seeds the env starts, exploration, network initialisation and the baselines.
        agent: ``"ddqn"`` (default), a baseline ``"random"``, ``"de"``, ``"cmaes"``, ``"tpe"``
            (``workbench.agents.baselines``), or ``"sb3:<ALGO>"`` for a stable-baselines3
            algorithm (A2C, DQN, PPO on the discrete env; DDPG, SAC, TD3 on the continuous env).
        agent_options: keyword settings of the agent. ``ddqn``: the fields of
            ``workbench.agents.DDQNSettings`` (learning rate, γ, batch and buffer sizes, warm-up,
            exploration and target-update schedules, gradient steps; filled in with their defaults
            at construction) and other ``DQN`` keywords; a baseline: its function's keywords
            (e.g. ``popsize``); ``sb3:*``: the algorithm's constructor keywords.
        num_envs: designs evaluated per vector step (one batched model call); RL agents only.
        episode_steps: steps of an RL episode before it is truncated and a new start is drawn;
            None → one episode per sub-environment for the whole budget, ceil(steps / num_envs)
            (at most 100,000), resolved at construction. Long walks let a learned policy climb
            far from its random start; restarts every 128 steps waste it (see the README's study).
        torch_threads: torch intra-op threads (Numba keeps its own pool for the physics).
        log_every: iterations between ``metrics.csv`` rows.
        checkpoint_every: iterations between checkpoints of RL agents (model, replay buffer,
            best design, counters), from which ``workbench.search.resume`` continues.
        progress: show the rich progress bar (on stderr).
        runs_root, name: the run folder is ``runs_root/name`` (default ``<kind>-<time>-s<seed>``).
        env: extra env config keys (for THz, ``NanogapConfig`` keys: bounds, materials, ...; for
            acoustic, ``PlateCavityConfig`` keys: grids, mass budget, band, mode counts, ...).
            Unless ``env`` sets ``move_steps``, RL agents on the discrete env get
            :func:`search_move_steps` of the grid (THz: 1, 4 or 16 grid steps per move), resolved
            at construction.

    Raises:
        ValueError: an unknown family, agent or option, a setting out of range, or an env config
            that no env accepts; raised at construction, before any work.
    """

    kind: str = "thz"
    objective: str | None = None
    target_frequency: float | None = None
    steps: int = 200_000
    seed: int = 0
    agent: str = "ddqn"
    agent_options: dict[str, Any] = field(default_factory=dict)
    num_envs: int = 16
    episode_steps: int | None = None
    torch_threads: int = 1
    log_every: int = 2_000
    checkpoint_every: int = 25_000
    progress: bool = True
    runs_root: str = "runs"
    name: str | None = None
    env: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in FAMILIES:
            raise ValueError(f"kind must be one of {', '.join(FAMILIES)}; got kind={self.kind!r}")
        family = FAMILIES[self.kind]
        if self.target_frequency is None:
            object.__setattr__(self, "target_frequency", family.default_target)
        if self.objective is None:
            object.__setattr__(self, "objective", family.default_objective)
        if self.episode_steps is None and isinstance(self.steps, int) and isinstance(self.num_envs, int):
            whole_budget = -(-self.steps // max(self.num_envs, 1))
            object.__setattr__(self, "episode_steps", min(_INT_BOUNDS["episode_steps"][1], max(1, whole_budget)))
        for name, (low, high) in _INT_BOUNDS.items():
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
                raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {name}={value!r}")
        if self.agent not in BASELINES and self.num_envs > self.steps:
            raise ValueError(
                f"num_envs must be <= steps (one vector step evaluates num_envs designs); got num_envs={self.num_envs}, "
                f"steps={self.steps}"
            )
        if not isinstance(self.progress, bool):
            raise ValueError(f"progress must be a bool; got progress={self.progress!r}")
        if self.name is not None and (not isinstance(self.name, str) or not _NAME.fullmatch(self.name)):
            raise ValueError(f"name must be a folder name of letters, digits and ._- ; got name={self.name!r}")
        if not isinstance(self.env, dict):
            raise ValueError(f"env must be a mapping of env config keys; got env={self.env!r}")
        object.__setattr__(self, "agent_options", resolve_agent_options(self.agent, self.agent_options))
        rollout = rollout_length(self.agent, self.agent_options)
        if rollout is not None and rollout * self.num_envs > self.steps:
            raise ValueError(
                f"{self.agent} collects n_steps·num_envs = {rollout}·{self.num_envs} = {rollout * self.num_envs} "
                f"iterations before its first update, more than steps={self.steps}: it would never learn; pass "
                f"agent option n_steps <= {self.steps // self.num_envs} or a larger budget"
            )
        # Validates objective, target and bounds (a valid design must exist) before any work starts.
        grid = family.validate(self.env_config())
        if self.agent not in BASELINES and not self.continuous and "move_steps" not in self.env:
            object.__setattr__(self, "env", {**self.env, "move_steps": list(search_move_steps(grid.sizes))})

    @property
    def continuous(self) -> bool:
        """Whether the agent acts on the continuous-action env."""
        return self.agent[4:] in CONTINUOUS_ONLY

    @property
    def env_id(self) -> str:
        """Registered id of the env the agent acts on."""
        return FAMILIES[self.kind].env_ids[self.continuous]

    def env_config(self) -> dict[str, Any]:
        """The env config mapping of this search."""
        return {**self.env, "objective": self.objective, "target_frequency": self.target_frequency}

    @classmethod
    def from_json(cls, text: str, source: str) -> SearchConfig:
        """Rebuild a config from ``config.json`` text; ``source`` names the file in errors."""
        return cls(**config_fields(cls, text, source))


def is_surrogate_config(text: str) -> bool:
    """Whether ``config.json`` text is that of a surrogate-assisted search (an ``ActiveConfig``: it has a
    ``physics_budget``); text that is not a JSON mapping is not (the config readers name its error)."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(values, dict) and "physics_budget" in values


def config_fields(cls: type, text: str, source: str) -> dict[str, Any]:
    """The fields of the config dataclass ``cls`` in ``config.json`` text; ``source`` names the file in errors.

    Raises:
        ValueError: not JSON, not a mapping, or an entry that is not a field of ``cls``.
    """
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source} is not valid JSON ({error}); it is not a search config") from None
    known = {f.name for f in fields(cls)}
    if not isinstance(values, dict) or set(values) - known:
        extra = sorted(set(values) - known) if isinstance(values, dict) else values
        raise ValueError(f"{source} is not a config of this version of workbench: unknown entries {extra}")
    return values
