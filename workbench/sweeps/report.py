"""Sweep report: a Markdown table and a PNG of best objective vs evaluations, mean ± std over seeds.

Rows are methods (agent label plus grid point) at each objective, target and budget; the numbers
come from the store (each done trial's result) and the curves from each trial's ``metrics.csv``
(columns ``iteration`` and ``best_objective``; a surrogate-assisted search's ``physics_evaluations``
and ``best_verified_objective``, so its evaluations are physics evaluations, the unit of its budget).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .spec import _frequency_label
from .store import SweepStore


@dataclass(frozen=True)
class Report:
    """Paths of the written report and its Markdown text."""

    markdown: str
    markdown_path: Path
    plot_path: Path | None


def _mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


_CURVE_COLUMNS = (("iteration", "best_objective"), ("physics_evaluations", "best_verified_objective"))
"""(x, y) columns of a search's and a surrogate-assisted search's ``metrics.csv``."""


def _curve(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with open(path, newline="") as handle:
            table = list(csv.DictReader(handle))
        x, y = next(((x, y) for x, y in _CURVE_COLUMNS if table and {x, y} <= set(table[0])), (None, None))
        rows = [(float(r[x]), float(r[y])) for r in table if r[y] != ""] if x else []  # "": nothing verified yet
    except (OSError, KeyError, ValueError):
        return None
    if not rows:
        return None
    x, y = np.array(rows).T
    return x, y


def _band(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and std over seeds of step curves (best so far) on the union of their iterations."""
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    values = np.full((len(curves), grid.size), np.nan)
    for i, (x, y) in enumerate(curves):
        at = np.searchsorted(x, grid, side="right") - 1  # last row at or before each grid point
        values[i] = np.where(at >= 0, y[np.clip(at, 0, None)], np.nan)
    count = np.sum(~np.isnan(values), axis=0)
    keep = count > 0
    values, count = values[:, keep], count[keep]
    mean = np.nanmean(values, axis=0)
    squares = np.nansum((values - mean) ** 2, axis=0)
    std = np.sqrt(np.divide(squares, count - 1, out=np.zeros_like(mean), where=count > 1))
    return grid[keep], mean, std


def _fmt(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def build_report(store: SweepStore, name: str | None = None, out_dir: str | Path | None = None) -> Report:
    """Write ``report.md`` and ``best_vs_evaluations.png`` for sweep ``name`` into ``out_dir``.

    ``out_dir`` defaults to the sweep folder (``<runs_root>/<name>``). Only done trials count;
    the table says how many seeds of each cell are done.
    """
    name = store.resolve_name(name)
    sweep = store.sweep(name)
    out = Path(out_dir) if out_dir is not None else Path(sweep["sweep_dir"])
    out.mkdir(parents=True, exist_ok=True)
    trials = store.trials(name)
    status = store.status(name)
    groups: dict[tuple[str, float, int], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for trial in trials:
        groups[(trial["objective"], trial["target"], trial["budget"])][trial["method"]].append(trial)

    lines = [
        f"# Sweep `{name}`",
        "",
        f"{status['done']} of {status['total']} trials done ({status['failed']} failed, {status['pending']} pending, "
        f"{status['running']} running); duplicates {status['duplicates']}. Best objective: mean ± sample std "
        "and median over seeds, the highest mean of each objective/target/budget in bold; evaluations and wall "
        "time: mean per trial (a surrogate-assisted method's evaluations and budget count physics evaluations).",
        "",
        "| method | objective | target | budget | seeds done | best objective | median | evaluations | wall time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    curves: dict[tuple[str, float, int], dict[str, list[tuple[np.ndarray, np.ndarray]]]] = defaultdict(dict)
    for group, methods in groups.items():
        objective, target, budget = group
        cells = {}
        for method, runs in methods.items():
            done = [t["result"] for t in runs if t["state"] == "done"]
            cells[method] = (done, len(runs))
            found = [c for c in (_curve(Path(r["run_dir"]) / "metrics.csv") for r in done if "run_dir" in r) if c]
            if found:
                curves[group][method] = found
        best = max((_mean_std([r["best_value"] for r in done])[0] for done, _ in cells.values() if done), default=None)
        for method, (done, n) in cells.items():
            if done:
                mean, std = _mean_std([r["best_value"] for r in done])
                value = f"{_fmt(mean)} ± {_fmt(std)}"
                value = f"**{value}**" if mean == best else value
                median = _fmt(float(np.median([r["best_value"] for r in done])))
                evaluations = _fmt(float(np.mean([r["iterations"] for r in done])))
                wall = f"{np.mean([r.get('wall_s', np.nan) for r in done]):.1f}"
            else:
                value = median = evaluations = wall = "–"
            lines.append(
                f"| {method} | {objective} | {_frequency_label(target)} | {budget:,} | {len(done)}/{n} | {value} "
                f"| {median} | {evaluations} | {wall} |"
            )
    plot_path = _plot(name, curves, out / "best_vs_evaluations.png") if curves else None
    if plot_path is not None:
        lines += ["", f"![best objective vs evaluations]({plot_path.name})"]
    markdown = "\n".join(lines) + "\n"
    markdown_path = out / "report.md"
    markdown_path.write_text(markdown)
    return Report(markdown, markdown_path, plot_path)


def _plot(name: str, curves: dict[tuple[str, float, int], dict[str, list]], path: Path) -> Path:
    from matplotlib.figure import Figure

    n = len(curves)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(5.2 * cols, 3.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, ((objective, target, budget), methods) in zip(axes.flat, curves.items()):
        for method, runs in methods.items():
            x, mean, std = _band(runs)
            (line,) = ax.step(x, mean, where="post", label=f"{method} (n={len(runs)})")
            ax.fill_between(x, mean - std, mean + std, step="post", color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(f"{objective} @ {_frequency_label(target)}, budget {budget:,}", fontsize=10)
        ax.set_xlabel("physics evaluations (designs)")
        ax.set_ylabel("best objective")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle(f"sweep {name}: best so far, mean ± std over seeds", fontsize=11)
    fig.savefig(path, dpi=120)
    return path


__all__ = ["Report", "build_report"]
