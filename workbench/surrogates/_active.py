"""Surrogate-assisted search: the agent searches the surrogate env, the physics verifies, the surrogate learns.

One run spends a physics budget, counted in designs evaluated by the Numba model: the initial
training set (Sobol designs of the env's valid space; or the training set of a given checkpoint),
every verified design, and every design the surrogate sends back to the physics because it lies
outside its training box. Each round

1. runs the agent (any of ``workbench.agents.AGENTS``) for ``round_steps`` iterations on the env
   with the current surrogate as ``model=``. A learning agent (DDQN, SB3) is built once and keeps
   its networks, replay buffer and exploration schedule (planned over every round) from round to
   round; each round gives it a fresh env, so no answer of an earlier surrogate is served from a
   cache. A baseline (random, DE, CMA-ES) has no state worth keeping and starts anew each round;
2. scores every distinct design the agent visited and not verified before by the surrogate's
   objective, optimistically for an ensemble: the mean of the members' objectives plus
   ``kappa`` times their standard deviation (an upper confidence bound; a single network has no
   spread), and verifies the ``verify`` best of them with the physics model (the env core with its
   default model), greedily skipping any design closer than ``separation`` grid steps (L1) to one
   already chosen this round, so one round does not spend its budget on a single basin;
3. takes a trust-region step around the best verified design: the grid designs within
   ``radius`` steps of it (L∞; all of them when few, else 4,096 drawn uniformly) are scored the
   same way and the ``local`` best not yet verified are verified. The radius is kept after a step
   that improves the best verified objective and halved (down to one step) after one that does not;
4. adds the verified designs (their whole responses) to the training data and refits the
   surrogate (warm start);

until the budget is spent. ``best.json`` holds the best physics-verified design, re-evaluated by
the family's reference report and marked ``"verified": "physics"``.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

import envs  # noqa: F401  (registers the environments)
from analytic import acoustic, thz

from ..agents import BASELINES
from ..agents.baselines import Budget, run_baseline
from ..agents.vec_env import GymnasiumVecEnv
from ..families import FAMILIES
from ..search import SearchConfig
from ..search._rundir import make_run_dir
from ..search._runner import make_agent, make_venv
from ._acoustic import AcousticSurrogate, build_acoustic
from ._checkpoints import load
from ._datasets import KINDS, Dataset, acoustic_responses, make_dataset, thz_responses
from ._thz import ThzSurrogate, build_thz

_COLUMNS = [
    "round",
    "physics_evaluations",
    "surrogate_evaluations",
    "training_designs",
    "verified",
    "local_verified",
    "radius",
    "out_of_bounds",
    "best_verified_objective",
    "round_best_surrogate_objective",
    "round_best_physics_objective",
    "local_best_physics_objective",
    "gap_mean_abs",
    "gap_of_round_best",
    "refit_s",
]


_SIZES = ("epochs", "refit_epochs", "width", "depth")
ROUND_DEFAULTS = {
    "thz": {"verify": 100, "local": 25, "round_steps": 20_000},
    "acoustic": {"verify": 50, "local": 10, "round_steps": 4_000},
}
"""Per family: designs verified per round by the agent step and the trust-region step, agent iterations per round."""


def round_settings(kind: str, verify: int | None, local: int | None, round_steps: int | None) -> dict[str, int | None]:
    """``verify``, ``local`` and ``round_steps`` with each None replaced by ``ROUND_DEFAULTS[kind]``'s value."""
    given = {"verify": verify, "local": local, "round_steps": round_steps}
    return {name: ROUND_DEFAULTS[kind][name] if value is None else value for name, value in given.items()}


@dataclass(frozen=True)
class ActiveConfig:
    """Settings of one surrogate-assisted search (saved as ``config.json``).

    Attributes:
        search: the agent, family, objective, env and run-folder settings; ``search.steps`` is
            unused (the physics budget ends the run).
        physics_budget: designs the Numba model may evaluate, all counted.
        model: ``"surrogate"`` (train a fresh surrogate on ``initial`` Sobol designs) or the path
            of a checkpoint (its training designs count against the budget).
        initial: designs of the first training set (default: half the budget).
        verify: designs the agent visited that are verified per round (the best-scored ones).
        local: designs verified per round in the trust region around the best verified design
            (0: no trust-region step).
        round_steps: agent iterations on the surrogate env per round.
            ``verify``, ``local`` and ``round_steps`` left as None take the family's
            :data:`ROUND_DEFAULTS`: THz 100, 25 and 20,000 (surrogate spectra are cheap, so long
            rounds), acoustic 50, 10 and 4,000.
        radius: first trust-region radius, grid steps (L∞).
        kappa: weight of the ensemble's spread in the score of a design (0: its mean objective).
        separation: least L1 grid distance between the designs the agent step verifies in one
            round (1: any distinct designs).
        epochs, refit_epochs: training epochs of the first fit and of each refit.
        width, depth: size of a fresh surrogate (THz: physics head; acoustic: 3-member ensemble).
    """

    search: SearchConfig
    physics_budget: int
    model: str = "surrogate"
    initial: int | None = None
    verify: int | None = None
    local: int | None = None
    radius: int = 3
    kappa: float = 1.0
    separation: int = 2
    round_steps: int | None = None
    epochs: int = 150
    refit_epochs: int = 30
    width: int = 128
    depth: int = 3

    def __post_init__(self) -> None:
        if self.search.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} for a surrogate search; got {self.search.kind!r}")
        for name, value in round_settings(self.search.kind, self.verify, self.local, self.round_steps).items():
            object.__setattr__(self, name, value)
        lows = {"physics_budget": 2, "local": 0, "separation": 1}
        for name in ("physics_budget", "verify", "local", "radius", "separation", "round_steps", *_SIZES):
            value, low = getattr(self, name), lows.get(name, 1)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")
        if not (isinstance(self.kappa, int | float) and math.isfinite(self.kappa) and self.kappa >= 0):
            raise ValueError(f"kappa must be a finite number >= 0; got kappa={self.kappa!r}")
        first = self.first_training_set()
        if first >= self.physics_budget:
            raise ValueError(
                f"physics_budget must exceed the first training set ({first} designs, "
                f"{'initial' if self.model == 'surrogate' else 'training designs of ' + self.model}); got "
                f"physics_budget={self.physics_budget}"
            )
        replace(self.search, steps=max(self.round_steps, self.search.num_envs))  # the agent settings fit a round

    def planned_rounds(self) -> int:
        """Rounds the budget allows when every round verifies ``verify + local`` designs (the agent's schedule)."""
        return max(1, math.ceil((self.physics_budget - self.first_training_set()) / (self.verify + self.local)))

    def first_training_set(self) -> int:
        """Physics evaluations spent before the first round."""
        if self.model == "surrogate":
            initial = self.physics_budget // 2 if self.initial is None else self.initial
            if not (isinstance(initial, int) and initial >= 16):
                raise ValueError(f"initial must be an integer >= 16; got initial={initial!r}")
            return initial
        metadata = load(self.search.kind, self.model, env=self.search.env_config()).metadata
        if "compression" in metadata:
            raise ValueError(
                f"model must be an fp32 checkpoint (the loop refits it); got the compressed surrogate {self.model} "
                "(compare compressed surrogates in the loop with `workbench bench compress-search`)"
            )
        return int(metadata["training"]["designs"])


@dataclass(frozen=True)
class ActiveResult:
    """Outcome of :func:`surrogate_search`.

    Attributes:
        run_dir: the run folder. best_value: physics objective of the best verified design.
        best_design: its design mapping. best: the ``best.json`` content.
        physics_evaluations, surrogate_evaluations: designs evaluated by each, all counted.
        rounds: verification rounds run.
    """

    run_dir: Path
    best_value: float
    best_design: dict[str, Any]
    best: dict[str, Any]
    physics_evaluations: int
    surrogate_evaluations: int
    rounds: int


class _Recorder:
    """Honours both physics-model protocols by delegation and records every design asked of it."""

    def __init__(self, surrogate: ThzSurrogate | AcousticSurrogate) -> None:
        self.surrogate = surrogate
        self.columns: list[np.ndarray] = []

    def spectra(self, batch: thz.LoopArrayBatch, freqs: np.ndarray) -> thz.Spectrum:
        self.columns.append(self.surrogate.design_columns(batch))
        return self.surrogate.spectra(batch, freqs)

    def band_level(self, batch: acoustic.CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int) -> np.ndarray:
        self.columns.append(self.surrogate.design_columns(batch))
        return self.surrogate.band_level(batch, freqs, n_plate, n_transverse)

    def first_coupled_frequency(self, batch: acoustic.CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        self.columns.append(self.surrogate.design_columns(batch))
        return self.surrogate.first_coupled_frequency(batch, n_plate, n_transverse)


def _grid_index(grid: Any, columns: np.ndarray) -> np.ndarray:
    """(n, d) design columns (grid column order, SI) → (n, d) int64 indices of the nearest grid values."""
    return np.stack(
        [np.abs(grid.values[p][None, :] - columns[:, p, None]).argmin(axis=1) for p in range(columns.shape[1])], axis=1
    )


def _core(cfg: SearchConfig, model: Any) -> Any:
    return gym.make(cfg.env_id, config=cfg.env_config(), model=model).unwrapped.core


def _objectives(core: Any, index: np.ndarray) -> np.ndarray:
    return np.array([e.objective for e in core.evaluate(index)]) if len(index) else np.zeros(0)


def _physics_rows(kind: str, grid: Any, index: np.ndarray, template: Dataset) -> Dataset:
    """Whole responses of grid designs ``index`` from the Numba model, as dataset rows like ``template``."""
    config = grid.config
    if kind == "thz":
        lengths = grid.lengths(index)
        t, r, valid = thz_responses(lengths, template.freqs, config)
        return Dataset(kind, index, lengths, template.freqs, {"t": t, "r": r, "valid": valid}, template.attrs)
    lp, j, f1 = acoustic_responses(grid.batch(index), template.freqs, config.n_plate, config.n_transverse)
    return Dataset(kind, index, grid.columns(index), template.freqs, {"lp_avg": lp, "j": j, "f1": f1}, template.attrs)


def _template(surrogate: ThzSurrogate | AcousticSurrogate) -> Dataset:
    """An empty dataset on the checkpoint's band grid and env (for the rows verified with a given checkpoint)."""
    meta = surrogate.metadata
    attrs = {key: meta[key] for key in ("workbench_version", "band", "env", "model")} | {"seed": -1}
    return Dataset(meta["kind"], np.zeros((0, 0), np.int64), np.zeros((0, 0)), np.asarray(meta["freqs"]), {}, attrs)


def _fresh_surrogate(cfg: ActiveConfig, data: Dataset) -> ThzSurrogate | AcousticSurrogate:
    seed = cfg.search.seed
    if cfg.search.kind == "thz":
        return build_thz(data, "physics", cfg.width, cfg.depth, seed)
    return build_acoustic(data, cfg.width, cfg.depth, 3, seed)


class _StopAfter(BaseCallback):
    """Ends an SB3 ``learn`` call once the agent has taken ``steps`` more iterations (one round)."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps
        self.stop_at = 0

    def _on_training_start(self) -> None:
        self.stop_at = self.num_timesteps + self.steps

    def _on_step(self) -> bool:
        return self.num_timesteps < self.stop_at


class _Agent:
    """The search's agent over the rounds: one learning agent kept across rounds, or a baseline run anew."""

    def __init__(self, cfg: ActiveConfig) -> None:
        self.cfg = cfg
        self.steps = max(cfg.round_steps, cfg.search.num_envs)
        self.total = self.steps * cfg.planned_rounds()
        self.model: BaseAlgorithm | None = None

    def run(self, recorder: _Recorder, round_index: int) -> int:
        """One round on a fresh env over ``recorder``; returns the env's surrogate evaluations."""
        search = self.cfg.search
        if search.agent in BASELINES:
            search = replace(search, steps=self.steps, seed=search.seed + 7919 * round_index)
            venv = make_venv(search, 1, model=recorder)
            box = Budget(venv.core, search.steps, lambda n: None, search.log_every)
            run_baseline(search.agent, box, search.seed, search.agent_options)
            return int(venv.evaluations)
        venv = make_venv(search, search.num_envs, model=recorder)
        if self.model is None:
            self.model = make_agent(replace(search, steps=self.total), venv)
        else:
            self.model.set_env(GymnasiumVecEnv(venv))
        done = self.model.num_timesteps
        self.total = max(self.total, done + self.steps)  # a run may take more rounds than planned
        self.model.learn(self.total - done, callback=_StopAfter(self.steps), reset_num_timesteps=done == 0)
        return int(venv.evaluations)


class _Scorer:
    """Surrogate scores of grid designs: mean objective and its spread over ensemble members."""

    def __init__(self, search: SearchConfig, surrogate: ThzSurrogate | AcousticSurrogate) -> None:
        self.search = search
        self.surrogate = surrogate
        members = surrogate.members if isinstance(surrogate, AcousticSurrogate) else 1
        self.views = [surrogate] if members == 1 else [surrogate.member(k) for k in range(members)]

    def __call__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """(n, d) grid designs → (n,) mean objective, (n,) standard deviation over members (0 for one
        network), and the physics evaluations made meanwhile (designs outside the training box)."""
        before = sum(view.physics_evaluations for view in self.views)
        values = np.stack([_objectives(_core(self.search, view), index) for view in self.views])
        physics = sum(view.physics_evaluations for view in self.views) - before
        return values.mean(axis=0), values.std(axis=0), physics


def _distinct_best(index: np.ndarray, score: np.ndarray, k: int, separation: int) -> np.ndarray:
    """Positions of up to ``k`` rows of (n, d) ``index`` by descending ``score``, each ≥ ``separation`` (L1) from the others.

    Greedy; when fewer than ``k`` rows are that far apart, the best of the rest fill the selection.
    """
    order = np.argsort(-score, kind="stable")
    if separation <= 1:
        return order[:k]
    chosen: list[int] = []
    for position in order:
        if len(chosen) == k:
            break
        if not chosen or np.abs(index[chosen] - index[position]).sum(axis=1).min() >= separation:
            chosen.append(int(position))
    rest = [int(p) for p in order if p not in set(chosen)]
    return np.array(chosen + rest[: k - len(chosen)], dtype=np.int64)


_LOCAL_CANDIDATES = 4096


def _neighbourhood(grid: Any, centre: np.ndarray, radius: int, rng: np.random.Generator) -> np.ndarray:
    """Valid grid designs within ``radius`` steps (L∞) of (d,) ``centre``, the centre excluded, (m, d) int64.

    Every one when the box holds at most 4,096 points, else 4,096 offsets drawn uniformly (duplicates removed).
    """
    d = len(centre)
    if (2 * radius + 1) ** d <= _LOCAL_CANDIDATES:
        offsets = np.array(list(itertools.product(range(-radius, radius + 1), repeat=d)), dtype=np.int64)
    else:
        offsets = rng.integers(-radius, radius, size=(_LOCAL_CANDIDATES, d), endpoint=True)
    candidates = np.unique(centre[None, :] + offsets[np.any(offsets != 0, axis=1)], axis=0)
    return candidates[grid.valid(candidates)]


def _keys(index: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(int(k) for k in row) for row in index]


def surrogate_search(
    cfg: ActiveConfig, serve: Callable[[ThzSurrogate | AcousticSurrogate], Any] | None = None
) -> ActiveResult:
    """Run a surrogate-assisted search (see the module docstring) and write its run folder.

    ``serve``, if given, maps the fitted surrogate to the one the agent searches and the ranking
    reads (e.g. a compressed copy); it is called again after every refit, and refits train the
    fitted surrogate. The folder holds ``config.json``, ``metrics.csv`` (one row per round: physics
    and surrogate evaluations so far, designs verified by the agent step and by the trust-region
    step, the radius, the gap between the surrogate's and the physics' objective of the agent step's
    verified designs, the best verified objective), ``best.json`` (physics-verified only) and the
    family's plot of the best design.
    """
    start = time.perf_counter()
    search = cfg.search
    torch.set_num_threads(search.torch_threads)
    family = FAMILIES[search.kind]
    env_config = search.env_config()
    stem = f"{search.kind}-surrogate-{time.strftime('%Y%m%d-%H%M%S')}-s{search.seed}"
    run_dir = make_run_dir(search.runs_root, search.name, stem)
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str))
    physics_core = _core(search, None)
    grid = physics_core.grid
    if cfg.model == "surrogate":
        data = make_dataset(search.kind, cfg.first_training_set(), search.seed, env_config)
        surrogate = _fresh_surrogate(cfg, data)
        surrogate.fit(data, cfg.epochs, lr=2e-3, seed=search.seed)
    else:
        surrogate = load(search.kind, cfg.model, env=env_config)
        data = None
    used = cfg.first_training_set()
    served = surrogate if serve is None else serve(surrogate)
    verified: dict[tuple[int, ...], float] = {}
    if data is not None:  # the training designs are physics-evaluated designs: the best of them counts
        verified.update(zip(_keys(data.index), _objectives(physics_core, data.index).tolist()))
    agent = _Agent(cfg)
    rng = np.random.default_rng(search.seed)
    radius = cfg.radius
    surrogate_evaluations = 0
    rounds = 0

    def verify(index: np.ndarray) -> np.ndarray:
        nonlocal used
        actual = _objectives(physics_core, index)
        used += len(index)
        verified.update(zip(_keys(index), actual.tolist()))
        return actual

    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, _COLUMNS)
        writer.writeheader()
        while used < cfg.physics_budget:
            rounds += 1
            recorder = _Recorder(served)
            before = served.physics_evaluations
            surrogate_evaluations += agent.run(recorder, rounds)
            used += served.physics_evaluations - before  # designs outside the training box went to the physics
            visited = np.unique(_grid_index(grid, np.concatenate(recorder.columns)), axis=0)
            fresh = np.array([row for row in visited if tuple(int(k) for k in row) not in verified], dtype=np.int64)
            fresh = fresh.reshape(-1, grid.dim)
            scorer = _Scorer(search, served)
            row: dict[str, Any] = {"round": rounds, "verified": 0, "local_verified": 0, "radius": radius}
            chosen = [np.zeros((0, grid.dim), np.int64)]
            if len(fresh):
                mean, spread, physics = scorer(fresh)
                used += physics
                top = _distinct_best(
                    fresh, mean + cfg.kappa * spread, max(0, min(cfg.verify, cfg.physics_budget - used)), cfg.separation
                )
                if len(top):
                    actual = verify(fresh[top])
                    gap = mean[top] - actual
                    chosen.append(fresh[top])
                    row |= {
                        "verified": len(top),
                        "round_best_surrogate_objective": float(mean[top[0]]),
                        "round_best_physics_objective": float(actual[0]),
                        "gap_mean_abs": float(np.mean(np.abs(gap))),
                        "gap_of_round_best": float(gap[0]),
                    }
            k_local = min(cfg.local, cfg.physics_budget - used)
            if k_local > 0 and verified:
                incumbent = max(verified.values())
                centre = np.array(max(verified, key=verified.get), dtype=np.int64)
                near = _neighbourhood(grid, centre, radius, rng)
                near = near[[key not in verified for key in _keys(near)]]
                if len(near):
                    mean, spread, physics = scorer(near)
                    used += physics
                    top = np.argsort(-(mean + cfg.kappa * spread), kind="stable")[
                        : max(0, min(k_local, cfg.physics_budget - used))
                    ]
                    actual = verify(near[top]) if len(top) else np.zeros(0)
                    chosen.append(near[top])
                    if len(top):
                        row |= {"local_verified": len(top), "local_best_physics_objective": float(actual.max())}
                    radius = radius if actual.size and actual.max() > incumbent else max(1, radius // 2)
            new_designs = np.concatenate(chosen)
            if len(new_designs):
                new = _physics_rows(search.kind, grid, new_designs, _template(surrogate) if data is None else data)
                data = new if data is None else data.concat(new)
                tic = time.perf_counter()
                surrogate.fit(data, cfg.refit_epochs, lr=5e-4, seed=search.seed + rounds)
                row["refit_s"] = round(time.perf_counter() - tic, 2)
                served = surrogate if serve is None else serve(surrogate)
            row |= {
                "out_of_bounds": served.out_of_bounds,
                "physics_evaluations": used,
                "surrogate_evaluations": surrogate_evaluations,
                "training_designs": 0 if data is None else len(data),
                "best_verified_objective": max(verified.values()) if verified else "",
            }
            writer.writerow(row)
            handle.flush()
            if len(new_designs) == 0:
                break  # nothing left to verify: the agent revisited verified designs and the trust region is spent
    best_key = max(verified, key=verified.get)
    design = grid.design(np.array(best_key))
    report, _ = family.report(env_config, run_dir, design)
    best = {
        "design": design,
        "objective": verified[best_key],
        "verified": "physics",
        "physics_evaluations": used,
        "surrogate_evaluations": surrogate_evaluations,
        "rounds": rounds,
        "seconds": round(time.perf_counter() - start, 1),
        **report,
    }
    (run_dir / "best.json").write_text(json.dumps(best, indent=2, default=str, allow_nan=False))
    return ActiveResult(run_dir, verified[best_key], design, best, used, surrogate_evaluations, rounds)
