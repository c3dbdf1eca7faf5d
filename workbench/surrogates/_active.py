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
the family's reference report and marked ``"verified": "physics"``. After the first training set
and after every round the run folder gets a checkpoint, from which
:func:`resume_surrogate_search` (``workbench search --resume``) continues a killed run.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
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
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import envs  # noqa: F401  (registers the environments)
from analytic import acoustic, thz

from ..agents import BASELINES
from ..agents.baselines import Budget, run_baseline
from ..agents.vec_env import GymnasiumVecEnv
from ..families import FAMILIES
from ..search import SearchConfig
from ..search._rundir import commit_checkpoint, config_hash, make_run_dir, read_checkpoint
from ..search._runner import agent_class, make_agent, make_venv
from ..search.config import config_fields
from ._acoustic import AcousticSurrogate, build_acoustic
from ._checkpoints import load, save
from ._datasets import (
    KINDS,
    Dataset,
    acoustic_responses,
    make_dataset,
    read_dataset,
    thz_responses,
    write_dataset,
)
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

    @classmethod
    def from_json(cls, text: str, source: str) -> ActiveConfig:
        """Rebuild a config from ``config.json`` text; ``source`` names the file in errors."""
        values = config_fields(cls, text, source)
        if not isinstance(values.get("search"), dict):
            raise ValueError(f"{source} is not the config of a surrogate-assisted search: no 'search' settings")
        return cls(**values | {"search": SearchConfig.from_json(json.dumps(values["search"]), source)})

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

    def save(self, folder: Path) -> dict[str, Any]:
        """Write a learning agent's model and replay buffer to ``folder``; return its schedule and action-space state."""
        if self.model is None:
            return {"total": self.total}
        self.model.save(folder / "model.zip")
        if isinstance(self.model, OffPolicyAlgorithm):
            self.model.save_replay_buffer(folder / "replay_buffer.pkl")
        space = self.model.action_space.np_random.bit_generator.state
        return {"total": self.total, "model_timesteps": self.model.num_timesteps, "action_space": space}

    def restore(self, folder: Path, state: dict[str, Any]) -> None:
        """Load what :meth:`save` wrote (SB3's load reseeds every generator: the caller restores the global ones)."""
        self.total = state["total"]
        if "model_timesteps" not in state:
            return
        try:
            model = agent_class(self.cfg.search).load(folder / "model.zip", device="cpu")
            if isinstance(model, OffPolicyAlgorithm):
                model.load_replay_buffer(folder / "replay_buffer.pkl")
        except Exception as error:  # SB3 raises many types for a damaged zip or pickle
            raise ValueError(f"{self.cfg.search.agent} model: {type(error).__name__}: {error}") from None
        if model.num_timesteps != state["model_timesteps"]:
            raise ValueError(f"model at time step {model.num_timesteps}, state at {state['model_timesteps']}")
        model.action_space.np_random.bit_generator.state = state["action_space"]
        self.model = model

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
            self.model.get_env().seed(search.seed + 7919 * round_index)  # reproducible starts on the fresh env
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


@dataclass
class _Progress:
    """What a run has done so far; written to a checkpoint after every round and restored by a resume."""

    surrogate: ThzSurrogate | AcousticSurrogate
    data: Dataset | None
    verified: dict[tuple[int, ...], float]
    rng: np.random.Generator
    used: int
    radius: int
    surrogate_evaluations: int = 0
    rounds: int = 0


def surrogate_search(
    cfg: ActiveConfig, serve: Callable[[ThzSurrogate | AcousticSurrogate], Any] | None = None
) -> ActiveResult:
    """Run a surrogate-assisted search (see the module docstring) and write its run folder.

    ``serve``, if given, maps the fitted surrogate to the one the agent searches and the ranking
    reads (e.g. a compressed copy); it is called again after every refit, and refits train the
    fitted surrogate. The folder holds ``config.json``, ``metrics.csv`` (one row per round: physics
    and surrogate evaluations so far, designs verified by the agent step and by the trust-region
    step, the radius, the gap between the surrogate's and the physics' objective of the agent step's
    verified designs, the best verified objective), ``best.json`` (physics-verified only), the
    family's plot of the best design, and ``checkpoint.json`` pointing at the checkpoint of the
    last finished round (``checkpoints/<round>/``), from which :func:`resume_surrogate_search`
    continues a killed run.
    """
    start = time.perf_counter()
    search = cfg.search
    torch.set_num_threads(search.torch_threads)
    stem = f"{search.kind}-surrogate-{time.strftime('%Y%m%d-%H%M%S')}-s{search.seed}"
    run_dir = make_run_dir(search.runs_root, search.name, stem)
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str))
    physics_core = _core(search, None)
    if cfg.model == "surrogate":
        data = make_dataset(search.kind, cfg.first_training_set(), search.seed, search.env_config())
        surrogate = _fresh_surrogate(cfg, data)
        surrogate.fit(data, cfg.epochs, lr=2e-3, seed=search.seed)
        # the training designs are physics-evaluated designs: the best of them counts
        verified = dict(zip(_keys(data.index), _objectives(physics_core, data.index).tolist()))
    else:
        surrogate, data, verified = load(search.kind, cfg.model, env=search.env_config()), None, {}
    progress = _Progress(
        surrogate, data, verified, np.random.default_rng(search.seed), cfg.first_training_set(), cfg.radius
    )
    agent = _Agent(cfg)
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        csv.DictWriter(handle, _COLUMNS).writeheader()
    _save_checkpoint(run_dir, progress, agent, out_of_bounds=0)
    return _rounds(cfg, run_dir, physics_core, progress, agent, serve, start)


def resume_surrogate_search(run_dir: str | Path) -> ActiveResult:
    """Continue a killed surrogate-assisted search from the checkpoint of its last finished round.

    The checkpoint (written after the first training set and after every round) holds the
    physics-evaluation counter, every verified design with its objective, the training data, the
    refitted surrogate, the trust-region radius, a learning agent's model and replay buffer, and
    every random state the rounds draw from. ``metrics.csv`` keeps its rows up to that round.

    Guaranteed: the round that was running at the kill is dropped whole and run again, so its
    physics evaluations are neither counted twice nor kept half-counted; the counter always equals
    the first training set plus the designs verified and answered by the physics (out of the
    training box) in the finished rounds, and the resumed run stops where an uninterrupted one
    does (budget spent, or nothing left to verify). Work lost: the physics evaluations of the
    dropped round (done again). Reproducible: with one torch thread (the default) the resumed
    rounds repeat the uninterrupted run's rounds, so it ends with the same verified designs,
    ``metrics.csv`` rows (but ``refit_s``) and ``best.json`` design.

    Raises:
        ValueError: no run folder, not a surrogate-assisted search, no or corrupted checkpoint, a
            config changed since the checkpoint, or a finished run; nothing in the folder is changed.
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    config = run_dir / "config.json"
    if not config.is_file():
        raise ValueError(f"resume needs a run folder holding config.json; got {run_dir} (no {config.name} there)")
    cfg = ActiveConfig.from_json(config.read_text(), str(config))
    state = read_checkpoint(run_dir, "round", "the first is written after the first training set")
    folder = state["folder"]
    search = cfg.search
    torch.set_num_threads(search.torch_threads)
    agent = _Agent(cfg)
    try:
        surrogate = load(search.kind, folder / "surrogate.pt", env=search.env_config())
        data = read_dataset(folder / "data.h5") if (folder / "data.h5").is_file() else None
        agent.restore(folder, state["agent"])
    except (OSError, ValueError) as error:
        raise ValueError(
            f"checkpoint {folder} cannot be loaded ({type(error).__name__}: {error}); delete checkpoint.json and "
            "checkpoints/ to start over"
        ) from None
    np.random.set_state(
        (state["numpy_random"][0], np.array(state["numpy_random"][1], np.uint32), *state["numpy_random"][2:])
    )
    torch.set_rng_state(torch.tensor(state["torch_random"], dtype=torch.uint8))
    rng = np.random.default_rng()
    rng.bit_generator.state = state["rng"]
    verified = {tuple(key): value for key, value in zip(state["verified"]["index"], state["verified"]["objective"])}
    progress = _Progress(
        surrogate,
        data,
        verified,
        rng,
        state["physics_evaluations"],
        state["radius"],
        state["surrogate_evaluations"],
        state["round"],
    )
    surrogate.out_of_bounds = state["out_of_bounds"]
    path = run_dir / "metrics.csv"
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["round"]) <= progress.rounds]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, _COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)  # rows of the round that was running when the run was killed are written again
    return _rounds(cfg, run_dir, _core(search, None), progress, agent, None, start)


def _save_checkpoint(run_dir: Path, progress: _Progress, agent: _Agent, out_of_bounds: int) -> None:
    """Write ``checkpoints/<round>/`` (surrogate, training data, agent, ``state.json``) and commit it.

    ``out_of_bounds``: designs the served surrogate has sent to the physics so far.
    """
    folder = run_dir / "checkpoints" / f"{progress.rounds:06d}"
    folder.mkdir(parents=True, exist_ok=True)
    save(progress.surrogate, folder / "surrogate.pt")
    if progress.data is not None:
        write_dataset(progress.data, folder / "data.h5")
    numpy_random = np.random.get_state()
    state = {
        "round": progress.rounds,
        "physics_evaluations": progress.used,
        "surrogate_evaluations": progress.surrogate_evaluations,
        "radius": progress.radius,
        "out_of_bounds": out_of_bounds,
        "verified": {"index": list(progress.verified), "objective": list(progress.verified.values())},
        "rng": progress.rng.bit_generator.state,
        "numpy_random": [numpy_random[0], numpy_random[1].tolist(), *numpy_random[2:]],
        "torch_random": torch.get_rng_state().tolist(),
        "agent": agent.save(folder),
        "config_sha256": config_hash(run_dir),
    }
    (folder / "state.json").write_text(json.dumps(state, allow_nan=False))
    commit_checkpoint(run_dir, folder, "round", progress.rounds)


def _rounds(
    cfg: ActiveConfig,
    run_dir: Path,
    physics_core: Any,
    progress: _Progress,
    agent: _Agent,
    serve: Callable[[ThzSurrogate | AcousticSurrogate], Any] | None,
    start: float,
) -> ActiveResult:
    """The rounds from ``progress`` until the budget is spent; then ``best.json``."""
    search = cfg.search
    grid = physics_core.grid
    served = progress.surrogate if serve is None else serve(progress.surrogate)
    verified = progress.verified

    def verify(index: np.ndarray) -> np.ndarray:
        actual = _objectives(physics_core, index)
        progress.used += len(index)
        verified.update(zip(_keys(index), actual.tolist()))
        return actual

    with open(run_dir / "metrics.csv", "a", newline="") as handle:
        writer = csv.DictWriter(handle, _COLUMNS)
        while progress.used < cfg.physics_budget:
            progress.rounds += 1
            recorder = _Recorder(served)
            before = served.physics_evaluations
            progress.surrogate_evaluations += agent.run(recorder, progress.rounds)
            progress.used += served.physics_evaluations - before  # designs outside the training box went to the physics
            visited = np.unique(_grid_index(grid, np.concatenate(recorder.columns)), axis=0)
            fresh = np.array([row for row in visited if tuple(int(k) for k in row) not in verified], dtype=np.int64)
            fresh = fresh.reshape(-1, grid.dim)
            scorer = _Scorer(search, served)
            row: dict[str, Any] = {
                "round": progress.rounds,
                "verified": 0,
                "local_verified": 0,
                "radius": progress.radius,
            }
            chosen = [np.zeros((0, grid.dim), np.int64)]
            if len(fresh):
                mean, spread, physics = scorer(fresh)
                progress.used += physics
                k = max(0, min(cfg.verify, cfg.physics_budget - progress.used))
                top = _distinct_best(fresh, mean + cfg.kappa * spread, k, cfg.separation)
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
            k_local = min(cfg.local, cfg.physics_budget - progress.used)
            if k_local > 0 and verified:
                incumbent = max(verified.values())
                centre = np.array(max(verified, key=verified.get), dtype=np.int64)
                near = _neighbourhood(grid, centre, progress.radius, progress.rng)
                near = near[[key not in verified for key in _keys(near)]]
                if len(near):
                    mean, spread, physics = scorer(near)
                    progress.used += physics
                    top = np.argsort(-(mean + cfg.kappa * spread), kind="stable")[
                        : max(0, min(k_local, cfg.physics_budget - progress.used))
                    ]
                    actual = verify(near[top]) if len(top) else np.zeros(0)
                    chosen.append(near[top])
                    if len(top):
                        row |= {"local_verified": len(top), "local_best_physics_objective": float(actual.max())}
                    improved = actual.size and actual.max() > incumbent
                    progress.radius = progress.radius if improved else max(1, progress.radius // 2)
            new_designs = np.concatenate(chosen)
            if len(new_designs):
                data = progress.data
                template = _template(progress.surrogate) if data is None else data
                new = _physics_rows(search.kind, grid, new_designs, template)
                progress.data = new if data is None else data.concat(new)
                tic = time.perf_counter()
                progress.surrogate.fit(progress.data, cfg.refit_epochs, lr=5e-4, seed=search.seed + progress.rounds)
                row["refit_s"] = round(time.perf_counter() - tic, 2)
                served = progress.surrogate if serve is None else serve(progress.surrogate)
            row |= {
                "out_of_bounds": served.out_of_bounds,
                "physics_evaluations": progress.used,
                "surrogate_evaluations": progress.surrogate_evaluations,
                "training_designs": 0 if progress.data is None else len(progress.data),
                "best_verified_objective": max(verified.values()) if verified else "",
            }
            writer.writerow(row)
            handle.flush()
            _save_checkpoint(run_dir, progress, agent, served.out_of_bounds)
            if len(new_designs) == 0:
                break  # nothing left to verify: the agent revisited verified designs and the trust region is spent
    best_key = max(verified, key=verified.get)
    design = grid.design(np.array(best_key))
    report, _ = FAMILIES[search.kind].report(search.env_config(), run_dir, design)
    best = {
        "design": design,
        "objective": verified[best_key],
        "verified": "physics",
        "physics_evaluations": progress.used,
        "surrogate_evaluations": progress.surrogate_evaluations,
        "rounds": progress.rounds,
        "seconds": round(time.perf_counter() - start, 1),
        **report,
    }
    (run_dir / "best.json").write_text(json.dumps(best, indent=2, default=str, allow_nan=False))
    return ActiveResult(
        run_dir,
        verified[best_key],
        design,
        best,
        progress.used,
        progress.surrogate_evaluations,
        progress.rounds,
    )
