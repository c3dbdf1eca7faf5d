"""Field maps: cavity pressure and plate displacement of one problem, and the error of a surrogate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from ._fe import Field


def _triangulation(field: Field) -> Triangulation:
    nx, nz = field.cells
    i, j = np.meshgrid(np.arange(nx), np.arange(nz))
    a = (i + (nx + 1) * j).ravel()
    triangles = np.concatenate([np.stack([a, a + 1, a + nx + 2], 1), np.stack([a, a + nx + 2, a + nx + 1], 1)])
    cavity = field.cloud.coords[: (nx + 1) * (nz + 1)]
    return Triangulation(cavity[:, 0], cavity[:, 1], triangles)


def field_figure(field: Field, estimate: np.ndarray | None = None, label: str = "MPIPN") -> Figure:
    """|p| map and |w| along the plate; with ``estimate`` ((n_points,) complex, the surrogate's values on
    ``field``'s points) the surrogate's |p| map and the map of |p̂ − p| are added, and the plate panel shows
    both displacements."""
    plate = field.cloud.domain >= 3
    tri = _triangulation(field)
    p_fe = field.value[~plate]
    panels = 2 if estimate is None else 4
    fig = Figure(figsize=(4.2 * panels, 3.6), layout="constrained")
    axes = fig.subplots(1, panels)
    vmax = float(np.abs(p_fe).max())
    maps = [("FE |p| (Pa)", np.abs(p_fe))]
    if estimate is not None:
        maps += [
            (f"{label} |p| (Pa)", np.abs(estimate[~plate])),
            (f"|p_{label} − p_FE| (Pa)", np.abs(estimate[~plate] - p_fe)),
        ]
    for ax, (title, values) in zip(axes, maps):
        top = vmax if "−" not in title else float(values.max()) or 1.0
        art = ax.tripcolor(tri, values, shading="gouraud", vmin=0.0, vmax=top, cmap="magma")
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x (m)")
        ax.set_ylabel("z (m)")
        fig.colorbar(art, ax=ax, shrink=0.8)
    ax = axes[-1]
    x = field.cloud.coords[plate, 0]
    ax.plot(x, np.abs(field.value[plate]) * 1e6, color="k", label="FE")
    if estimate is not None:
        ax.plot(x, np.abs(estimate[plate]) * 1e6, color="tab:red", ls="--", label=label)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("|w| (µm)")
    ax.set_title("plate displacement", fontsize=9)
    ax.legend(fontsize=8)
    problem = field.problem
    fig.suptitle(
        f"{problem.family}, {problem.material}, f={problem.frequency:g} Hz, h={problem.thickness * 1e3:g} mm, "
        f"{problem.lx:g}×{problem.lz:g} m, η={problem.loss:g}"
        + (f", tilt={problem.tilt:g}" if problem.family == "trapezoid" else ""),
        fontsize=9,
    )
    return fig


def plot_field(field: Field, path: str | Path, estimate: np.ndarray | None = None, label: str = "MPIPN") -> Path:
    """:func:`field_figure` as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    field_figure(field, estimate, label).savefig(path, dpi=110)
    return path
