"""Finite-element ground truth for the plate-backed acoustic cavity (docs/models/acoustic.md §3).

Q1 finite elements for the air (tensor grid, Kronecker-assembled 1D matrices), a finite-difference
simply supported plate (squared Dirichlet Laplacian) and a lumped interface, solved exactly; O(h²)
convergence with Richardson extrapolation over grids h and h/2. SI units, time dependence e^{iωt},
peak amplitudes, L_p,avg in dB re 20 µPa of the volume-averaged mean-square pressure.

Examples:
    >>> from analytic import acoustic
    >>> from workbench import reference
    >>> cavity = acoustic.PlateCavity((0.5, 0.4), acoustic.Plate.of("aluminium", 2e-3))
    >>> modes = reference.fe_coupled_modes_extrapolated(cavity, 3, h=0.01)
    >>> [round(float(f), 1) for f in modes.freqs]
    [41.0, 77.1, 175.1]
"""

from ._assembly import grid_cells
from ._fe import (
    ExtrapolatedModes,
    FEResponse,
    FEResponseExtrapolated,
    FETiming,
    fe_coupled_modes,
    fe_coupled_modes_extrapolated,
    fe_response,
    fe_response_extrapolated,
    fe_time_per_frequency,
    richardson,
)

__all__ = [
    "ExtrapolatedModes",
    "FEResponse",
    "FEResponseExtrapolated",
    "FETiming",
    "fe_coupled_modes",
    "fe_coupled_modes_extrapolated",
    "fe_response",
    "fe_response_extrapolated",
    "fe_time_per_frequency",
    "grid_cells",
    "richardson",
]
