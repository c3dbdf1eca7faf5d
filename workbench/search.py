"""Inverse design searches with a run folder per search: Double DQN, SB3 agents and baselines.

``search(SearchConfig(...))`` is the documented Python entry point and ``resume(run_dir)``
continues a killed search from its last checkpoint; ``workbench search thz|acoustic`` is a thin layer
over both. One iteration = one evaluated design (a vector step of n envs counts n) together with the
learning updates made for it; the black-box baselines spend the same unit.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch as th
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import envs  # noqa: F401  (registers the environments)
from analytic import thz
from envs.nanogap import DesignGrid, NanogapConfig

from ._acoustic_family import ACOUSTIC_FAMILY
from .agents import DoubleDQN, GymnasiumVecEnv
from .agents.baselines import BASELINES, Budget, check_options, run_baseline
from .plots import plot_learning_curve, plot_thz_spectrum

SB3_ALGORITHMS = ("A2C", "DDPG", "DQN", "PPO", "SAC", "TD3")
"""stable-baselines3 algorithms usable as ``agent="sb3:<NAME>"``."""
_CONTINUOUS_ONLY = ("DDPG", "SAC", "TD3")  # these need the continuous-action env
AGENTS = ("ddqn", *BASELINES, *(f"sb3:{name}" for name in SB3_ALGORITHMS))
"""Values accepted by ``SearchConfig.agent``."""

_COLUMNS = ["iteration", "best_objective", "mean_reward", "epsilon", "evaluations", "cache_hits"]
_DDQN_SET = {"learning_rate", "gamma", "batch_size", "buffer_size", "learning_starts", "train_freq"}
_DDQN_SET |= {"gradient_steps", "target_update_interval", "exploration_fraction", "exploration_final_eps"}
_DDQN_SET |= {"policy", "env", "policy_kwargs", "seed", "device"}


@dataclass(frozen=True)
class Family:
    """What a search needs to know about one physics family (``SearchConfig.kind``).

    The family's env cores must offer what the agents use: ``core.grid`` (``low``, ``high``,
    ``sample_many``, ``repair``, ``design``), ``core.evaluate`` (evaluations with ``potential``),
    and ``best_value``, ``best_index``, ``best_design``, ``evaluations``, ``cache_hits``.

    Attributes:
        env_ids: registered ids of the discrete-action and the continuous-action env.
        default_target: Hz, the target frequency when the config leaves it out.
        default_objective: the env objective when the config leaves it out.
        validate: raises ``ValueError`` for an env config mapping that no env would accept.
        report: ``(cfg, run_dir, best_design) → (best, spectrum)``: re-evaluates the best design
            with the reference path, writes the family's plot(s) into ``run_dir`` and returns the
            ``best.json`` content and the best design's spectrum/response object.
    """

    env_ids: tuple[str, str]
    default_target: float
    default_objective: str
    validate: Callable[[dict[str, Any]], None]
    report: Callable[[SearchConfig, Path, dict[str, Any]], tuple[dict[str, Any], Any]]


FAMILIES: dict[str, Family] = {}
"""Physics families by ``SearchConfig.kind``; filled below and by :func:`register_family`."""


def register_family(kind: str, family: Family) -> None:
    """Make ``SearchConfig(kind=kind)`` search ``family``'s environments."""
    FAMILIES[kind] = family


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one search; resolved once and saved as ``config.json`` in the run folder.

    Attributes:
        kind: physics family, ``"thz"`` (nanogap-loop arrays, the default), ``"acoustic"``
            (plate-backed cavities) or another name of :data:`FAMILIES`.
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
        agent_options: extra keyword arguments of the agent: the SB3 constructor (for ``ddqn``,
            those not set by the fields below) or the baseline function (e.g. ``popsize``).
        num_envs: designs evaluated per vector step (one Numba call); RL agents only.
        learning_rate, gamma, batch_size, buffer_size: DDQN settings (design note §4).
        learning_starts_fraction: replay warm-up, fraction of ``steps`` (at most 5,000 iterations).
        exploration_fraction: ε decays 1 → ``exploration_final_eps`` over this fraction of steps.
        target_update_fraction: hard target update every this fraction of steps.
        gradient_steps: gradient updates per vector step (every vector step trains).
        torch_threads: torch intra-op threads (Numba keeps its own pool for the physics).
        log_every: iterations between ``metrics.csv`` rows.
        checkpoint_every: iterations between checkpoints of RL agents (model, replay buffer,
            best design, counters), from which :func:`resume` continues.
        progress: show the rich progress bar (on stderr).
        runs_root, name: the run folder is ``runs_root/name`` (default ``<kind>-<time>-s<seed>``).
        env: extra env config keys (for THz, ``NanogapConfig`` keys: bounds, materials, ...; for
            acoustic, ``PlateCavityConfig`` keys: grids, mass budget, band, mode counts, ...).
    """

    kind: str = "thz"
    objective: str | None = None
    target_frequency: float | None = None
    steps: int = 200_000
    seed: int = 0
    agent: str = "ddqn"
    agent_options: dict[str, Any] = field(default_factory=dict)
    num_envs: int = 16
    learning_rate: float = 1e-3
    gamma: float = 0.99
    batch_size: int = 128
    buffer_size: int = 200_000
    learning_starts_fraction: float = 0.02
    exploration_fraction: float = 0.5
    exploration_final_eps: float = 0.01
    target_update_fraction: float = 0.01
    gradient_steps: int = 1
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
        if self.target_frequency is None:
            object.__setattr__(self, "target_frequency", FAMILIES[self.kind].default_target)
        if self.objective is None:
            object.__setattr__(self, "objective", FAMILIES[self.kind].default_objective)
        if self.agent not in AGENTS:
            raise ValueError(f"agent must be one of {', '.join(AGENTS)}; got agent={self.agent!r}")
        for name in (
            "steps",
            "num_envs",
            "batch_size",
            "buffer_size",
            "gradient_steps",
            "torch_threads",
            "log_every",
            "checkpoint_every",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
        for name in ("learning_starts_fraction", "exploration_fraction", "target_update_fraction"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must lie in (0, 1]; got {name}={value!r}")
        if not isinstance(self.agent_options, dict):
            raise ValueError(f"agent_options must be a mapping; got agent_options={self.agent_options!r}")
        self._check_agent_options()
        # Validates objective, target and bounds (a valid design must exist) before any work starts.
        FAMILIES[self.kind].validate(self.env_config())

    def _check_agent_options(self) -> None:
        if self.agent in BASELINES:
            check_options(self.agent, self.agent_options)
            return
        cls = self.agent_class()
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        if self.agent == "ddqn":
            accepted -= _DDQN_SET
        unknown = sorted(set(self.agent_options) - accepted)
        if unknown:
            raise ValueError(
                f"agent_options for agent {self.agent!r} must be keyword arguments of {cls.__name__} that the "
                f"search does not set itself ({', '.join(sorted(accepted))}); got {', '.join(unknown)}"
            )

    def agent_class(self) -> type[BaseAlgorithm]:
        """The SB3 algorithm class of an RL agent (``DoubleDQN`` for ``"ddqn"``)."""
        if self.agent == "ddqn":
            return DoubleDQN
        if self.agent.startswith("sb3:"):
            return getattr(stable_baselines3, self.agent[4:])
        raise ValueError(f"agent {self.agent!r} is a black-box baseline, not an RL algorithm")

    @property
    def continuous(self) -> bool:
        """Whether the agent acts on the continuous-action env."""
        return self.agent[4:] in _CONTINUOUS_ONLY

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
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} is not valid JSON ({error}); it is not a search config") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(values, dict) or set(values) - known:
            extra = sorted(set(values) - known) if isinstance(values, dict) else values
            raise ValueError(f"{source} is not a config of this version of workbench: unknown entries {extra}")
        return cls(**values)


@dataclass(frozen=True)
class SearchResult:
    """Outcome of a search: the best design, its re-evaluation and spectrum, and the run folder.

    Attributes:
        run_dir: the run folder.
        config: the resolved settings.
        best_value: objective of the best design found during the search.
        best_design: its env design mapping (THz: ``thz.LoopArray`` keyword arguments, SI units;
            acoustic: see ``envs.plate_cavity.cavity_from_design``).
        best: the ``best.json`` content: the design re-evaluated with the reference path (THz:
            ``fe_avg``, ``t_abs``, ``resonance_hz``; acoustic: ``lp_band_db``, ``f1_hz``,
            ``total_mass_kg``, ...).
        spectrum: the best design's spectrum (THz: ``thz.Spectrum`` around the target) or
            response (acoustic: ``acoustic.Response`` over the band).
        iterations: iterations of the whole run (also across a resume).
        iterations_per_s: iterations of this session ÷ the wall time of its search loop.
        startup_s: time before the loop (env and agent construction, compilation, loading).
    """

    run_dir: Path
    config: SearchConfig
    best_value: float
    best_design: dict[str, Any]
    best: dict[str, Any]
    spectrum: Any
    iterations: int
    iterations_per_s: float
    startup_s: float


class _Metrics:
    """``metrics.csv`` rows (deterministic), TensorBoard scalars and the rich progress bar."""

    def __init__(self, run_dir: Path, cfg: SearchConfig, keep_until: int | None) -> None:
        self.run_dir = run_dir
        path = run_dir / "metrics.csv"
        if keep_until is None:
            with open(path, "w", newline="") as handle:
                csv.writer(handle).writerow(_COLUMNS)
        else:  # resuming: keep the rows up to the checkpoint; the resumed run writes the rest
            with open(path, newline="") as handle:
                rows = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= keep_until]
            tmp = path.with_suffix(".csv.tmp")
            with open(tmp, "w", newline="") as handle:
                writer = csv.DictWriter(handle, _COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            os.replace(tmp, path)
        self.handle = open(path, "a", newline="")  # noqa: SIM115  (closed in close())
        self.writer = csv.DictWriter(self.handle, _COLUMNS)
        self.logger: Logger = configure(str(run_dir), ["tensorboard"])
        self.progress = Progress(
            TextColumn(f"[bold]{cfg.agent} search"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} it/s, best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),  # stdout stays clean for --json
            disable=not cfg.progress,
        )
        self.task = self.progress.add_task("search", total=cfg.steps, completed=keep_until or 0, best="-", rate="-")
        self.started, self.first = time.perf_counter(), keep_until or 0

    def show(self, n: int, best: float) -> None:
        rate = (n - self.first) / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, completed=n, best=f"{best:,.1f}", rate=f"{rate:,.0f}")

    def row(self, n: int, venv, mean_reward: float | str = "", epsilon: float | str = "") -> None:
        """Write the ``metrics.csv`` row of iteration ``n`` (empty reward/ε for baselines)."""
        row = {
            "iteration": n,
            "best_objective": venv.best_value,
            "mean_reward": mean_reward,
            "epsilon": epsilon,
            "evaluations": venv.evaluations,
            "cache_hits": venv.cache_hits,
        }
        self.writer.writerow(row)
        self.handle.flush()  # rows are few (every log_every iterations); readers see them at once
        self.logger.record("charts/best_objective", venv.best_value)
        if mean_reward != "":
            self.logger.record("charts/mean_reward", mean_reward)

    def close(self) -> None:
        self.handle.close()
        self.logger.close()


class _Tracker(BaseCallback):
    """Metrics rows every ``log_every`` iterations, checkpoints, and the exact iteration budget."""

    def __init__(self, venv: gym.vector.VectorEnv, cfg: SearchConfig, metrics: _Metrics, state: dict | None) -> None:
        super().__init__()
        self.venv, self.cfg, self.metrics = venv, cfg, metrics
        self.next_log = state["next_log"] if state else cfg.log_every
        self.rewards: list[float] = state["pending_rewards"] if state else []
        self.next_checkpoint = (state["iterations"] if state else 0) + cfg.checkpoint_every

    def _on_step(self) -> bool:
        self.rewards.append(float(np.mean(self.locals["rewards"])))
        n = self.num_timesteps
        self.metrics.show(n, self.venv.best_value)
        if n >= self.next_log or n >= self.cfg.steps:
            self.next_log += self.cfg.log_every
            rate = getattr(self.model, "exploration_rate", "")  # off-policy Q-learning agents only
            self.metrics.row(n, self.venv, float(np.mean(self.rewards)), rate)
            self.rewards.clear()
        if n >= self.next_checkpoint and n < self.cfg.steps:
            self.next_checkpoint += self.cfg.checkpoint_every
            self.save()
        return n < self.cfg.steps  # on-policy agents would otherwise finish their rollout

    def save(self) -> None:
        """Write a checkpoint: model, replay buffer and search state, then point ``checkpoint.json`` at it."""
        _save_checkpoint(self.metrics.run_dir, self.model, self.venv, self.num_timesteps, self.next_log, self.rewards)


def _config_hash(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / "config.json").read_bytes()).hexdigest()


def _save_checkpoint(run_dir: Path, model: BaseAlgorithm, venv, n: int, next_log: int, rewards: list) -> None:
    folder = run_dir / "checkpoints" / f"{n:012d}"
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.zip")
    if isinstance(model, OffPolicyAlgorithm):
        model.save_replay_buffer(folder / "replay_buffer.pkl")
    state = {
        "iterations": n,
        "next_log": next_log,
        "pending_rewards": list(rewards),
        "best_value": venv.best_value,
        "best_index": venv.core.best_index,
        "evaluations": venv.evaluations,
        "cache_hits": venv.cache_hits,
        "config_sha256": _config_hash(run_dir),
    }
    (folder / "state.json").write_text(json.dumps(state))
    pointer = run_dir / "checkpoint.json"
    tmp = run_dir / "checkpoint.json.tmp"
    tmp.write_text(json.dumps({"iterations": n, "path": str(folder.relative_to(run_dir))}))
    os.replace(tmp, pointer)  # the commit point: a kill before it leaves the previous checkpoint in force
    for old in (run_dir / "checkpoints").iterdir():
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)


def _run_dir(cfg: SearchConfig) -> Path:
    name = cfg.name or f"{cfg.kind}-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}"
    path = Path(cfg.runs_root) / name
    path.mkdir(parents=True, exist_ok=False)
    return path


def _make_venv(cfg: SearchConfig, num_envs: int) -> gym.vector.VectorEnv:
    return gym.make_vec(
        cfg.env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        config=cfg.env_config(),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )


def _new_model(cfg: SearchConfig, venv: gym.vector.VectorEnv) -> BaseAlgorithm:
    env = GymnasiumVecEnv(venv)
    if cfg.agent != "ddqn":
        return cfg.agent_class()("MlpPolicy", env, seed=cfg.seed, device="cpu", **cfg.agent_options)
    obs_dim = venv.single_observation_space.shape[0]
    steps = cfg.steps
    return DoubleDQN(
        "MlpPolicy",
        env,
        learning_rate=cfg.learning_rate,
        gamma=cfg.gamma,
        batch_size=cfg.batch_size,
        buffer_size=min(cfg.buffer_size, steps),
        learning_starts=min(5_000, max(cfg.batch_size, int(cfg.learning_starts_fraction * steps))),
        train_freq=1,
        gradient_steps=cfg.gradient_steps,
        target_update_interval=max(cfg.num_envs, int(cfg.target_update_fraction * steps)),
        exploration_fraction=cfg.exploration_fraction,
        exploration_final_eps=cfg.exploration_final_eps,
        policy_kwargs={"net_arch": [2 * obs_dim, 2 * obs_dim], "activation_fn": th.nn.LeakyReLU},
        seed=cfg.seed,
        device="cpu",
        **cfg.agent_options,
    )


def search(cfg: SearchConfig) -> SearchResult:
    """Run a search over the designs of ``cfg.kind``'s environments and write its run folder.

    The folder holds ``config.json``, ``metrics.csv``, TensorBoard events, ``best.json``, the
    family's plot of the best design (THz ``spectrum.png``, acoustic ``response.png``) and
    ``learning_curve.png``; RL agents also keep
    ``checkpoint.json`` pointing at ``checkpoints/<iteration>/`` (model, replay buffer, search
    state), written every ``checkpoint_every`` iterations and at the end. Every evaluated design
    counts towards the best, not only episode ends.
    """
    start = time.perf_counter()
    run_dir = _run_dir(cfg)
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    return _run(cfg, run_dir, start, None)


def resume(run_dir: str | Path) -> SearchResult:
    """Continue a killed RL search from its last checkpoint, in the same run folder.

    ``metrics.csv`` keeps its rows up to the checkpoint (the resumed run writes the later ones
    again from the restored state); the best design, the evaluation counters, the model and the
    replay buffer are restored. The environments start fresh episodes, so a resumed run is not
    bit-identical to an uninterrupted one.

    Raises:
        ValueError: no run folder, no or corrupted checkpoint, a config changed since the
            checkpoint, a finished run or a baseline run; nothing in the folder is changed.
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    cfg, state = _load_checkpoint(run_dir)
    return _run(cfg, run_dir, start, state)


def _load_checkpoint(run_dir: Path) -> tuple[SearchConfig, dict]:
    config = run_dir / "config.json"
    if not config.is_file():
        raise ValueError(f"resume needs a run folder holding config.json; got {run_dir} (no {config.name} there)")
    cfg = SearchConfig.from_json(config.read_text(), str(config))
    if cfg.agent in BASELINES:
        raise ValueError(
            f"resume continues RL agents from a checkpoint; {run_dir} ran the baseline {cfg.agent!r}, which has no "
            "checkpoint: start it again with the same seed"
        )
    if (run_dir / "best.json").is_file():
        raise ValueError(f"{run_dir} holds a finished search (best.json exists); nothing to resume")
    pointer = run_dir / "checkpoint.json"
    if not pointer.is_file():
        raise ValueError(
            f"{run_dir} has no checkpoint yet (the first is written at iteration {cfg.checkpoint_every}); start the "
            "search again"
        )
    try:
        where = json.loads(pointer.read_text())
        folder = run_dir / where["path"]
        state = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"checkpoint of {run_dir} is corrupted ({error}); delete {pointer.name} and checkpoints/ to start over"
        ) from None
    if state.get("config_sha256") != _config_hash(run_dir):
        raise ValueError(
            f"{config} changed after the checkpoint at iteration {state.get('iterations')} was written; restore the "
            "original config.json or start a new search"
        )
    state["folder"] = folder
    return cfg, state


def _restore_model(cfg: SearchConfig, venv: gym.vector.VectorEnv, state: dict) -> BaseAlgorithm:
    folder = state["folder"]
    try:
        model = cfg.agent_class().load(folder / "model.zip", env=GymnasiumVecEnv(venv), device="cpu")
        if isinstance(model, OffPolicyAlgorithm):
            model.load_replay_buffer(folder / "replay_buffer.pkl")
    except Exception as error:  # SB3 raises many types for a damaged zip or pickle
        raise ValueError(
            f"checkpoint {folder} cannot be loaded as a {cfg.agent} model for this env ({type(error).__name__}: "
            f"{error}); delete checkpoint.json and checkpoints/ to start over"
        ) from None
    if model.num_timesteps != state["iterations"]:
        raise ValueError(
            f"checkpoint {folder} is inconsistent: model at iteration {model.num_timesteps}, state at "
            f"{state['iterations']}; delete checkpoint.json and checkpoints/ to start over"
        )
    core = venv.core
    core.best_value, core.best_index = state["best_value"], tuple(state["best_index"])
    core.evaluations, core.cache_hits = state["evaluations"], state["cache_hits"]
    return model


def _run(cfg: SearchConfig, run_dir: Path, start: float, state: dict | None) -> SearchResult:
    th.set_num_threads(cfg.torch_threads)
    if cfg.agent in BASELINES:
        venv = _make_venv(cfg, 1)
        model = None
    else:
        venv = _make_venv(cfg, cfg.num_envs)
        model = _restore_model(cfg, venv, state) if state else _new_model(cfg, venv)
    metrics = _Metrics(run_dir, cfg, state["iterations"] if state else None)
    done_before = state["iterations"] if state else 0
    with metrics.progress:
        startup = time.perf_counter() - start
        loop_start = time.perf_counter()
        if model is None:
            iterations = _run_baseline(cfg, venv, metrics)
        else:
            model.set_logger(metrics.logger)
            model.get_env().seed(cfg.seed + done_before)
            tracker = _Tracker(venv, cfg, metrics, state)
            model.learn(cfg.steps - done_before, callback=tracker, reset_num_timesteps=state is None)
            iterations = model.num_timesteps
            tracker.save()
        loop_s = time.perf_counter() - loop_start
    metrics.close()
    return _finish(cfg, run_dir, venv, iterations, (iterations - done_before) / loop_s, startup)


def _run_baseline(cfg: SearchConfig, venv, metrics: _Metrics) -> int:
    def report(n: int) -> None:
        metrics.show(n, venv.best_value)
        if n % cfg.log_every == 0 or n == cfg.steps:
            metrics.row(n, venv)
            metrics.logger.dump(n)

    box = Budget(venv.core, cfg.steps, report, cfg.log_every)
    run_baseline(cfg.agent, box, cfg.seed, cfg.agent_options)
    return box.used


def _finish(cfg: SearchConfig, run_dir: Path, venv, iterations: int, rate: float, startup: float) -> SearchResult:
    design = dict(venv.best_design)
    best, spectrum = FAMILIES[cfg.kind].report(cfg, run_dir, design)
    best = {"design": design, "objective": venv.best_value, **best}
    (run_dir / "best.json").write_text(json.dumps(best, indent=2, default=str))
    plot_learning_curve(run_dir / "metrics.csv", run_dir / "learning_curve.png")
    return SearchResult(run_dir, cfg, venv.best_value, design, best, spectrum, iterations, rate, startup)


def _thz_validate(config: dict[str, Any]) -> None:
    DesignGrid(NanogapConfig.from_mapping(config))


def _thz_report(cfg: SearchConfig, run_dir: Path, design: dict[str, Any]) -> tuple[dict[str, Any], thz.Spectrum]:
    """Re-evaluate the best loop array with the NumPy reference; plot its spectrum around the target."""
    array = thz.LoopArray(**design)
    f0 = cfg.target_frequency
    check = thz.spectrum(array, [f0], method="numpy")
    hi = min(3 * f0, 0.999 * array.diffraction_frequency)
    grid = np.linspace(0.2 * f0, hi, 256)
    spec = thz.spectrum(array, grid)
    res = thz.resonance(array, grid[0], grid[-1])
    plot_thz_spectrum(array, spec, run_dir / "spectrum.png")
    best = {
        "fe_avg": float(check.fe_avg[0]),
        "t_abs": float(check.t_abs[0]),
        "resonance_hz": res.frequency,
        "target_frequency_hz": f0,
        "fe_convention": "incident-field normalised (fe_avg = |t|/beta)",
    }
    return best, spec


register_family(
    "thz",
    Family(
        env_ids=("workbench/NanogapLoop-v0", "workbench/NanogapLoopContinuous-v0"),
        default_target=0.2e12,
        default_objective="field_enhancement",
        validate=_thz_validate,
        report=_thz_report,
    ),
)
register_family("acoustic", Family(**ACOUSTIC_FAMILY))


__all__ = [
    "AGENTS",
    "FAMILIES",
    "SB3_ALGORITHMS",
    "Family",
    "SearchConfig",
    "SearchResult",
    "register_family",
    "resume",
    "search",
]
