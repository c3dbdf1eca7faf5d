"""THz inverse design: Double DQN over the native vector env, with a run folder per search.

``search(SearchConfig(...))`` is the documented Python entry point; ``workbench search thz`` is a
thin layer over it. One iteration = one evaluated design (a vector step of n envs counts n)
together with the learning updates made for it.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

import envs  # noqa: F401  (registers the environments)
from analytic import thz
from envs.nanogap import DesignGrid, NanogapConfig

from .agents import DoubleDQN, GymnasiumVecEnv
from .plots import plot_learning_curve, plot_thz_spectrum

AGENTS = ("ddqn",)


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one THz search; resolved once and saved as ``config.json`` in the run folder.

    Attributes:
        objective: env objective, ``"field_enhancement"`` or ``"filter"``.
        target_frequency: Hz.
        steps: iterations (evaluated designs).
        seed: seeds the env starts, exploration and network initialisation.
        agent: ``"ddqn"``.
        num_envs: designs evaluated per vector step (one Numba call).
        learning_rate, gamma, batch_size, buffer_size: DDQN settings (design note §4).
        learning_starts_fraction: replay warm-up, fraction of ``steps`` (at most 5,000 iterations).
        exploration_fraction: ε decays 1 → ``exploration_final_eps`` over this fraction of steps.
        target_update_fraction: hard target update every this fraction of steps.
        gradient_steps: gradient updates per vector step (every vector step trains).
        torch_threads: torch intra-op threads (Numba keeps its own pool for the physics).
        log_every: iterations between ``metrics.csv`` rows.
        runs_root, name: the run folder is ``runs_root/name`` (default ``thz-<time>-s<seed>``).
        env: extra ``NanogapConfig`` keys (bounds, materials, ...).
    """

    objective: str = "field_enhancement"
    target_frequency: float = 0.2e12
    steps: int = 200_000
    seed: int = 0
    agent: str = "ddqn"
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
    runs_root: str = "runs"
    name: str | None = None
    env: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.agent not in AGENTS:
            raise ValueError(f"agent must be one of {', '.join(AGENTS)}; got agent={self.agent!r}")
        for name in ("steps", "num_envs", "batch_size", "buffer_size", "gradient_steps", "torch_threads", "log_every"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
        for name in ("learning_starts_fraction", "exploration_fraction", "target_update_fraction"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must lie in (0, 1]; got {name}={value!r}")
        # Validates objective, target and bounds (a valid design must exist) before any work starts.
        DesignGrid(NanogapConfig.from_mapping(self.env_config()))

    def env_config(self) -> dict[str, Any]:
        """The ``NanogapConfig`` mapping of this search."""
        return {**self.env, "objective": self.objective, "target_frequency": self.target_frequency}


@dataclass(frozen=True)
class SearchResult:
    """Outcome of a search: best design (``thz.LoopArray`` kwargs), its spectrum and the run folder."""

    run_dir: Path
    best_value: float
    best_design: dict[str, Any]
    best_fe_avg: float
    best_t_abs: float
    resonance_hz: float
    spectrum: thz.Spectrum
    iterations: int
    iterations_per_s: float
    startup_s: float


class _Tracker(BaseCallback):
    """Deterministic ``metrics.csv`` rows, TensorBoard charts and a rich progress bar."""

    def __init__(self, venv: gym.vector.VectorEnv, cfg: SearchConfig, writer: csv.DictWriter, progress: Progress):
        super().__init__()
        self.venv, self.cfg, self.writer, self.progress = venv, cfg, writer, progress
        self.task = progress.add_task("search", total=cfg.steps, best="-", rate="-")
        self.started = time.perf_counter()
        self.next_log = cfg.log_every
        self.rewards: list[float] = []

    def _on_step(self) -> bool:
        self.rewards.append(float(np.mean(self.locals["rewards"])))
        n = self.num_timesteps
        rate = f"{n / max(time.perf_counter() - self.started, 1e-9):,.0f}"
        self.progress.update(self.task, completed=n, best=f"{self.venv.best_value:,.1f}", rate=rate)
        if n >= self.next_log or n >= self.cfg.steps:
            self.next_log += self.cfg.log_every
            row = {
                "iteration": n,
                "best_objective": self.venv.best_value,
                "mean_reward": float(np.mean(self.rewards)),
                "epsilon": self.model.exploration_rate,
                "evaluations": self.venv.evaluations,
                "cache_hits": self.venv.cache_hits,
            }
            self.rewards.clear()
            self.writer.writerow(row)
            self.logger.record("charts/best_objective", row["best_objective"])
            self.logger.record("charts/mean_reward", row["mean_reward"])
        return True


def _run_dir(cfg: SearchConfig) -> Path:
    name = cfg.name or f"thz-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}"
    path = Path(cfg.runs_root) / name
    path.mkdir(parents=True, exist_ok=False)
    return path


def search(cfg: SearchConfig) -> SearchResult:
    """Run a Double DQN search over nanogap-loop designs and write its run folder.

    The folder holds ``config.json``, ``metrics.csv``, TensorBoard events, ``best.json``,
    ``spectrum.png`` (best design), ``learning_curve.png`` and ``checkpoint.zip`` (the agent).
    Every evaluated design counts towards the best, not only episode ends.
    """
    start = time.perf_counter()
    th.set_num_threads(cfg.torch_threads)
    run_dir = _run_dir(cfg)
    (run_dir / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    venv = gym.make_vec(
        "workbench/NanogapLoop-v0",
        num_envs=cfg.num_envs,
        vectorization_mode="vector_entry_point",
        config=cfg.env_config(),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    obs_dim = venv.single_observation_space.shape[0]
    steps = cfg.steps
    model = DoubleDQN(
        "MlpPolicy",
        GymnasiumVecEnv(venv),
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
    )
    model.set_logger(configure(str(run_dir), ["tensorboard"]))
    model.get_env().seed(cfg.seed)
    columns = ["iteration", "best_objective", "mean_reward", "epsilon", "evaluations", "cache_hits"]
    progress = Progress(
        TextColumn("[bold]thz search"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} it/s, best {task.fields[best]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # stdout stays clean for --json
    )
    with open(run_dir / "metrics.csv", "w", newline="") as handle, progress:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        startup = time.perf_counter() - start
        loop_start = time.perf_counter()
        model.learn(steps, callback=_Tracker(venv, cfg, writer, progress))
        loop_s = time.perf_counter() - loop_start
    model.save(run_dir / "checkpoint")
    return _finish(cfg, run_dir, venv, model.num_timesteps, loop_s, startup)


def _finish(cfg: SearchConfig, run_dir: Path, venv, iterations: int, loop_s: float, startup: float) -> SearchResult:
    design = dict(venv.best_design)
    array = thz.LoopArray(**design)
    f0 = cfg.target_frequency
    check = thz.spectrum(array, [f0], method="numpy")  # every reported design is re-evaluated
    hi = min(3 * f0, 0.999 * array.diffraction_frequency)
    grid = np.linspace(0.2 * f0, hi, 256)
    spec = thz.spectrum(array, grid)
    res = thz.resonance(array, grid[0], grid[-1])
    best = {
        "design": design,
        "objective": venv.best_value,
        "fe_avg": float(check.fe_avg[0]),
        "t_abs": float(check.t_abs[0]),
        "resonance_hz": res.frequency,
        "target_frequency_hz": f0,
        "fe_convention": "incident-field normalised (fe_avg = |t|/beta)",
    }
    (run_dir / "best.json").write_text(json.dumps(best, indent=2, default=str))
    plot_thz_spectrum(array, spec, run_dir / "spectrum.png")
    plot_learning_curve(run_dir / "metrics.csv", run_dir / "learning_curve.png")
    return SearchResult(
        run_dir,
        venv.best_value,
        design,
        best["fe_avg"],
        best["t_abs"],
        res.frequency,
        spec,
        iterations,
        iterations / loop_s,
        startup,
    )


__all__ = ["SearchConfig", "SearchResult", "search"]
