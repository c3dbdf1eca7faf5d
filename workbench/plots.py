"""Matplotlib PNG figures written into run folders.

Figures are ``matplotlib.figure.Figure`` objects saved straight to PNG: no pyplot state and no
backend switch, so importing this module never changes how figures show in JupyterLab.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analytic import acoustic, thz


def plot_thz_spectrum(array: thz.LoopArray, spec: thz.Spectrum, path: str | Path, title: str | None = None) -> Path:
    """|t| and FE_avg versus frequency of one loop array, saved as PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    f_thz = spec.freqs / 1e12
    ax.plot(f_thz, spec.t_abs, color="tab:blue", label="|t00|")
    ax.set_xlabel("frequency (THz)")
    ax.set_ylabel("|t00| (zero-order transmission amplitude)", color="tab:blue")
    twin = ax.twinx()
    twin.plot(f_thz, spec.fe_avg, color="tab:red", ls="--", label="FE_avg")
    twin.set_ylabel("FE_avg = |t00|/β (incident-field normalised)", color="tab:red")
    i = int(np.argmax(spec.t_abs))
    ax.axvline(f_thz[i], color="0.6", lw=0.8)
    if spec.above_diffraction.any():
        ax.axvspan(f_thz[spec.above_diffraction][0], f_thz[-1], color="0.9", label="above diffraction")
    ax.set_title(
        title
        or f"w={array.gap * 1e9:g} nm, h={array.thickness * 1e9:g} nm, l={array.side_x * 1e6:g}×{array.side_y * 1e6:g} µm, "
        f"Λ={array.period_x * 1e6:g}×{array.period_y * 1e6:g} µm, {array.metal if isinstance(array.metal, str) else 'Drude'}",
        fontsize=9,
    )
    fig.savefig(path, dpi=120)
    return path


def plot_learning_curve(metrics_csv: str | Path, path: str | Path) -> Path:
    """Best objective (and mean reward, for RL agents) versus iterations from a run's ``metrics.csv``, as PNG."""
    data = np.genfromtxt(metrics_csv, delimiter=",", names=True)
    data = np.atleast_1d(data)
    path = Path(path)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(data["iteration"], data["best_objective"], color="tab:red", label="best objective")
    ax.set_xlabel("iterations (evaluated designs)")
    ax.set_ylabel("best objective", color="tab:red")
    if np.isfinite(data["mean_reward"]).any():  # baselines have no reward
        twin = ax.twinx()
        twin.plot(data["iteration"], data["mean_reward"], color="tab:blue", alpha=0.6, label="mean reward")
        twin.set_ylabel("mean reward per step", color="tab:blue")
    fig.savefig(path, dpi=120)
    return path


def plot_acoustic_response(
    response: acoustic.Response,
    path: str | Path,
    band: tuple[float, float],
    f1: float | None = None,
    target: float | None = None,
    title: str | None = None,
) -> Path:
    """L_p,avg versus frequency (log axis) of one plate-backed cavity, ``band`` (Hz) shaded, as PNG at ``path``.

    ``f1`` (Hz) marks the first coupled natural frequency and ``target`` (Hz) a tuning target.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.axvspan(*band, color="0.92", zorder=0, label=f"objective band {band[0]:g}–{band[1]:g} Hz")
    ax.plot(response.freqs, response.lp_avg, color="tab:blue", lw=1.0, label="L_p,avg")
    if f1 is not None:
        ax.axvline(f1, color="tab:red", ls="--", lw=0.8, label=f"f1 = {f1:.2f} Hz")
    if target is not None:
        ax.axvline(target, color="tab:green", ls=":", lw=1.2, label=f"target {target:g} Hz")
    ax.set_xscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("L_p,avg (dB re 20 µPa), cavity average")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.savefig(path, dpi=120)
    return path


def plot_design_positions(positions: dict[str, float], optimum: tuple[float, ...], path: str | Path) -> Path:
    """Bar chart of a toy design's positions (unit cube) beside the objective's optimum, as PNG at ``path``."""
    path = Path(path)
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(positions))
    ax.bar(x - 0.2, list(positions.values()), width=0.4, label="best design")
    ax.bar(x + 0.2, optimum, width=0.4, label="optimum of the bowl", color="0.6")
    ax.set_xticks(x, list(positions))
    ax.set_ylim(0, 1)
    ax.set_ylabel("position (unit cube)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    return path
