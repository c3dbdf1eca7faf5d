"""Per-trial overhead of the sweep machinery (store + executor), measured with a no-op trial.

Each executor runs a sweep of ``trials`` trials whose runner does no work
(:func:`~workbench.sweeps.worker.noop_trial`) through the real path: claim in the store, submit,
worker start (compare-and-set), heartbeat thread, completion (compare-and-set and event log),
reaping and status polling by the driver. Executor start-up (spawning pool workers, starting or
joining Ray) is timed separately, after a warm-up.
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from .executors import EXECUTORS, run_sweep
from .spec import AgentSpec, SweepSpec
from .worker import noop_trial


def bench_sweep(
    executors: tuple[str, ...] = EXECUTORS, trials: int = 200, workers: int = 1, address: str | None = None
) -> dict[str, Any]:
    """Milliseconds per no-op trial for each executor, in a temporary store and runs folder.

    With ``workers=1`` the figure is the latency of one trial through the machinery; with more
    workers it is the wall time per trial of the whole sweep (throughput).
    """
    if trials < 1 or workers < 1:
        raise ValueError(f"trials and workers must be >= 1; got trials={trials}, workers={workers}")
    results: dict[str, Any] = {}
    for kind in executors:
        if kind not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {kind!r}")
        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
            spec = SweepSpec(
                name=f"bench-{kind}",
                agents=(AgentSpec(agent="random", label="noop"),),
                budgets=(1,),
                seeds=tuple(range(trials)),
                runs_root=str(Path(tmp) / "runs"),
                source="bench",
            )
            outcome = run_sweep(
                spec,
                f"sqlite:///{Path(tmp) / 'bench.db'}",
                executor=kind,
                address=address,
                workers=workers,
                runner=noop_trial,
            )
        done = outcome.status["done"]
        results[kind] = {
            "trials": done,
            "startup_s": outcome.startup_s,
            "loop_s": outcome.loop_s,
            "ms_per_trial": 1e3 * outcome.loop_s / done,
            "trials_per_s": done / outcome.loop_s,
            "duplicates": outcome.status["duplicates"],
        }
    return {
        "benchmark": "sweep",
        "workers": workers,
        "executors": results,
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
    }


__all__ = ["bench_sweep"]
