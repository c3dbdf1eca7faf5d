"""The ``"toy"`` family: a closed-form objective on a budgeted grid (``envs.toy``), for fast tests and demos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from envs.toy import BowlModel, ToyConfig, ToyGrid, bowl_centre

from ..plots import plot_design_positions
from ._family import Family


def _validate(config: dict[str, Any]) -> ToyGrid:
    return ToyGrid(ToyConfig.from_mapping(config))


def _bowl(env_config: dict[str, Any]) -> BowlModel:
    cfg = ToyConfig.from_mapping(env_config)
    return BowlModel(bowl_centre(cfg.dim, cfg.target_frequency))


def _report(env_config: dict[str, Any], run_dir: Path, design: dict[str, Any]) -> tuple[dict[str, Any], None]:
    """Recompute the best design's value with the bowl and plot it beside the optimum (``design.png``)."""
    bowl = _bowl(env_config)
    value = float(bowl.values(np.array([list(design.values())]))[0])
    plot_design_positions(design, bowl.centre, run_dir / "design.png")
    return {
        "value": value,
        "optimum": list(bowl.centre),
        "optimum_value": float(bowl.values(np.array([bowl.centre]))[0]),
    }, None


TOY = Family(
    env_ids=("workbench/Toy-v0", "workbench/ToyContinuous-v0"),
    default_target=1.0,
    default_objective="bowl",
    validate=_validate,
    report=_report,
    physics=_bowl,
)
"""A rippled bowl on a budgeted grid: searches in milliseconds, for tests and demos."""
