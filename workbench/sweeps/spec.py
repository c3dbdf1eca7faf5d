"""Sweep specs: a YAML file → a frozen :class:`SweepSpec` → the cartesian list of :class:`Trial`.

A spec (see ``examples/sweeps/quick.yaml``)::

    name: quick                    # sweep name in the store; letters, digits, ._-
    description: free text         # optional, not part of the spec content hash
    env: thz                       # physics family (SearchConfig.kind): thz or acoustic
    objective: field_enhancement   # one objective or a list; default: the family's
    targets: [0.2THz, 0.3THz]      # target frequencies (unit suffix or Hz); default: the search's
    budgets: [2000]                # evaluation budgets (SearchConfig.steps); one int or a list
    seeds: 3                       # a count (0, 1, 2) or a list of seeds
    settings: {log_every: 200}     # SearchConfig fields for every agent
    env_config: {}                 # extra env keys (SearchConfig.env)
    grid: {}                       # SearchConfig field -> list of values, for every agent
    runs_root: runs/sweeps         # trial folders: <runs_root>/<name>/<trial>/attempt-<k>/
    agents:
      - agent: ddqn                # a SearchConfig.agent name
        label: ddqn                # method name in the report (default: the agent name)
        num_envs: 8                # any other key: a SearchConfig field
        grid: {options.learning_rate: [1.0e-3, 3.0e-4]}   # per-agent grid; "options.<key>" grids options
        env_config: {move_steps: [1]}   # per-agent env keys, merged over the top-level env_config
      - agent: de
        options: {popsize: 10}     # SearchConfig.agent_options
      - agent: ddqn                # surrogate-assisted: the budget is the physics budget
        model: surrogate           # or a surrogate checkpoint path; default physics
        label: ddqn-surrogate      # the default label of an entry with a model
        initial: 200               # any other ActiveConfig field (verify, local, kappa, ...)

An entry with ``model: surrogate`` (or a checkpoint path) runs
``workbench.surrogates.surrogate_search`` with ``physics_budget`` set to the trial's budget; its
report row counts physics evaluations, so it compares with the physics-only entries at equal
physics budgets; its agent is set up for one round of ``round_steps`` iterations (see
:func:`build_config`). Its ActiveConfig fields are fixed per entry (not gridded).

Trials are the product objective × target × budget × agent entry × grid point × seed, in that
order. Every trial's ``SearchConfig`` is built (and so validated) by :func:`load_spec`, before
any trial runs; errors name the file, the field and the value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from ..agents import AGENTS
from ..units import parse_quantity

_TOP_KEYS = (
    "name",
    "description",
    "env",
    "objective",
    "targets",
    "budgets",
    "seeds",
    "settings",
    "env_config",
    "grid",
    "runs_root",
    "agents",
)
_AGENT_KEYS = ("agent", "label", "options", "grid", "env_config", "model")
_SET_BY_SWEEP = {
    "objective": "objective",
    "target_frequency": "targets",
    "steps": "budgets",
    "seed": "seeds",
    "agent": "agents[i].agent",
    "agent_options": "agents[i].options",
    "env": "env_config",
    "kind": "env",
    "runs_root": "runs_root",
    "name": "name",
    "progress": "(always off in sweeps)",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SpecError(ValueError):
    """A malformed sweep spec; the message names the file, the field and the value."""


@dataclass(frozen=True)
class AgentSpec:
    """One ``agents:`` entry: an agent name, its label, SearchConfig settings, options, grid and env keys."""

    agent: str
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    env_config: dict[str, Any] = field(default_factory=dict)
    surrogate: dict[str, Any] = field(default_factory=dict)
    """``ActiveConfig`` keyword arguments (``model`` included) of a surrogate-assisted entry; empty: physics only."""


@dataclass(frozen=True)
class Trial:
    """One trial of a sweep: a method (agent entry + grid point) at one objective/target/budget/seed.

    Attributes:
        index: position in the spec's cartesian order.
        id: stable id, a hash of ``key``.
        key: readable identity, e.g. ``ddqn|field_enhancement|0.2THz|b2000|s0``.
        method: the agent label plus the grid point, e.g. ``ddqn[learning_rate=0.0003]``.
        folder: the trial's folder name under the sweep folder.
        config: ``SearchConfig`` keyword arguments except ``runs_root`` and ``name``; a
            surrogate-assisted trial adds ``surrogate``, its ``ActiveConfig`` keyword arguments
            but ``search`` and ``physics_budget`` (the budget). See :func:`build_config`.
    """

    index: int
    id: str
    key: str
    method: str
    objective: str
    target: float
    budget: int
    seed: int
    folder: str
    config: dict[str, Any]

    def row(self, sweep_dir: Path) -> dict[str, Any]:
        """The store's row of this trial, its run folders under ``sweep_dir / folder``."""
        return {
            "id": self.id,
            "idx": self.index,
            "key": self.key,
            "method": self.method,
            "objective": self.objective,
            "target": self.target,
            "budget": self.budget,
            "seed": self.seed,
            "config": self.config,
            "trial_dir": str(sweep_dir / self.folder),
        }


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep spec (see the module docstring); ``source`` is the file it came from."""

    name: str
    agents: tuple[AgentSpec, ...]
    budgets: tuple[int, ...]
    objectives: tuple[str, ...] = ("field_enhancement",)
    targets: tuple[float, ...] = ()
    seeds: tuple[int, ...] = (0,)
    env: str = "thz"
    settings: dict[str, Any] = field(default_factory=dict)
    env_config: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    runs_root: str = "runs/sweeps"
    description: str = ""
    source: str = "<spec>"

    def content(self) -> dict[str, Any]:
        """The spec as plain JSON-able data, without ``description`` and ``source``."""
        return {
            "name": self.name,
            "env": self.env,
            "objectives": list(self.objectives),
            "targets": list(self.targets),
            "budgets": list(self.budgets),
            "seeds": list(self.seeds),
            "settings": self.settings,
            "env_config": self.env_config,
            "grid": {k: list(v) for k, v in self.grid.items()},
            "runs_root": self.runs_root,
            "agents": [
                {
                    "agent": a.agent,
                    "label": a.label,
                    "settings": a.settings,
                    "options": a.options,
                    "grid": {k: list(v) for k, v in a.grid.items()},
                    **({"env_config": a.env_config} if a.env_config else {}),  # absent when empty: old hashes hold
                    **({"surrogate": a.surrogate} if a.surrogate else {}),
                }
                for a in self.agents
            ],
        }

    def content_hash(self) -> str:
        """SHA-256 of :meth:`content` as canonical JSON: equal specs hash equal whatever their layout."""
        text = json.dumps(self.content(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def trials(self) -> list[Trial]:
        """The cartesian list of trials, in a stable order (see the module docstring)."""
        targets = self.targets or (self._default_target(),)
        trials = []
        for objective, target, budget, entry in itertools.product(self.objectives, targets, self.budgets, self.agents):
            grid = {**self.grid, **entry.grid}
            for point in itertools.product(*grid.values()):
                params = dict(zip(grid, point))
                method = entry.label + (f"[{','.join(f'{k}={v}' for k, v in params.items())}]" if params else "")
                for seed in self.seeds:
                    settings = {**self.settings, **entry.settings}
                    options = dict(entry.options)
                    for name, value in params.items():
                        if name.startswith("options."):
                            options[name.removeprefix("options.")] = value
                        else:
                            settings[name] = value
                    config = {
                        **settings,
                        "objective": objective,
                        "target_frequency": target,
                        "steps": budget,
                        "seed": seed,
                        "agent": entry.agent,
                        "env": {**self.env_config, **entry.env_config},
                    }
                    if options:
                        config["agent_options"] = options
                    if entry.surrogate:
                        config["surrogate"] = dict(entry.surrogate)
                    config["kind"] = self.env
                    config["progress"] = False
                    key = f"{method}|{objective}|{_frequency_label(target)}|b{budget}|s{seed}"
                    folder = re.sub(r"[^A-Za-z0-9._=,-]+", "_", key.replace("|", "-").replace("[", "-"))
                    trials.append(
                        Trial(
                            index=len(trials),
                            id=hashlib.sha1(key.encode()).hexdigest()[:12],
                            key=key,
                            method=method,
                            objective=objective,
                            target=target,
                            budget=budget,
                            seed=seed,
                            folder=folder.rstrip("]_"),
                            config=config,
                        )
                    )
        return trials

    def _default_target(self) -> float:
        try:
            return _config_class()(kind=self.env).target_frequency
        except ValueError as error:
            raise SpecError(f"{self.source}: {error} (from env={self.env!r})") from None

    def validate(self) -> list[Trial]:
        """Build every trial's config (:func:`build_config`: checks agent, objective, target, options).

        Returns the trials. Raises SpecError naming the file, the trial and the SearchConfig error.
        """
        trials = self.trials()
        folders: dict[str, str] = {}
        for trial in trials:
            if trial.folder in folders:
                raise SpecError(
                    f"{self.source}: trials {folders[trial.folder]!r} and {trial.key!r} would share the folder "
                    f"{trial.folder!r}; give the agents labels that differ in letters or digits"
                )
            folders[trial.folder] = trial.key
            try:
                build_config(trial.config, self.runs_root, "attempt-1")
            except (TypeError, ValueError) as error:
                raise SpecError(f"{self.source}: {error} (in trial {trial.key})") from None
        return trials


def _frequency_label(hz: float) -> str:
    """``0.2THz``, ``50GHz``, ``800Hz``: the largest unit in which the value is at least 0.1."""
    for scale, unit in ((1e12, "THz"), (1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
        if abs(hz) >= 0.1 * scale:
            return f"{hz / scale:g}{unit}"
    return f"{hz:g}Hz"


MAX_SEEDS = 10_000
"""Most seeds of one sweep."""
MAX_BUDGET = 100_000_000
"""Largest evaluation budget of one trial (``SearchConfig``'s bound)."""
MAX_TRIALS = 1_000_000
"""Most trials of one sweep (the store holds one row per trial)."""


def _config_class() -> type:
    from ..search.config import SearchConfig  # imports the families (envs, Numba): only where specs are read

    return SearchConfig


def _active_class() -> type:
    from ..surrogates._active import ActiveConfig  # imports torch: only where a spec has a surrogate entry

    return ActiveConfig


def build_config(config: dict[str, Any], runs_root: str, name: str) -> Any:
    """The validated settings of a trial's ``config`` run in ``runs_root/name``.

    A ``SearchConfig``, or for a surrogate-assisted trial (``config["surrogate"]``) an
    ``ActiveConfig`` whose ``physics_budget`` is the trial's budget (``config["steps"]``) and whose
    agent is set up for one round (``SearchConfig.steps`` = ``round_steps``, as in ``workbench
    bench surrogate-search``).

    Raises:
        ValueError: a setting that the config classes reject.
    """
    settings = {key: value for key, value in config.items() if key != "surrogate"}
    if "surrogate" not in config:
        return _config_class()(**settings, runs_root=runs_root, name=name)
    from ..surrogates._active import ROUND_DEFAULTS

    steps = config["surrogate"].get("round_steps")
    if not (isinstance(steps, int) and steps >= 1):  # None, or a value that ActiveConfig rejects by name
        steps = ROUND_DEFAULTS.get(config["kind"], {}).get("round_steps", config["steps"])
    search = _config_class()(**settings | {"steps": steps}, runs_root=runs_root, name=name)
    return _active_class()(search, physics_budget=config["steps"], **config["surrogate"])


class _Parser:
    """Checks one spec mapping; every error names ``source``, the field path and the value."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.hints = get_type_hints(_config_class())
        self.settable = sorted(set(self.hints) - set(_SET_BY_SWEEP))
        self.agents = AGENTS

    def fail(self, where: str, must: str, value: Any) -> SpecError:
        return SpecError(f"{self.source}: {where} must be {must}; got {where}={value!r}")

    def mapping(self, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, "a mapping", value)
        for key in value:
            if not isinstance(key, str):
                raise self.fail(f"{where} key", "a string", key)
        return dict(value)

    def keys(self, where: str, value: dict[str, Any], allowed: tuple[str, ...] | list[str]) -> None:
        for key in value:
            if key not in allowed:
                raise SpecError(
                    f"{self.source}: unknown key {key!r} in {where or 'the spec'} (value {value[key]!r}); "
                    f"known keys: {', '.join(allowed)}"
                )

    def listed(self, where: str, value: Any, empty: bool = False) -> list[Any]:
        items = list(value) if isinstance(value, list) else [value]
        if not items and not empty:
            raise self.fail(where, "a value or a non-empty list", value)
        return items

    def target(self, where: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.fail(where, "a frequency such as 0.2THz or 2e11 (Hz)", value)
        try:
            return parse_quantity(value, "frequency", where)
        except ValueError as error:
            raise SpecError(f"{self.source}: {error}") from None

    def text(self, where: str, value: Any, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str) or not value or (pattern and not pattern.match(value)):
            must = "a non-empty string" + (" of letters, digits, '.', '_' and '-'" if pattern else "")
            raise self.fail(where, must, value)
        return value

    def integer(self, where: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(where, f"an integer in [{low}, {high}]", value)
        return value

    def setting(self, where: str, name: str, value: Any) -> Any:
        """Check ``name`` is a SearchConfig field the spec may set, and ``value`` fits its type."""
        if name in _SET_BY_SWEEP:
            raise SpecError(
                f"{self.source}: {where} sets {name!r}, which the sweep sets itself from {_SET_BY_SWEEP[name]}; "
                f"got {where}={value!r}"
            )
        if name not in self.hints:
            raise SpecError(
                f"{self.source}: unknown setting {where}={value!r}: not a SearchConfig field; "
                f"settable fields: {', '.join(self.settable)}"
            )
        return _coerce(value, self.hints[name], lambda must: self.fail(where, must, value))

    def grid(self, where: str, value: Any) -> dict[str, tuple[Any, ...]]:
        grid = {}
        for name, values in self.mapping(where, value).items():
            items = values if isinstance(values, list) else None
            if not items:
                raise self.fail(f"{where}.{name}", "a non-empty list of values", values)
            if name.startswith("options."):
                grid[name] = tuple(items)
            else:
                grid[name] = tuple(self.setting(f"{where}.{name}[{i}]", name, v) for i, v in enumerate(items))
        return grid

    def agent(self, where: str, value: Any, shared_grid: dict[str, tuple[Any, ...]]) -> AgentSpec:
        entry = self.mapping(where, value)
        if "agent" not in entry:
            raise SpecError(f"{self.source}: {where} needs an 'agent' key (one of {', '.join(self.agents)})")
        name = self.text(f"{where}.agent", entry["agent"])
        if self.agents and name not in self.agents:
            raise self.fail(f"{where}.agent", f"one of {', '.join(self.agents)}", name)
        model = self.text(f"{where}.model", entry.get("model", "physics"))
        label = self.text(f"{where}.label", entry.get("label", name if model == "physics" else f"{name}-surrogate"))
        options = self.mapping(f"{where}.options", entry.get("options", {}))
        grid = self.grid(f"{where}.grid", entry.get("grid", {}))
        for key in set(grid) & set(shared_grid):
            raise SpecError(f"{self.source}: {where}.grid.{key} repeats the top-level grid.{key}; keep one of them")
        env_config = self.mapping(f"{where}.env_config", entry.get("env_config", {}))
        rest = {key: value for key, value in entry.items() if key not in _AGENT_KEYS}
        surrogate = {} if model == "physics" else {"model": model, **self.surrogate(where, rest)}
        settings = {key: self.setting(f"{where}.{key}", key, v) for key, v in rest.items() if key not in surrogate}
        return AgentSpec(name, label, settings, options, grid, env_config, surrogate)

    def surrogate(self, where: str, entry: dict[str, Any]) -> dict[str, Any]:
        """The ``ActiveConfig`` fields among an entry's keys, checked against their types."""
        hints = get_type_hints(_active_class())
        if "physics_budget" in entry:
            raise SpecError(
                f"{self.source}: {where} sets 'physics_budget', which the sweep sets itself from budgets; "
                f"got {where}.physics_budget={entry['physics_budget']!r}"
            )
        return {
            key: _coerce(value, hints[key], lambda must, key=key, value=value: self.fail(f"{where}.{key}", must, value))
            for key, value in entry.items()
            if key in hints and key not in ("search", "model")
        }

    def spec(self, data: Any) -> SweepSpec:
        data = self.mapping("the spec", data)
        self.keys("", data, _TOP_KEYS)
        for required in ("name", "agents", "budgets"):
            if required not in data:
                raise SpecError(f"{self.source}: the spec needs a {required!r} key")
        name = self.text("name", data["name"], _NAME)
        env = self.text("env", data.get("env", "thz"))
        from ..families import FAMILIES  # envs and Numba: imported only when a spec is parsed

        if env not in FAMILIES:
            raise self.fail("env", f"one of {', '.join(map(repr, FAMILIES))}", env)
        objectives = tuple(
            self.text(f"objective[{i}]", v)
            for i, v in enumerate(self.listed("objective", data.get("objective", FAMILIES[env].default_objective)))
        )
        targets = tuple(
            self.target(f"targets[{i}]", v)
            for i, v in enumerate(self.listed("targets", data.get("targets", []), empty=True))
        )
        budgets = tuple(
            self.integer(f"budgets[{i}]", v, 1, MAX_BUDGET)
            for i, v in enumerate(self.listed("budgets", data["budgets"]))
        )
        seeds_value = data.get("seeds", 1)
        if isinstance(seeds_value, int) and not isinstance(seeds_value, bool):
            seeds = tuple(range(self.integer("seeds", seeds_value, 1, MAX_SEEDS)))
        else:
            listed = self.listed("seeds", seeds_value)
            if len(listed) > MAX_SEEDS:
                raise self.fail("seeds", f"at most {MAX_SEEDS} seeds", f"{len(listed)} seeds")
            seeds = tuple(self.integer(f"seeds[{i}]", v, 0, 2**32 - 1) for i, v in enumerate(listed))
        for label, values in (("objective", objectives), ("targets", targets), ("budgets", budgets), ("seeds", seeds)):
            if len(set(values)) != len(values):
                raise self.fail(label, "a list without repeats", list(values))
        settings = {
            key: self.setting(f"settings.{key}", key, v)
            for key, v in self.mapping("settings", data.get("settings", {})).items()
        }
        env_config = self.mapping("env_config", data.get("env_config", {}))
        grid = self.grid("grid", data.get("grid", {}))
        if not isinstance(data["agents"], list) or not data["agents"]:
            raise self.fail("agents", "a non-empty list of agent entries", data["agents"])
        agents = tuple(self.agent(f"agents[{i}]", entry, grid) for i, entry in enumerate(data["agents"]))
        labels = [a.label for a in agents]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                raise SpecError(
                    f"{self.source}: agents[{i}].label {label!r} repeats agents[{labels.index(label)}]; "
                    f"give each entry a distinct label"
                )
        points = sum(math.prod(len(v) for v in {**grid, **a.grid}.values()) for a in agents)
        total = len(objectives) * max(1, len(targets)) * len(budgets) * len(seeds) * points
        if total > MAX_TRIALS:
            raise self.fail("the spec", f"at most {MAX_TRIALS:,} trials", f"{total:,} trials")
        return SweepSpec(
            name=name,
            agents=agents,
            budgets=budgets,
            objectives=objectives,
            targets=targets,
            seeds=seeds,
            env=env,
            settings=settings,
            env_config=env_config,
            grid=grid,
            runs_root=self.text("runs_root", data.get("runs_root", "runs/sweeps")),
            description=str(data.get("description", "")),
            source=self.source,
        )


def _coerce(value: Any, hint: Any, fail: Any) -> Any:
    """``value`` checked against the type ``hint`` (YAML's ``1e-3`` string accepted for a float)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            try:
                return _coerce(value, option, fail)
            except SpecError:
                continue
        raise fail(" or ".join(getattr(a, "__name__", str(a)) for a in get_args(hint)))
    if hint is type(None):
        if value is None:
            return None
        raise fail("null")
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise fail("true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise fail("an integer")
    if hint is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise fail("a number") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise fail("a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise fail("a string")
    if origin in (dict, Mapping) or hint is dict:
        if isinstance(value, Mapping):
            return dict(value)
        raise fail("a mapping")
    if origin in (list, tuple):
        if isinstance(value, list):
            return value
        raise fail("a list")
    return value


def parse_spec(data: Any, source: str = "<spec>") -> SweepSpec:
    """A :class:`SweepSpec` from already-loaded YAML/JSON data; validates every trial."""
    spec = _Parser(source).spec(data)
    spec.validate()
    return spec


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate the YAML sweep spec at ``path`` (see the module docstring).

    Raises:
        SpecError: the file is missing or not YAML, a key is unknown, a value has the wrong type,
            or a trial's SearchConfig rejects an agent, objective, target or setting. The message
            names the file, the field and the value.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise SpecError(f"cannot read sweep spec {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path} is not valid YAML: {error}") from None
    return parse_spec(data, str(path))


__all__ = ["AgentSpec", "SpecError", "SweepSpec", "Trial", "build_config", "load_spec", "parse_spec"]
