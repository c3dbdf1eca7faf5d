"""MPIPN: a multi physics-informed PointNet for parametric 2D plate–cavity fields (after arXiv:2403.01132).

A point cloud per problem (cavity mesh nodes and plate points) carries the coordinates and the explicit
parameters (frequency, plate E and ρ, thickness, cavity size, loss, back-wall tilt); the material class
is the implicit parameter. A PointNet predicts the cavity pressure that each simply supported plate
mode drives; a modal plate head solves the projected plate equation with it, which gives the complex
cavity pressure and plate displacement. Training: a minority of labelled points plus the Helmholtz,
interface and rigid-wall residuals of the per-mode fields, balanced by ReLoBRaLo. Ground truth:
finite elements (:func:`solve_field`, :func:`generate`).

Example:
    >>> from workbench.surrogates import mpipn
    >>> problem = mpipn.Problem("trapezoid", "aluminium", 120.0, 70e9, 2700.0, 3e-3, 0.5, 0.4, 0.02, tilt=0.3)
    >>> field = mpipn.solve_field(problem)
    >>> field.value.shape
    (594,)
    >>> surrogate = mpipn.load_default("trapezoid")
    >>> estimate = surrogate.predict(field.cloud.coords[None], field.cloud.domain, problem.vector()[None], [0])

Units: SI; time dependence e^{iωt}; peak amplitudes. Torch is imported on first use of the network,
training or checkpoint names.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._data import SPLITS, FieldSet, generate, read, write
from ._fe import CELLS, Cloud, Field, point_cloud, relative_l2, solve_field
from ._problem import FAMILIES, MATERIAL_CLASSES, RANGES, Problem, parameter_names, sample_problems

if TYPE_CHECKING:
    from ._model import Surrogate, TrainConfig, train
    from ._network import MPIPN, PLATE_MODES
    from ._plots import field_figure

_LAZY = {
    "field_figure": "._plots",
    "MPIPN": "._network",
    "PLATE_MODES": "._network",
    "Surrogate": "._model",
    "TrainConfig": "._model",
    "train": "._model",
}

CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"
"""The shipped checkpoints, one per family: ``<family>.pt``."""


def default_checkpoint(family: str) -> Path:
    """Path of the shipped checkpoint of ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got family={family!r}")
    return CHECKPOINT_DIR / f"{family}.pt"


def load_default(family: str) -> Surrogate:
    """The shipped :class:`Surrogate` of ``family``."""
    from ._model import Surrogate

    return Surrogate.load(default_checkpoint(family), family)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CELLS",
    "CHECKPOINT_DIR",
    "FAMILIES",
    "MATERIAL_CLASSES",
    "MPIPN",
    "PLATE_MODES",
    "RANGES",
    "SPLITS",
    "Cloud",
    "Field",
    "FieldSet",
    "Problem",
    "Surrogate",
    "TrainConfig",
    "default_checkpoint",
    "field_figure",
    "generate",
    "load_default",
    "parameter_names",
    "point_cloud",
    "read",
    "relative_l2",
    "sample_problems",
    "solve_field",
    "train",
    "write",
]
