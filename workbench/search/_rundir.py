"""The run folder of a search: ``metrics.csv`` + TensorBoard rows, the progress bar, and checkpoints.

A checkpoint is ``checkpoints/<iteration>/`` (SB3 model zip, replay buffer, ``state.json`` with the
env core's statistics, the metrics bookkeeping and the SHA-256 of ``config.json``); the atomic
replacement of ``checkpoint.json`` pointing at it is the commit point.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger, configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from .config import SearchConfig, is_surrogate_config

COLUMNS = ["iteration", "best_objective", "mean_reward", "epsilon", "evaluations", "cache_hits"]
"""The columns of ``metrics.csv``."""


def make_run_dir(runs_root: str | Path, name: str | None, stem: str) -> Path:
    """Create an empty run folder: ``runs_root/name``, or without a name ``runs_root/stem``.

    A default folder taken by a run started in the same second gets ``-2``, ``-3``, … (the
    creation is atomic, so concurrent runs never share a folder).

    Raises:
        ValueError: ``name`` is given and its folder exists (nothing is written).
    """
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    if name is not None:
        path = root / name
        try:
            path.mkdir()
        except FileExistsError:
            raise ValueError(
                f"run folder {path} exists; choose another name, or continue it with resume({str(path)!r})"
            ) from None
        return path
    attempt = 1
    while True:
        path = root / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            attempt += 1


def new_run_dir(cfg: SearchConfig) -> Path:
    """Create the search's run folder (:func:`make_run_dir`, default ``<kind>-<time>-s<seed>``) with ``config.json``."""
    path = make_run_dir(cfg.runs_root, cfg.name, f"{cfg.kind}-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}")
    (path / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    return path


class Metrics:
    """``metrics.csv`` rows (deterministic), TensorBoard scalars and the rich progress bar of one run.

    Args:
        run_dir: the run folder.
        cfg: the run's settings.
        keep_until: None for a new run; the checkpoint's iteration when resuming (rows after it
            are dropped, the resumed run writes them again).
    """

    def __init__(self, run_dir: Path, cfg: SearchConfig, keep_until: int | None) -> None:
        self.run_dir = run_dir
        path = run_dir / "metrics.csv"
        if keep_until is None:
            with open(path, "w", newline="") as handle:
                csv.writer(handle).writerow(COLUMNS)
        else:
            with open(path, newline="") as handle:
                rows = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= keep_until]
            tmp = path.with_suffix(".csv.tmp")
            with open(tmp, "w", newline="") as handle:
                writer = csv.DictWriter(handle, COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
            os.replace(tmp, path)
        self.handle = open(path, "a", newline="")  # noqa: SIM115  (closed in close())
        self.writer = csv.DictWriter(self.handle, COLUMNS)
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
        """Advance the progress bar to iteration ``n`` with the best objective ``best``."""
        rate = (n - self.first) / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, completed=n, best=f"{best:,.1f}", rate=f"{rate:,.0f}")

    def row(self, n: int, venv: Any, mean_reward: float | str = "", epsilon: float | str = "") -> None:
        """Write the ``metrics.csv`` row of iteration ``n`` (empty reward/ε for baselines) and its TensorBoard scalars."""
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
        self.logger.dump(n)  # a TensorBoard point at every metrics.csv row (SB3's own keys ride along)

    def close(self) -> None:
        """Close ``metrics.csv`` and the TensorBoard writer."""
        self.handle.close()
        self.logger.close()


def config_hash(run_dir: Path) -> str:
    """SHA-256 of the run's ``config.json``."""
    return hashlib.sha256((run_dir / "config.json").read_bytes()).hexdigest()


def save_checkpoint(run_dir: Path, model: BaseAlgorithm, venv: Any, n: int, next_log: int, rewards: list) -> None:
    """Write the checkpoint of iteration ``n``, commit it through ``checkpoint.json``, drop older ones."""
    folder = run_dir / "checkpoints" / f"{n:012d}"
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.zip")
    if isinstance(model, OffPolicyAlgorithm):
        model.save_replay_buffer(folder / "replay_buffer.pkl")
    state = {
        "iterations": n,
        "model_timesteps": model.num_timesteps,
        "next_log": next_log,
        "pending_rewards": list(rewards),
        "core": venv.core.state(),
        "config_sha256": config_hash(run_dir),
    }
    (folder / "state.json").write_text(json.dumps(state))
    commit_checkpoint(run_dir, folder, "iterations", n)


def commit_checkpoint(run_dir: Path, folder: Path, counter: str, value: int) -> None:
    """Point ``checkpoint.json`` at the complete checkpoint ``folder`` (``{counter: value}``), drop older ones."""
    pointer = run_dir / "checkpoint.json"
    tmp = run_dir / "checkpoint.json.tmp"
    tmp.write_text(json.dumps({counter: value, "path": str(folder.relative_to(run_dir))}))
    os.replace(tmp, pointer)  # the commit point: a kill before it leaves the previous checkpoint in force
    for old in (run_dir / "checkpoints").iterdir():
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(run_dir: Path) -> tuple[SearchConfig, dict]:
    """The config and the checkpoint state of a killed RL run (``state["folder"]`` is the checkpoint folder).

    Raises:
        ValueError: no run folder, no or corrupted checkpoint, a config changed since the
            checkpoint, a finished run or a baseline run; nothing in the folder is changed.
    """
    config = run_dir / "config.json"
    if not config.is_file():
        raise ValueError(f"resume needs a run folder holding config.json; got {run_dir} (no {config.name} there)")
    text = config.read_text()
    if is_surrogate_config(text):
        raise ValueError(
            f"{run_dir} is a surrogate-assisted search: resume it with `workbench search --resume {run_dir}` "
            "or workbench.surrogates.resume_surrogate_search"
        )
    cfg = SearchConfig.from_json(text, str(config))
    if not (cfg.agent == "ddqn" or cfg.agent.startswith("sb3:")):
        raise ValueError(
            f"resume continues RL agents from a checkpoint; {run_dir} ran the baseline {cfg.agent!r}, which has no "
            "checkpoint: start it again with the same seed"
        )
    return cfg, read_checkpoint(run_dir, "iterations", f"the first is written at iteration {cfg.checkpoint_every}")


def read_checkpoint(run_dir: Path, counter: str, first: str) -> dict:
    """The state of the checkpoint committed by :func:`commit_checkpoint` (``state["folder"]``: its folder).

    ``counter`` is the key both ``checkpoint.json`` and ``state.json`` hold (``"iterations"``,
    ``"round"``); ``first`` says when a run writes its first checkpoint.

    Raises:
        ValueError: a finished run, no or corrupted checkpoint, or a ``config.json`` changed since
            the checkpoint; nothing in the folder is changed.
    """
    config = run_dir / "config.json"
    if (run_dir / "best.json").is_file():
        raise ValueError(f"{run_dir} holds a finished search (best.json exists); nothing to resume")
    pointer = run_dir / "checkpoint.json"
    if not pointer.is_file():
        raise ValueError(f"{run_dir} has no checkpoint yet ({first}); start the search again")
    try:
        where = json.loads(pointer.read_text())
        folder = run_dir / where["path"]
        state = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"checkpoint of {run_dir} is corrupted ({error}); delete {pointer.name} and checkpoints/ to start over"
        ) from None
    if state.get("config_sha256") != config_hash(run_dir):
        raise ValueError(
            f"{config} changed after the checkpoint at {counter}={state.get(counter)} was written; restore the "
            "original config.json or start a new search"
        )
    if state.get(counter) != where.get(counter):
        raise ValueError(
            f"checkpoint of {run_dir} is inconsistent: {pointer.name} says {counter}={where.get(counter)}, "
            f"{folder.name}/state.json says {counter}={state.get(counter)}; delete {pointer.name} and checkpoints/ to start "
            "over"
        )
    state["folder"] = folder
    return state
