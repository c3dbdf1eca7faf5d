"""Agent names, the Double DQN's settings and the check of agent options; imports neither torch nor SB3.

A search names its agent (``SearchConfig.agent``) and passes agent settings as ``agent_options``.
For ``"ddqn"`` those options are the fields of :class:`DDQNSettings` (completed with its defaults
when the config is built, so ``config.json`` records every setting) plus any other keyword of
stable-baselines3's ``DQN`` that the search does not set itself.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

BASELINES = ("random", "de", "cmaes", "tpe")
"""Names of the black-box baselines (``workbench.agents.baselines``)."""

SB3_ALGORITHMS = ("A2C", "DDPG", "DQN", "PPO", "SAC", "TD3")
"""stable-baselines3 algorithms usable as ``agent="sb3:<NAME>"``."""

CONTINUOUS_ONLY = ("DDPG", "SAC", "TD3")
"""SB3 algorithms that need the continuous-action env."""

AGENTS = ("ddqn", *BASELINES, *(f"sb3:{name}" for name in SB3_ALGORITHMS))
"""Values accepted by ``SearchConfig.agent``."""

_SET_BY_SEARCH = {"policy", "env", "policy_kwargs", "seed", "device", "learning_starts", "train_freq"}
_SET_BY_SEARCH |= {"target_update_interval", "gradient_steps"}
MAX_REPLAY_RATIO = 64.0
UPDATES_PER_RUN = 4_000
"""Gradient updates the default replay ratio aims at over a search (see :func:`budget_replay_ratio`)."""
MAX_HIDDEN = 4096


@dataclass(frozen=True)
class DDQNSettings:
    """Settings of the Double DQN of a search (``agent="ddqn"``); every field is an ``agent_options`` key.

    The defaults come from the budget study in the README (THz field enhancement, 2,000 to
    200,000 designs): a short discount horizon (γ = 0.9, the reward is the per-step gain), ε
    annealed over the first 20 % of the budget, and a replay ratio that falls with the budget.

    Attributes:
        learning_rate: Adam step size, > 0.
        gamma: discount factor, in [0, 1).
        batch_size: transitions per gradient step, ≥ 1.
        buffer_size: replay capacity in transitions, ≥ 1 (capped at the search's budget).
        learning_starts_fraction: replay warm-up, fraction of the budget in (0, 1] (at most 5,000
            iterations, at least one batch).
        exploration_fraction: ε decays 1 → ``exploration_final_eps`` over this fraction of the
            budget, in (0, 1].
        exploration_final_eps: final ε, in [0, 1].
        target_update_fraction: hard target-network update every this fraction of the budget, in (0, 1]
            (at least every vector step).
        replay_ratio: gradient updates per evaluated design, in (0, 64]; a vector step of n
            designs makes max(1, round(replay_ratio·n)) updates, so every vector step trains.
            None → :func:`budget_replay_ratio` of the search's budget.
        hidden_sizes: widths of the Q-network's hidden layers, 1 to 4 layers of 1 … 4096 units;
            empty means two layers of twice the observation size.
        dueling: a dueling head, Q = V + A − mean(A) over the hidden layers (Wang et al. 2016).
        n_steps: n of the n-step return (SB3's n-step replay buffer), integer in [1, 100].
    """

    learning_rate: float = 1e-3
    gamma: float = 0.9
    batch_size: int = 128
    buffer_size: int = 200_000
    learning_starts_fraction: float = 0.02
    exploration_fraction: float = 0.2
    exploration_final_eps: float = 0.01
    target_update_fraction: float = 0.01
    replay_ratio: float | None = None
    hidden_sizes: tuple[int, ...] = ()
    dueling: bool = False
    n_steps: int = 1

    def __post_init__(self) -> None:
        _real("learning_rate", self.learning_rate, 0.0, math.inf, "(0, inf)", open_low=True)
        _real("gamma", self.gamma, 0.0, 1.0, "[0, 1)", open_high=True)
        for name in ("learning_starts_fraction", "exploration_fraction", "target_update_fraction"):
            _real(name, getattr(self, name), 0.0, 1.0, "(0, 1]", open_low=True)
        _real("exploration_final_eps", self.exploration_final_eps, 0.0, 1.0, "[0, 1]")
        if self.replay_ratio is not None:
            _real("replay_ratio", self.replay_ratio, 0.0, MAX_REPLAY_RATIO, f"(0, {MAX_REPLAY_RATIO:g}]", open_low=True)
        for name in ("batch_size", "buffer_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"agent option {name} must be an integer >= 1; got {name}={value!r}")
        if not _is_int(self.n_steps) or not 1 <= self.n_steps <= 100:
            raise ValueError(f"agent option n_steps must be an integer >= 1 and <= 100; got n_steps={self.n_steps!r}")
        sizes = self.hidden_sizes
        if (
            isinstance(sizes, str)
            or not isinstance(sizes, list | tuple)
            or len(sizes) > 4
            or not all(_is_int(k) and 1 <= k <= MAX_HIDDEN for k in sizes)
        ):
            raise ValueError(
                f"agent option hidden_sizes must be 0 to 4 integers in [1, {MAX_HIDDEN}]; got hidden_sizes={sizes!r}"
            )
        object.__setattr__(self, "hidden_sizes", tuple(int(k) for k in sizes))
        if not isinstance(self.dueling, bool):
            raise ValueError(f"agent option dueling must be a bool; got dueling={self.dueling!r}")

    @classmethod
    def split(cls, options: dict[str, Any]) -> tuple[DDQNSettings, dict[str, Any]]:
        """``options`` → (the settings, the remaining SB3 ``DQN`` keywords)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names}), {
            k: v for k, v in options.items() if k not in names
        }


def budget_replay_ratio(steps: int) -> float:
    """The default replay ratio for a budget of ``steps`` designs: UPDATES_PER_RUN / steps, clipped to [1/16, 1].

    Small budgets learn from every transition (one update per design up to 4,000 designs); large
    ones keep the updates near 4,000 until one update per vector step of 16 (the floor, from
    64,000 designs on), which keeps a 200,000-design search above 2,000 designs/s.
    """
    return min(1.0, max(1.0 / 16.0, UPDATES_PER_RUN / steps))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _real(
    name: str, value: Any, low: float, high: float, bounds: str, open_low: bool = False, open_high: bool = False
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and (value < high if open_high else value <= high)
    if not ok:
        raise ValueError(f"agent option {name} must be a finite number in {bounds}; got {name}={value!r}")


def resolve_agent_options(agent: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check ``options`` for ``agent`` and return them resolved (DDQN: every setting, defaults filled in).

    Raises:
        ValueError: an unknown agent, an option the agent does not take, or a setting out of range.
    """
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {', '.join(AGENTS)}; got agent={agent!r}")
    if not isinstance(options, dict):
        raise ValueError(f"agent_options must be a mapping; got agent_options={options!r}")
    if agent in BASELINES:
        importlib.import_module(".baselines", __package__).check_options(agent, options)
        return dict(options)
    if agent == "ddqn":
        settings, rest = DDQNSettings.split(options)
        _check_sb3_keywords(agent, "DQN", rest, {f.name for f in fields(DDQNSettings)} | _SET_BY_SEARCH)
        return {**asdict(settings), **rest}
    _check_sb3_keywords(agent, agent[4:], options, {"policy", "env", "seed", "device"})
    return dict(options)


def _check_sb3_keywords(agent: str, algorithm: str, options: dict[str, Any], reserved: set[str]) -> None:
    cls = getattr(importlib.import_module("stable_baselines3"), algorithm)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"} - reserved
    unknown = sorted(set(options) - accepted)
    if unknown:
        settings = "the DDQNSettings fields and " if agent == "ddqn" else ""
        raise ValueError(
            f"agent_options for agent {agent!r} must be {settings}keyword arguments of {algorithm} that the search "
            f"does not set itself ({', '.join(sorted(accepted))}); got {', '.join(unknown)}"
        )


def rollout_length(agent: str, options: dict[str, Any]) -> int | None:
    """Steps per sub-environment that an on-policy SB3 agent collects before each update (None: off-policy)."""
    if agent not in ("sb3:A2C", "sb3:PPO"):
        return None
    if "n_steps" in options:
        return int(options["n_steps"])
    cls = getattr(importlib.import_module("stable_baselines3"), agent[4:])
    return int(inspect.signature(cls.__init__).parameters["n_steps"].default)
