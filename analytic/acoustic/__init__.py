"""Plate-backed rigid cavity (docs/models/acoustic.md §2): coupled modal model and companions.

Model A: rigid rectangular air cavity closed on z = lz by a simply supported Kirchhoff plate
(3D, or the 2D x–z analogue per unit width), solved by the coupled modal method with the depth
sum in closed form (:func:`response`, :func:`responses`, :func:`coupled_modes`), or by the
truncated full modal form (interior monopoles, :func:`coupled_modes_full`). Models B and C:
panel transmission loss and the Helmholtz resonator. SI units, time dependence e^{iωt}, peak
amplitudes; L_p,avg = 10·log10(⟨|p|²⟩/2/p_ref²), p_ref = 20 µPa.

Examples:
    >>> from analytic import acoustic
    >>> cavity = acoustic.PlateCavity((0.5, 0.4), acoustic.Plate.of("aluminium", 2e-3))
    >>> [round(f, 2) for f in acoustic.coupled_modes(cavity, 3)]
    [41.02, 77.12, 175.09]
"""

from ._batch import CavityModel, ModalModel, band_level, first_coupled_frequencies
from ._companions import (
    coincidence_frequency,
    double_wall_resonance,
    helmholtz_resonator_frequency,
    panel_transmission_loss,
    side_branch_transmission_loss,
)
from ._geometry import (
    MATERIALS,
    Air,
    LineForce,
    Material,
    Monopole,
    PlaneWave,
    Plate,
    PlateCavity,
    PointForce,
    PointMass,
    check_load,
    check_mass,
)
from ._modal import modes_below
from ._model import P_REF, BatchResponse, CavityBatch, Response, response, responses, sound_level
from ._modes import cavity_modes, coupled_modes, coupled_modes_full

__all__ = [
    "MATERIALS",
    "P_REF",
    "Air",
    "BatchResponse",
    "CavityBatch",
    "CavityModel",
    "LineForce",
    "Material",
    "ModalModel",
    "Monopole",
    "PlaneWave",
    "Plate",
    "PlateCavity",
    "PointForce",
    "PointMass",
    "Response",
    "band_level",
    "cavity_modes",
    "check_load",
    "check_mass",
    "coincidence_frequency",
    "coupled_modes",
    "coupled_modes_full",
    "double_wall_resonance",
    "first_coupled_frequencies",
    "helmholtz_resonator_frequency",
    "modes_below",
    "panel_transmission_loss",
    "response",
    "responses",
    "side_branch_transmission_loss",
    "sound_level",
]
