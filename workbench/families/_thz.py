"""The ``"thz"`` family: nanogap-loop arrays (``envs.nanogap``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from analytic import thz
from envs.nanogap import DesignGrid, NanogapConfig

from ..plots import plot_thz_spectrum
from ._family import Family


def _validate(config: dict[str, Any]) -> DesignGrid:
    """The design grid of ``config``; ``ValueError`` (naming the key) unless it builds an env with a valid design."""
    return DesignGrid(NanogapConfig.from_mapping(config))


def _report(env_config: dict[str, Any], run_dir: Path, design: dict[str, Any]) -> tuple[dict[str, Any], thz.Spectrum]:
    """Re-evaluate the best loop array with the NumPy reference; plot its spectrum around the target."""
    array = thz.LoopArray(**design)
    f0 = NanogapConfig.from_mapping(env_config).target_frequency
    check = thz.spectrum(array, [f0], method="numpy")
    hi = min(3 * f0, 0.999 * array.diffraction_frequency)
    grid = np.linspace(0.2 * f0, hi, 256)
    spec = thz.spectrum(array, grid)
    res = thz.resonance(array, grid[0], grid[-1])
    plot_thz_spectrum(array, spec, run_dir / "spectrum.png")
    best = {
        "fe_avg": float(check.fe_avg[0]),
        "t_abs": float(check.t_abs[0]),
        "resonance_hz": res.frequency,
        "target_frequency_hz": f0,
        "fe_convention": "incident-field normalised (fe_avg = |t|/beta)",
    }
    return best, spec


THZ = Family(
    env_ids=("workbench/NanogapLoop-v0", "workbench/NanogapLoopContinuous-v0"),
    default_target=0.2e12,
    default_objective="field_enhancement",
    validate=_validate,
    report=_report,
    physics=lambda env_config: thz.ModalModel(),
    units={
        **{name: (1e9, "nm") for name in ("gap", "thickness")},
        **{name: (1e6, "µm") for name in ("side_x", "side_y", "period_x", "period_y")},
        **{name: (1e-12, "THz") for name in ("resonance_hz", "target_frequency_hz")},
    },
)
"""Nanogap-loop arrays: objectives ``field_enhancement`` and ``filter`` at a target frequency."""
