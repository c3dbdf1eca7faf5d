"""THz transmission and field enhancement of nanogap-loop arrays (docs/models/thz.md §2).

Single-mode modal expansion with surface-impedance metal walls, a gap-plasmon permeability μ_g
and analytic tails of the reciprocal-lattice sums; SI units, time dependence e^{−iωt}.

Examples:
    >>> from analytic import thz
    >>> array = thz.LoopArray(gap=5e-9, thickness=100e-9, side_x=100e-6, side_y=100e-6,
    ...                       period_x=200e-6, period_y=200e-6)
    >>> res = thz.resonance(array, 0.05e12, 0.5e12)
    >>> round(res.frequency / 1e12, 2)
    0.13
"""

from ._materials import C0, MATERIAL_FIELDS, METALS, Drude, LoopArray, Materials
from ._model import (
    GEOMETRY_FIELDS,
    LoopArrayBatch,
    Resonance,
    Spectrum,
    frequency_limit,
    resonance,
    spectra,
    spectrum,
)
from ._peaks import Peaks, transmission_peaks
from ._protocol import ModalModel, SpectraModel

__all__ = [
    "C0",
    "GEOMETRY_FIELDS",
    "MATERIAL_FIELDS",
    "METALS",
    "Drude",
    "LoopArray",
    "LoopArrayBatch",
    "Materials",
    "ModalModel",
    "Peaks",
    "Resonance",
    "SpectraModel",
    "Spectrum",
    "frequency_limit",
    "resonance",
    "spectra",
    "spectrum",
    "transmission_peaks",
]
