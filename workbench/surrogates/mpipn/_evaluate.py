"""Accuracy and speed of MPIPN surrogates against the finite-element fields."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ._data import FieldSet
from ._fe import solve_field
from ._model import Surrogate

RESONANCE_BINS = (0.0, 0.02, 0.05, 0.15, np.inf)
"""Edges of the bins of relative distance to the nearest coupled resonance, min |f/f_r − 1|."""


def relative_errors(surrogate: Surrogate, fields: FieldSet, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Relative L2 errors per cloud, ‖û − u‖/‖u‖ over the cavity points (pressure) and over the plate
    points (displacement): two (n,) float64 arrays."""
    with warnings.catch_warnings():
        if not strict:
            warnings.simplefilter("ignore")
        estimate = surrogate.predict_fields(fields, strict=strict)
    plate = fields.plate_mask
    err = np.abs(estimate - fields.value) ** 2
    ref = np.abs(fields.value) ** 2
    pressure = np.sqrt(err[:, ~plate].sum(-1) / ref[:, ~plate].sum(-1))
    displacement = np.sqrt(err[:, plate].sum(-1) / ref[:, plate].sum(-1))
    return pressure, displacement


def summary(pressure: np.ndarray, displacement: np.ndarray) -> dict[str, float]:
    """Median and 90th percentile of the per-cloud errors (fractions, not %)."""
    return {
        "rel_l2_pressure_median": float(np.median(pressure)),
        "rel_l2_pressure_p90": float(np.percentile(pressure, 90)),
        "rel_l2_plate_median": float(np.median(displacement)),
        "rel_l2_plate_p90": float(np.percentile(displacement, 90)),
    }


def by_resonance(pressure: np.ndarray, displacement: np.ndarray, distance: np.ndarray) -> list[dict]:
    """Median errors in bins of :data:`RESONANCE_BINS` of the distance to the nearest coupled resonance."""
    rows = []
    for low, high in zip(RESONANCE_BINS[:-1], RESONANCE_BINS[1:]):
        inside = (distance >= low) & (distance < high)
        row = {"distance_low": low, "distance_high": high if np.isfinite(high) else None, "clouds": int(inside.sum())}
        if inside.any():
            row |= {
                "pressure_median": float(np.median(pressure[inside])),
                "plate_median": float(np.median(displacement[inside])),
            }
        rows.append(row)
    return rows


def speed(surrogate: Surrogate, fields: FieldSet, repeats: int = 3) -> dict[str, float]:
    """Fields per second: MPIPN (all clouds of ``fields`` in batches of 64) against the finite-element solve of
    the same problems on the same points (meshing, assembly and solve, no resonance search), in one run;
    best of ``repeats`` for each."""
    problems = fields.problems()
    surrogate.predict_fields(fields)  # warm-up
    best_net, best_fe = np.inf, np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        surrogate.predict_fields(fields)
        best_net = min(best_net, time.perf_counter() - start)
        start = time.perf_counter()
        for problem in problems:
            solve_field(problem, fields.cells, resonances=False)
        best_fe = min(best_fe, time.perf_counter() - start)
    n = len(problems)
    return {
        "clouds": n,
        "points_per_cloud": int(fields.domain.size),
        "mpipn_fields_per_s": n / best_net,
        "fe_fields_per_s": n / best_fe,
        "speedup_vs_fe": best_fe / best_net,
    }
