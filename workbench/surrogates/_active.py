"""Surrogate-assisted search: the agent searches the surrogate env, the physics verifies, the surrogate learns.

One run spends a physics budget, counted in designs evaluated by the Numba model: the initial
training set (Sobol designs of the env's valid space; or the training set of a given checkpoint),
every verified design, and every design the surrogate sends back to the physics because it lies
outside its training box. Each round

1. runs the agent (any of ``workbench.agents.AGENTS``) for ``round_steps`` iterations on the env
   with the surrogate as ``model=``;
2. ranks every distinct design the agent visited by the surrogate's objective and verifies the
   ``verify`` best not verified before with the physics model (the env core with its default
   model), logging the surrogate–physics gap;
3. adds the verified designs (their whole responses) to the training data and refits the
   surrogate (warm start);

until the budget is spent. ``best.json`` holds the best physics-verified design, re-evaluated by
the family's reference report and marked ``"verified": "physics"``.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envs  # noqa: F401  (registers the environments)
from analytic import acoustic, thz

from ..agents import BASELINES
from ..agents.baselines import Budget, run_baseline
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
    "out_of_bounds",
    "best_verified_objective",
    "round_best_surrogate_objective",
    "round_best_physics_objective",
    "gap_mean_abs",
    "gap_of_round_best",
    "refit_s",
]


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
        verify: designs verified per round.
        round_steps: agent iterations on the surrogate env per round.
        epochs, refit_epochs: training epochs of the first fit and of each refit.
        width, depth: size of a fresh surrogate (THz: physics head; acoustic: 3-member ensemble).
    """

    search: SearchConfig
    physics_budget: int
    model: str = "surrogate"
    initial: int | None = None
    verify: int = 50
    round_steps: int = 4_000
    epochs: int = 150
    refit_epochs: int = 30
    width: int = 128
    depth: int = 3

    def __post_init__(self) -> None:
        if self.search.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} for a surrogate search; got {self.search.kind!r}")
        for name in ("physics_budget", "verify", "round_steps", "epochs", "refit_epochs", "width", "depth"):
            value, low = getattr(self, name), 2 if name == "physics_budget" else 1
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")
        first = self.first_training_set()
        if first >= self.physics_budget:
            raise ValueError(
                f"physics_budget must exceed the first training set ({first} designs, "
                f"{'initial' if self.model == 'surrogate' else 'training designs of ' + self.model}); got "
                f"physics_budget={self.physics_budget}"
            )
        replace(self.search, steps=max(self.round_steps, self.search.num_envs))  # the agent settings fit a round

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


def _agent_round(cfg: ActiveConfig, recorder: _Recorder, round_index: int) -> int:
    """Run the agent on the surrogate env for one round; returns the env's surrogate evaluations."""
    search = replace(
        cfg.search, steps=max(cfg.round_steps, cfg.search.num_envs), seed=cfg.search.seed + 7919 * round_index
    )
    baseline = search.agent in BASELINES
    venv = make_venv(search, 1 if baseline else search.num_envs, model=recorder)
    if baseline:
        box = Budget(venv.core, search.steps, lambda n: None, search.log_every)
        run_baseline(search.agent, box, search.seed, search.agent_options)
    else:
        make_agent(search, venv).learn(search.steps)
    return int(venv.evaluations)


def surrogate_search(
    cfg: ActiveConfig, serve: Callable[[ThzSurrogate | AcousticSurrogate], Any] | None = None
) -> ActiveResult:
    """Run a surrogate-assisted search (see the module docstring) and write its run folder.

    ``serve``, if given, maps the fitted surrogate to the one the agent searches and the ranking
    reads (e.g. a compressed copy); it is called again after every refit, and refits train the
    fitted surrogate. The folder holds ``config.json``, ``metrics.csv`` (one row per round: physics and surrogate
    evaluations so far, the gap between the surrogate's and the physics' objective of the
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
        objectives = _objectives(physics_core, data.index)
        verified.update({tuple(int(k) for k in row): float(v) for row, v in zip(data.index, objectives)})
    surrogate_evaluations = 0
    rounds = 0
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, _COLUMNS)
        writer.writeheader()
        while used < cfg.physics_budget:
            rounds += 1
            recorder = _Recorder(served)
            before = served.physics_evaluations
            surrogate_evaluations += _agent_round(cfg, recorder, rounds)
            used += served.physics_evaluations - before  # designs outside the training box went to the physics
            visited = np.unique(_grid_index(physics_core.grid, np.concatenate(recorder.columns)), axis=0)
            fresh = np.array([row for row in visited if tuple(int(k) for k in row) not in verified], dtype=np.int64)
            fresh = fresh.reshape(-1, physics_core.grid.dim)
            k = min(cfg.verify, cfg.physics_budget - used, len(fresh))
            row: dict[str, Any] = {"round": rounds, "out_of_bounds": served.out_of_bounds}
            if k > 0:
                predicted = _objectives(_core(search, served), fresh)
                top = np.argsort(-predicted, kind="stable")[:k]
                chosen, predicted = fresh[top], predicted[top]
                actual = _objectives(physics_core, chosen)
                used += k
                verified.update({tuple(int(v) for v in idx): float(a) for idx, a in zip(chosen, actual)})
                gap = predicted - actual
                row |= {
                    "verified": k,
                    "round_best_surrogate_objective": float(predicted[0]),
                    "round_best_physics_objective": float(actual[0]),
                    "gap_mean_abs": float(np.mean(np.abs(gap))),
                    "gap_of_round_best": float(gap[0]),
                }
                new = _physics_rows(
                    search.kind, physics_core.grid, chosen, _template(surrogate) if data is None else data
                )
                data = new if data is None else data.concat(new)
                tic = time.perf_counter()
                surrogate.fit(data, cfg.refit_epochs, lr=5e-4, seed=search.seed + rounds)
                row["refit_s"] = round(time.perf_counter() - tic, 2)
                served = surrogate if serve is None else serve(surrogate)
            row |= {
                "physics_evaluations": used,
                "surrogate_evaluations": surrogate_evaluations,
                "training_designs": 0 if data is None else len(data),
                "best_verified_objective": max(verified.values()) if verified else "",
            }
            writer.writerow(row)
            handle.flush()
            if len(fresh) == 0:
                break  # the agent visited only verified designs: nothing left to learn from this surrogate
    best_key = max(verified, key=verified.get)
    design = physics_core.grid.design(np.array(best_key))
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
