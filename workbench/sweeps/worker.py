"""What runs inside a worker process: one attempt of one trial, reported to the store.

``execute_trial`` is the same for both executors; only the *ledger* differs: the local pool's
workers write to the SQLite store directly, Ray workers go through a store actor on the driver's
node (SQLite files must not be shared across hosts). The worker records its own host, pid and
start identity when it begins, heartbeats while the trial runs, and reports the result by
compare-and-set on the attempt token, so a superseded attempt's result is discarded.

This module imports neither torch nor Numba: the search is imported inside :func:`run_search`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .spec import build_config
from .store import HEARTBEAT_S, Process, SweepStore, process_ident


class Ledger(Protocol):
    """Where a worker reports an attempt: a :class:`~workbench.sweeps.store.SweepStore` or a proxy."""

    def start(self, name: str, trial_id: str, token: str, worker: Process) -> bool: ...

    def heartbeat(self, name: str, trial_id: str, token: str) -> bool: ...

    def complete(self, name: str, trial_id: str, token: str, result: dict[str, Any], worker: Process) -> bool: ...

    def fail(self, name: str, trial_id: str, token: str, error: str, worker: Process) -> bool: ...

    def release(self, name: str, trial_id: str, token: str, event: str, detail: str) -> bool: ...


@dataclass(frozen=True)
class TrialTask:
    """One attempt of one trial, as sent to a worker.

    Attributes:
        sweep, trial_id, attempt, token: identify the attempt in the store.
        config: ``SearchConfig`` keyword arguments except ``runs_root`` and ``name``.
        trial_dir: absolute trial folder; the attempt's run folder is ``trial_dir/attempt-<k>``.
        threads: Numba threads for the physics in this worker.
        runner: the function that runs the trial and returns its result mapping.
        heartbeat_s: seconds between heartbeats.
    """

    sweep: str
    trial_id: str
    attempt: int
    token: str
    config: dict[str, Any]
    trial_dir: str
    threads: int
    runner: Callable[[TrialTask], dict[str, Any]]
    heartbeat_s: float = HEARTBEAT_S

    @property
    def run_dir(self) -> Path:
        """The search's run folder of this attempt."""
        return Path(self.trial_dir) / f"attempt-{self.attempt}"


def _interrupted_attempt(task: TrialTask) -> Path | None:
    """The newest earlier attempt of this trial that left a checkpoint but no result, if any."""
    earlier = [task.run_dir.parent / f"attempt-{k}" for k in range(task.attempt - 1, 0, -1)]
    return next((p for p in earlier if (p / "checkpoint.json").is_file() and not (p / "best.json").exists()), None)


def run_search(task: TrialTask) -> dict[str, Any]:
    """The default runner: the trial's search in ``task.run_dir``; returns its summary.

    ``workbench.search.search``, or ``workbench.surrogates.surrogate_search`` for a
    surrogate-assisted trial (its ``iterations`` are then its physics evaluations, the unit of its
    budget). When an earlier attempt of the trial was interrupted after a checkpoint (an RL agent,
    or any surrogate-assisted search), its folder is copied into this attempt's folder and the
    search resumes from that checkpoint (``workbench.search.resume``,
    ``workbench.surrogates.resume_surrogate_search``); the earlier folder is left as it was. A copy
    or checkpoint that cannot be used (e.g. an orphan still rewriting it) falls back to a fresh search.
    """
    import numba

    numba.set_num_threads(max(1, min(task.threads, numba.config.NUMBA_NUM_THREADS)))
    run_dir = task.run_dir
    config = build_config(task.config, str(run_dir.parent), run_dir.name)
    if "surrogate" in task.config:
        from ..surrogates import resume_surrogate_search as resume
        from ..surrogates import surrogate_search as search
    else:
        from ..search import resume, search
    earlier = _interrupted_attempt(task)
    result = None
    if earlier is not None:
        try:
            shutil.copytree(earlier, run_dir)
            result = resume(run_dir)
        except (OSError, shutil.Error, ValueError):
            shutil.rmtree(run_dir, ignore_errors=True)
            earlier = None
    if result is None:
        result = search(config)
    if "surrogate" in task.config:
        counts = {
            "iterations": result.physics_evaluations,
            "physics_evaluations": result.physics_evaluations,
            "surrogate_evaluations": result.surrogate_evaluations,
            "rounds": result.rounds,
        }
    else:
        counts = {
            "iterations": result.iterations,
            "iterations_per_s": result.iterations_per_s,
            "startup_s": result.startup_s,
        }
    return {
        "best_value": result.best_value,
        **counts,
        "best_design": result.best_design,
        "run_dir": str(result.run_dir),
        "resumed_from": None if earlier is None else str(earlier),
    }


def noop_trial(task: TrialTask) -> dict[str, Any]:
    """A runner that does no work, for measuring the sweep machinery's own overhead."""
    return {"best_value": 0.0, "iterations": task.config["steps"], "run_dir": str(task.run_dir)}


class _Heartbeat(threading.Thread):
    def __init__(self, ledger: Ledger, task: TrialTask) -> None:
        super().__init__(name=f"heartbeat-{task.trial_id}", daemon=True)
        self.ledger, self.task = ledger, task
        self.stopped = threading.Event()

    def run(self) -> None:
        task = self.task
        while not self.stopped.wait(task.heartbeat_s):
            try:
                if not self.ledger.heartbeat(task.sweep, task.trial_id, task.token):
                    return  # attempt revoked: its result will be discarded
            except Exception:  # a busy store or a restarting actor: try again at the next beat
                continue


def execute_trial(task: TrialTask, ledger: Ledger) -> str:
    """Run one attempt and report it; returns ``"done"``, ``"failed"``, ``"discarded"`` or ``"abandoned"``.

    ``abandoned``: the attempt was revoked before it started (nothing ran). ``failed``: the
    runner raised; the traceback is stored. ``discarded``: the attempt was superseded while it
    ran, so its result was not recorded. An interrupt (KeyboardInterrupt, SystemExit) puts the
    trial back to pending and propagates.
    """
    me = Process.current()
    if not ledger.start(task.sweep, task.trial_id, task.token, me):
        return "abandoned"
    beat = _Heartbeat(ledger, task)
    beat.start()
    started = time.perf_counter()
    try:
        result = task.runner(task)
    except Exception:
        beat.stopped.set()
        recorded = ledger.fail(task.sweep, task.trial_id, task.token, traceback.format_exc(), me)
        return "failed" if recorded else "discarded"
    except BaseException as interrupt:
        beat.stopped.set()
        with contextlib.suppress(Exception):  # the interrupt matters more than a failed release
            ledger.release(task.sweep, task.trial_id, task.token, "interrupted", f"{type(interrupt).__name__}")
        raise
    beat.stopped.set()
    result = {**result, "wall_s": time.perf_counter() - started, "attempt": task.attempt}
    return "done" if ledger.complete(task.sweep, task.trial_id, task.token, result, me) else "discarded"


# ---------------------------------------------------------------------- local process-pool workers

_STORES: dict[str, SweepStore] = {}
_STATE = {"busy": False, "orphaned": False}


def init_local_worker(driver: Process) -> None:
    """Pool initializer: watch the ``driver`` process; once it is gone, exit when idle.

    A worker orphaned in the middle of a trial (its driver was killed) finishes and records that
    trial, then exits instead of waiting forever for work that will not come. The driver is
    watched by pid and start identity, not as the parent: forkserver workers are children of the
    fork server, which lives as long as they do. SIGINT is ignored: Ctrl-C in a terminal reaches
    the whole process group, and the driver decides what stops.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_driver, args=(driver,), name="watch-driver", daemon=True).start()


def _watch_driver(driver: Process) -> None:
    while process_ident(driver.pid) == driver.ident:
        time.sleep(0.5)
    _STATE["orphaned"] = True
    if not _STATE["busy"]:
        os._exit(0)


def run_local_trial(task: TrialTask, store_url: str) -> str:
    """Entry point of a local pool worker: :func:`execute_trial` against the SQLite store."""
    store = _STORES.get(store_url) or _STORES.setdefault(store_url, SweepStore(store_url))
    _STATE["busy"] = True
    try:
        return execute_trial(task, store)
    finally:
        _STATE["busy"] = False
        if _STATE["orphaned"]:
            os._exit(0)


__all__ = ["Ledger", "TrialTask", "execute_trial", "init_local_worker", "noop_trial", "run_local_trial", "run_search"]
