"""The search loop: builds the vector env and the agent, runs it on the budget, writes the result."""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import envs  # noqa: F401  (registers the environments)

from ..agents import BASELINES, DoubleDQN, GymnasiumVecEnv
from ..agents.baselines import Budget, run_baseline
from ..agents.ddqn import make_ddqn
from ..families import FAMILIES
from ..plots import plot_learning_curve
from ._callbacks import Tracker
from ._rundir import Metrics, load_checkpoint, new_run_dir
from .config import SearchConfig


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


def search(cfg: SearchConfig) -> SearchResult:
    """Run a search over the designs of ``cfg.kind``'s environments and write its run folder.

    The folder holds ``config.json``, ``metrics.csv``, TensorBoard events, ``best.json``, the
    family's plot of the best design (THz ``spectrum.png``, acoustic ``response.png``) and
    ``learning_curve.png``; RL agents also keep ``checkpoint.json`` pointing at
    ``checkpoints/<iteration>/`` (model, replay buffer, search state), written every
    ``checkpoint_every`` iterations and at the end. Every evaluated design counts towards the
    best, not only episode ends.
    """
    start = time.perf_counter()
    return _run(cfg, new_run_dir(cfg), start, None)


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
    cfg, state = load_checkpoint(run_dir)
    return _run(cfg, run_dir, start, state)


def agent_class(cfg: SearchConfig) -> type[BaseAlgorithm]:
    """The SB3 class of ``cfg.agent`` (an RL agent: ``ddqn`` or ``sb3:<ALGO>``)."""
    if cfg.agent == "ddqn":
        return DoubleDQN
    return getattr(importlib.import_module("stable_baselines3"), cfg.agent[4:])


def make_venv(cfg: SearchConfig, num_envs: int, model: Any = None) -> gym.vector.VectorEnv:
    """The search's native vector env (same-step autoreset, ``cfg.episode_steps`` per episode) over ``model``."""
    return gym.make_vec(
        cfg.env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        max_episode_steps=cfg.episode_steps,
        config=cfg.env_config(),
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        model=model,
    )


def make_agent(cfg: SearchConfig, venv: gym.vector.VectorEnv) -> BaseAlgorithm:
    """A fresh RL agent of ``cfg`` (DDQN or an SB3 algorithm) on ``venv``."""
    env = GymnasiumVecEnv(venv)
    if cfg.agent == "ddqn":
        return make_ddqn(env, cfg.agent_options, cfg.steps, cfg.num_envs, cfg.seed)
    return agent_class(cfg)("MlpPolicy", env, seed=cfg.seed, device="cpu", **cfg.agent_options)


def _restore_model(cfg: SearchConfig, venv: gym.vector.VectorEnv, state: dict) -> BaseAlgorithm:
    folder = state["folder"]
    try:
        model = agent_class(cfg).load(folder / "model.zip", env=GymnasiumVecEnv(venv), device="cpu")
        if isinstance(model, OffPolicyAlgorithm):
            model.load_replay_buffer(folder / "replay_buffer.pkl")
        venv.core.restore(state["core"])
    except Exception as error:  # SB3 raises many types for a damaged zip or pickle
        raise ValueError(
            f"checkpoint {folder} cannot be loaded as a {cfg.agent} model for this env ({type(error).__name__}: "
            f"{error}); delete checkpoint.json and checkpoints/ to start over"
        ) from None
    if model.num_timesteps != state.get("model_timesteps"):
        raise ValueError(
            f"checkpoint {folder} is inconsistent: model at time step {model.num_timesteps}, state at "
            f"{state.get('model_timesteps')}; delete checkpoint.json and checkpoints/ to start over"
        )
    return model


def _run(cfg: SearchConfig, run_dir: Path, start: float, state: dict | None) -> SearchResult:
    th.set_num_threads(cfg.torch_threads)
    if cfg.agent in BASELINES:
        venv = make_venv(cfg, 1)
        model = None
    else:
        venv = make_venv(cfg, cfg.num_envs)
        model = _restore_model(cfg, venv, state) if state else make_agent(cfg, venv)
    metrics = Metrics(run_dir, cfg, state["iterations"] if state else None)
    done_before = state["iterations"] if state else 0
    with metrics.progress:
        startup = time.perf_counter() - start
        loop_start = time.perf_counter()
        if model is None:
            iterations = _run_baseline(cfg, venv, metrics)
        else:
            model.set_logger(metrics.logger)
            model.get_env().seed(cfg.seed + done_before)
            tracker = Tracker(venv, cfg, metrics, state)
            model.learn(cfg.steps - done_before, callback=tracker, reset_num_timesteps=state is None)
            iterations = tracker.iterations
            tracker.save()
        loop_s = time.perf_counter() - loop_start
    metrics.close()
    return _finish(cfg, run_dir, venv, iterations, (iterations - done_before) / loop_s, startup)


def _run_baseline(cfg: SearchConfig, venv: Any, metrics: Metrics) -> int:
    def report(n: int) -> None:
        metrics.show(n, venv.best_value)
        if n % cfg.log_every == 0 or n == cfg.steps:
            metrics.row(n, venv)

    box = Budget(venv.core, cfg.steps, report, cfg.log_every)
    run_baseline(cfg.agent, box, cfg.seed, cfg.agent_options)
    return box.used


def _finish(cfg: SearchConfig, run_dir: Path, venv: Any, iterations: int, rate: float, startup: float) -> SearchResult:
    design = dict(venv.best_design)
    best, spectrum = FAMILIES[cfg.kind].report(cfg.env_config(), run_dir, design)
    best = {"design": design, "objective": venv.best_value, **best}
    (run_dir / "best.json").write_text(json.dumps(best, indent=2, default=str))
    plot_learning_curve(run_dir / "metrics.csv", run_dir / "learning_curve.png")
    return SearchResult(run_dir, cfg, venv.best_value, design, best, spectrum, iterations, rate, startup)
