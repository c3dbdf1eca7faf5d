"""RGB frames of the environments (``render_mode="rgb_array"``): the design and its response.

Each frame is an (H, W, 3) uint8 array of :data:`FRAME_SHAPE`, drawn with a stand-alone
``matplotlib.figure.Figure`` on the Agg canvas (no pyplot state, no backend switch), so it works
in scripts, notebooks and video recorders such as Gymnasium's ``RecordVideo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from matplotlib.ticker import NullLocator, ScalarFormatter

FRAME_SHAPE = (320, 640, 3)
"""(H, W, 3) of every frame: pixels, even on both axes (video encoders need that)."""

_DPI = 100


def _figure() -> tuple[Figure, Axes, Axes]:
    """A frame-sized figure with a design panel (left) and a response panel (right)."""
    height, width, _ = FRAME_SHAPE
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    design_ax = fig.add_axes((0.07, 0.15, 0.30, 0.64))
    response_ax = fig.add_axes((0.49, 0.15, 0.40, 0.64))
    return fig, design_ax, response_ax


def _pixels(fig: Figure, caption: str) -> np.ndarray:
    """Render ``fig`` with ``caption`` on top and return its (H, W, 3) uint8 pixels."""
    fig.text(0.5, 0.97, caption, ha="center", va="top", fontsize=6.5, wrap=True)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])


def nanogap_frame(
    design: Mapping[str, Any],
    freqs: np.ndarray,
    t_abs: np.ndarray,
    fe_avg: np.ndarray,
    target_frequency: float,
    caption: str,
) -> np.ndarray:
    """Frame of a nanogap-loop unit cell and its spectrum.

    Args:
        design: ``thz.LoopArray`` keyword arguments (``side_x``, ``side_y``, ``period_x``,
            ``period_y``, ``gap``, ``thickness``; m).
        freqs: (n_freq,) float64, Hz.
        t_abs: (n_freq,) float64, |t00|.
        fe_avg: (n_freq,) float64, field enhancement (incident-field normalised).
        target_frequency: f0, Hz, marked on the spectrum.
        caption: text line above the panels.

    Returns:
        (H, W, 3) uint8, H, W = ``FRAME_SHAPE[:2]``.
    """
    fig, cell, spectrum = _figure()
    px, py = design["period_x"] * 1e6, design["period_y"] * 1e6
    sx, sy = design["side_x"] * 1e6, design["side_y"] * 1e6
    cell.add_patch(Rectangle((0, 0), px, py, facecolor="gold", edgecolor="0.3"))
    # The nm gap is far below a pixel: drawn as a dark line on the loop's centre-line.
    cell.add_patch(Rectangle(((px - sx) / 2, (py - sy) / 2), sx, sy, fill=False, edgecolor="black", lw=1.5))
    cell.set_xlim(0, px)
    cell.set_ylim(0, py)
    cell.set_aspect("equal")
    cell.set_xlabel("x (µm)", fontsize=7)
    cell.set_ylabel("y (µm)", fontsize=7)
    cell.tick_params(labelsize=6)
    cell.set_title(f"unit cell: gap {design['gap'] * 1e9:.3g} nm, film {design['thickness'] * 1e9:.3g} nm", fontsize=7)
    f_thz = np.asarray(freqs) / 1e12
    spectrum.plot(f_thz, t_abs, color="tab:blue", lw=1.2)
    spectrum.axvline(target_frequency / 1e12, color="0.5", ls="--", lw=0.8)
    spectrum.set_xlabel("frequency (THz)", fontsize=7)
    spectrum.set_ylabel("|t00|", color="tab:blue", fontsize=7)
    spectrum.set_ylim(bottom=0)
    spectrum.tick_params(labelsize=6)
    twin = spectrum.twinx()
    twin.semilogy(f_thz, np.maximum(fe_avg, 1e-3), color="tab:red", lw=1.0)
    twin.set_ylabel("FE_avg", color="tab:red", fontsize=7)
    twin.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more to draw than the rest
    twin.tick_params(labelsize=6)
    return _pixels(fig, caption)


def cavity_frame(
    design: Mapping[str, Any],
    freqs: np.ndarray,
    lp_avg: np.ndarray,
    band: tuple[float, float],
    caption: str,
    f1: float | None = None,
    target_frequency: float | None = None,
) -> np.ndarray:
    """Frame of a plate-backed cavity (plate seen from above) and its sound-pressure level.

    Args:
        design: the plate-cavity design mapping (``lx``, ``ly``, ``lz``, ``thickness`` m,
            ``material``, ``force_x``, ``force_y`` m, ``mass_p`` kg at ``mass_p_x``, ``mass_p_y`` m).
        freqs: (n_freq,) float64, Hz.
        lp_avg: (n_freq,) float64, cavity-averaged L_p,avg, dB re 20 µPa.
        band: (f_lo, f_hi), Hz, shaded.
        caption: text line above the panels.
        f1: first coupled natural frequency, Hz, marked if given.
        target_frequency: tuning target, Hz, marked if given.

    Returns:
        (H, W, 3) uint8, H, W = ``FRAME_SHAPE[:2]``.
    """
    fig, plate, level = _figure()
    lx, ly = design["lx"], design["ly"]
    plate.add_patch(Rectangle((0, 0), lx, ly, facecolor="lightsteelblue", edgecolor="0.3"))
    count = sum(1 for key in design if key.startswith("mass_") and key.count("_") == 1)
    for p in range(1, count + 1):
        if design[f"mass_{p}"] > 0:
            radius = 0.02 + 0.08 * np.sqrt(design[f"mass_{p}"] / 0.4)
            plate.add_patch(Circle((design[f"mass_{p}_x"], design[f"mass_{p}_y"]), radius, color="0.25", alpha=0.8))
    plate.plot(design["force_x"], design["force_y"], "x", color="tab:red", ms=7, mew=2)
    plate.set_xlim(0, 1.0)
    plate.set_ylim(0, 1.0)
    plate.set_aspect("equal")
    plate.set_xlabel("x (m)", fontsize=7)
    plate.set_ylabel("y (m)", fontsize=7)
    plate.tick_params(labelsize=6)
    plate.set_title(
        f"{design['material']} {design['thickness'] * 1e3:.3g} mm, depth {design['lz']:.2f} m (x: force)", fontsize=7
    )
    level.axvspan(*band, color="0.92", zorder=0)
    level.semilogx(freqs, lp_avg, color="tab:blue", lw=1.0)
    if f1 is not None:
        level.axvline(f1, color="tab:red", ls="--", lw=0.8)
    if target_frequency is not None:
        level.axvline(target_frequency, color="tab:green", ls=":", lw=1.2)
    level.set_xlabel("frequency (Hz)", fontsize=7)
    level.set_ylabel("L_p,avg (dB re 20 µPa)", fontsize=7)
    decades = 10.0 ** np.arange(np.floor(np.log10(freqs[0])), np.ceil(np.log10(freqs[-1])) + 1)
    ticks = (decades[:, None] * np.array([1.0, 2.0, 5.0])).ravel()
    level.set_xticks(ticks[(ticks >= freqs[0]) & (ticks <= freqs[-1])], minor=False)  # 20, 50, 100, ... Hz
    level.xaxis.set_major_formatter(ScalarFormatter())
    level.xaxis.set_minor_locator(NullLocator())
    level.tick_params(labelsize=6)
    return _pixels(fig, caption)


def grid_frame(positions: np.ndarray, caption: str) -> np.ndarray:
    """Frame of a design given only by its grid positions (families without their own frame).

    Args:
        positions: (d,) float64 in [0, 1], index/(size − 1) per design parameter.
        caption: text line above the panels.

    Returns:
        (H, W, 3) uint8, H, W = ``FRAME_SHAPE[:2]``.
    """
    fig, bars, text = _figure()
    positions = np.asarray(positions, dtype=np.float64)
    bars.barh(np.arange(positions.size), positions, color="tab:blue")
    bars.set_xlim(0, 1)
    bars.set_yticks(np.arange(positions.size))
    bars.set_xlabel("grid position", fontsize=7)
    bars.set_ylabel("design parameter", fontsize=7)
    bars.tick_params(labelsize=6)
    text.set_axis_off()
    return _pixels(fig, caption)
