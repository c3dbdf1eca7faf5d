"""Sweeps: resumable studies of many searches, stored in SQLite, run by a process pool or Ray.

- :mod:`.spec`: the YAML sweep spec → :class:`SweepSpec` → the list of :class:`Trial`.
- :mod:`.store`: the SQLite store (WAL): sweeps, trial states, heartbeats, an append-only log.
- :mod:`.executors`: :func:`run_sweep`, the driver, over the ``local`` or ``ray`` executor.
- :mod:`.worker`: one attempt of one trial inside a worker.
- :mod:`.report`: Markdown table and PNG of best objective vs evaluations per method.
- :mod:`.bench`: per-trial overhead of store + executor.

``workbench sweep run|status|report`` and ``workbench bench sweep`` are thin layers over these.
Importing this package does not import torch or Numba.
"""

from .executors import EXECUTORS, ExecutorError, SweepOutcome, run_sweep
from .spec import AgentSpec, SpecError, SweepSpec, Trial, load_spec, parse_spec
from .store import DEFAULT_STORE, OwnershipLost, StoreError, SweepBusy, SweepStore

__all__ = [
    "DEFAULT_STORE",
    "EXECUTORS",
    "AgentSpec",
    "ExecutorError",
    "OwnershipLost",
    "SpecError",
    "StoreError",
    "SweepBusy",
    "SweepOutcome",
    "SweepSpec",
    "SweepStore",
    "Trial",
    "load_spec",
    "parse_spec",
    "run_sweep",
]
