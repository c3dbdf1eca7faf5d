"""Finite-element field data sets with provenance, stored as HDF5 (h5py).

File layout (one geometry family per file; every cloud of a family has the same point layout):

* ``/params`` (n, n_params) float64, SI, column names in the attribute ``names``;
* ``/material`` (n,) int8, index into the attribute ``classes``;
* ``/coords`` (n, n_pts, 2) float64 m; ``/normal`` (n, n_pts, 2); ``/domain`` (n_pts,) int8 tags;
  ``/partner`` (n_pts,) int64;
* ``/value`` (n, n_pts) complex128: p in Pa on cavity points, w in m on plate points;
* ``/resonance_distance`` (n,) float64, min |f/f_r − 1| over the lossless coupled resonances;
* ``/split`` (n,) bytes: ``train``, ``test_in`` (inside the ranges) or ``test_out`` (one parameter outside);
* root attributes: family, cells, seed, solver, command, created (UTC), git commit, package versions,
  ranges (JSON).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import scipy
import skfem

from ._fe import CELLS, PLATE, solve_field
from ._problem import MATERIAL_CLASSES, RANGES, Problem, check_family, parameter_names, sample_problems

SPLITS = ("train", "test_in", "test_out")

SOLVERS = {
    "rectangle": "workbench.reference: Q1 fluid (tensor grid), 4th-order FD simply supported plate, lumped "
    "interface, exact tensor solver",
    "trapezoid": "scikit-fem P1 triangles (mapped structured grid) + workbench.reference FD plate and lumped "
    "interface, SuperLU of the coupled matrix",
}


@dataclass(frozen=True)
class FieldSet:
    """Fields of one family; ``n`` clouds of ``n_pts`` points (see the module docstring for shapes)."""

    family: str
    cells: tuple[int, int]
    params: np.ndarray
    material: np.ndarray
    coords: np.ndarray
    normal: np.ndarray
    domain: np.ndarray
    partner: np.ndarray
    value: np.ndarray
    resonance_distance: np.ndarray
    split: np.ndarray
    provenance: dict = field(default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return parameter_names(self.family)

    @property
    def plate_mask(self) -> np.ndarray:
        """(n_pts,) bool, True on plate points."""
        return self.domain >= PLATE

    def __len__(self) -> int:
        return self.params.shape[0]

    def select(self, which: str | np.ndarray) -> FieldSet:
        """The clouds of one split (a name of :data:`SPLITS`) or of a boolean/index array."""
        index = self.split == which if isinstance(which, str) else np.asarray(which)
        return FieldSet(
            self.family,
            self.cells,
            self.params[index],
            self.material[index],
            self.coords[index],
            self.normal[index],
            self.domain,
            self.partner,
            self.value[index],
            self.resonance_distance[index],
            self.split[index],
            self.provenance,
        )

    def problems(self) -> list[Problem]:
        return [
            Problem.from_vector(self.family, MATERIAL_CLASSES[int(m)], v) for v, m in zip(self.params, self.material)
        ]


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _draw_solvable(family: str, rng: np.random.Generator, outside: bool, cells: tuple[int, int]) -> tuple:
    """A random problem whose mesh resolves its wavelengths, and its field (redraws otherwise)."""
    for _ in range(100):
        (problem,) = sample_problems(family, 1, rng, outside=outside)
        try:
            return problem, solve_field(problem, cells)
        except ValueError:
            continue  # only outside the ranges: the frequency or plate is beyond what the mesh resolves
    raise RuntimeError("no solvable problem in 100 draws; refine the mesh")


def generate(
    family: str,
    counts: dict[str, int],
    seed: int,
    cells: tuple[int, int] = CELLS,
    command: str = "",
) -> FieldSet:
    """Solve random problems of ``family`` with finite elements.

    Args:
        family: ``"rectangle"`` or ``"trapezoid"``.
        counts: clouds per split, e.g. ``{"train": 160, "test_in": 40, "test_out": 24}``; each ≥ 0.
        seed: seed of the parameter draws (NumPy ``default_rng``).
        cells: the mesh (nx, nz).
        command: the command line recorded as provenance.
    """
    family = check_family(family)
    for name, count in counts.items():
        if name not in SPLITS or not (isinstance(count, int) and count >= 0):
            raise ValueError(f"counts must map {SPLITS} to integers >= 0; got {name}={count!r}")
    if sum(counts.values()) < 1:
        raise ValueError(f"counts must ask for at least one cloud; got counts={counts!r}")
    rng = np.random.default_rng(seed)
    fields, splits = [], []
    for split in SPLITS:
        for _ in range(counts.get(split, 0)):
            fields.append(_draw_solvable(family, rng, split == "test_out", cells)[1])
            splits.append(split)
    cloud = fields[0].cloud
    provenance = {
        "family": family,
        "cells": list(cells),
        "seed": seed,
        "solver": SOLVERS[family],
        "load": "blocked plane wave, p_inc = 1 Pa (plate line load -2 Pa)",
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "versions": json.dumps(
            {
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "scikit-fem": skfem.__version__,
                "h5py": h5py.__version__,
            }
        ),
        "ranges": json.dumps(RANGES),
    }
    return FieldSet(
        family,
        tuple(cells),
        np.stack([f.problem.vector() for f in fields]),
        np.array([MATERIAL_CLASSES.index(f.problem.material) for f in fields], dtype=np.int8),
        np.stack([f.cloud.coords for f in fields]),
        np.stack([f.cloud.normal for f in fields]),
        cloud.domain,
        cloud.partner,
        np.stack([f.value for f in fields]),
        np.array([f.resonance_distance for f in fields]),
        np.array(splits),
        provenance,
    )


def write(fields: FieldSet, path: str | Path) -> Path:
    """Write ``fields`` to the HDF5 file ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("params", data=fields.params).attrs["names"] = list(fields.param_names)
        f.create_dataset("material", data=fields.material).attrs["classes"] = list(MATERIAL_CLASSES)
        for name in ("coords", "normal", "domain", "partner", "value", "resonance_distance"):
            f.create_dataset(name, data=getattr(fields, name), compression="gzip")
        f.create_dataset("split", data=fields.split.astype("S"))
        for key, value in fields.provenance.items():
            f.attrs[key] = value
    return path


def read(path: str | Path) -> FieldSet:
    """Read a file written by :func:`write`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"data must be an existing HDF5 file written by the mpipn data generator; got data={str(path)!r}"
        )
    with h5py.File(path, "r") as f:
        attrs = {key: (value.item() if isinstance(value, np.generic) else value) for key, value in f.attrs.items()}
        family = check_family(attrs["family"])
        names = tuple(str(n) for n in f["params"].attrs["names"])
        if names != parameter_names(family):
            raise ValueError(f"{path}: params columns {names} do not match family {family!r}")
        return FieldSet(
            family,
            tuple(int(c) for c in attrs["cells"]),
            f["params"][...],
            f["material"][...],
            f["coords"][...],
            f["normal"][...],
            f["domain"][...],
            f["partner"][...],
            f["value"][...],
            f["resonance_distance"][...],
            f["split"][...].astype(str),
            attrs,
        )
