"""Helpers for the JupyterLab notebooks: dependency checks with the fixing command, a search with live progress.

``live_search`` runs :func:`workbench.search.search` in a worker thread and redraws its learning
curve (best objective against evaluated designs, read from the run's ``metrics.csv``) in the
cell output while it runs; the final figure stays in the notebook. Figures are PNG images built
with ``matplotlib.figure.Figure``, so they appear whatever matplotlib backend is active.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import io
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from .search import SearchConfig, SearchResult

__all__ = ["NOTEBOOK_EXTRA_COMMAND", "figure_png", "live_search", "require_file", "require_notebook_extra"]

NOTEBOOK_EXTRA_COMMAND = 'pip install -e ".[notebook]"'
"""The one command that installs what the notebooks need (run in the repository root)."""

_NOTEBOOK_MODULES = ("IPython", "ipywidgets", "ipykernel", "pandas")


def require_notebook_extra() -> None:
    """Raise ModuleNotFoundError naming the missing packages and :data:`NOTEBOOK_EXTRA_COMMAND`, if any is missing."""
    missing = [name for name in _NOTEBOOK_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(
            f"the notebooks need {', '.join(missing)} (the [notebook] extra); install it with: {NOTEBOOK_EXTRA_COMMAND}"
        )


def require_file(path: str | Path, command: str) -> Path:
    """``path`` as a Path if it exists, else FileNotFoundError saying which ``command`` creates it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; create it with: {command}")
    return path


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """PNG bytes of ``fig`` (a ``matplotlib.figure.Figure``), rendered with the Agg canvas."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _curve(metrics_csv: Path) -> tuple[list[float], list[float]]:
    """(iterations, best objective) rows written so far; empty while the file does not exist yet."""
    if not metrics_csv.is_file():
        return [], []
    with open(metrics_csv, newline="") as handle:
        rows = [(float(r["iteration"]), float(r["best_objective"])) for r in csv.DictReader(handle) if r["iteration"]]
    return [r[0] for r in rows], [r[1] for r in rows]


def _progress_png(config: SearchConfig, iterations: list[float], best: list[float], elapsed: float) -> bytes:
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(iterations, best, color="tab:red", marker="." if len(iterations) < 40 else None)
    ax.set_xlim(0, config.steps)
    ax.set_xlabel("iterations (evaluated designs)")
    ax.set_ylabel("best objective")
    done = int(iterations[-1]) if iterations else 0
    latest = f"{best[-1]:,.4g}" if best else "-"
    ax.set_title(
        f"{config.kind} search, agent {config.agent}: {done:,} / {config.steps:,} in {elapsed:.1f} s, best {latest}",
        fontsize=9,
    )
    return figure_png(fig)


def live_search(config: SearchConfig, refresh_s: float = 1.0) -> SearchResult:
    """Run ``search(config)`` and show its learning curve, redrawn every ``refresh_s`` seconds, in the cell output.

    The search runs in a worker thread (with its rich progress bar off); this thread reads the
    rows of ``metrics.csv`` as the search writes them (every ``config.log_every`` iterations).
    Without a ``config.name`` the run folder is named ``<kind>-live-<time>-s<seed>``.

    Returns:
        The :class:`~workbench.search.SearchResult`; an exception of the search is re-raised here.

    Raises:
        ValueError: ``refresh_s`` is not positive (before the search starts).
    """
    from IPython.display import DisplayHandle, Image

    from .search import search

    if not refresh_s > 0:
        raise ValueError(f"refresh_s must be positive (seconds); got refresh_s={refresh_s!r}")
    name = config.name or f"{config.kind}-live-{time.strftime('%Y%m%d-%H%M%S')}-s{config.seed}"
    config = dataclasses.replace(config, name=name, progress=False)
    metrics = Path(config.runs_root) / name / "metrics.csv"
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = search(config)
        except BaseException as error:  # re-raised in the notebook's thread below
            outcome["error"] = error

    start = time.perf_counter()
    worker = threading.Thread(target=work, name="live-search", daemon=True)
    worker.start()
    handle = DisplayHandle()
    handle.display(Image(data=_progress_png(config, [], [], 0.0)))
    while worker.is_alive():
        worker.join(refresh_s)
        handle.update(Image(data=_progress_png(config, *_curve(metrics), time.perf_counter() - start)))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
