"""Stand-in models: cheap closed forms honouring each family's model protocol, counting their calls.

They are what a learned surrogate is to the envs: any object with the protocol's methods. The
contract tests run every env on them, which shows that ``model=`` reaches every objective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analytic import acoustic, thz
from envs.plate_cavity import cavity_from_design


class StandInSpectra:
    """A Lorentzian loop resonance at c/(4·(l_x + l_y)) with Q = 20 (``thz.SpectraModel``)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def spectra(self, batch: thz.LoopArrayBatch, freqs: np.ndarray) -> thz.Spectrum:
        self.calls.append(len(batch))
        freqs = np.asarray(freqs, dtype=np.float64)
        f_res = thz.C0 / (4.0 * (batch.side_x + batch.side_y))
        x = freqs[None, :] / f_res[:, None]
        t = 1.0 / (1.0 + 20j * (x - 1.0 / x))
        beta = batch.gap * 2.0 * (batch.side_x + batch.side_y) / (batch.period_x * batch.period_y)
        fe = np.abs(t) / beta[:, None]
        return thz.Spectrum(
            freqs=freqs,
            t=t,
            r=t - 1.0,
            transmittance=np.abs(t) ** 2,
            reflectance=np.abs(t - 1.0) ** 2,
            fe_avg=fe,
            fe_peak=1.5 * fe,
            fe_avg_substrate_normalised=fe,
            above_diffraction=np.zeros(fe.shape, dtype=bool),
        )


class StandInCavity:
    """J = 50 dB + 10·log10(V/h) and f1 = c/(4·max L) (``acoustic.CavityModel``)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def band_level(self, batch: acoustic.CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int) -> np.ndarray:
        self.calls.append(len(batch.size))
        return 50.0 + 10.0 * np.log10(batch.size.prod(axis=1) / batch.thickness)

    def first_coupled_frequency(self, batch: acoustic.CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        self.calls.append(len(batch.size))
        return batch.air_speed / (4.0 * batch.size.max(axis=1))


class StandInToy:
    """v(u) = −Σ u_i (``envs.toy.ToyModel``)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def values(self, points: np.ndarray) -> np.ndarray:
        self.calls.append(len(points))
        return -np.sum(points, axis=1)


def thz_objective(model: StandInSpectra, design: dict[str, Any], config: Any) -> float:
    """The field-enhancement objective of ``design`` under ``model`` at the env's target."""
    batch = thz.LoopArrayBatch.from_arrays([thz.LoopArray(**design)])
    return float(model.spectra(batch, np.array([config.target_frequency])).fe_avg[0, 0])


def acoustic_objective(model: StandInCavity, design: dict[str, Any], config: Any) -> float:
    """The quiet objective (−J) of ``design`` under ``model``."""
    cavity, force, masses = cavity_from_design(design)
    batch = acoustic.CavityBatch.from_cavities([cavity], [force], [masses])
    return -float(model.band_level(batch, config.band_frequencies, config.n_plate, config.n_transverse)[0])


def toy_objective(model: StandInToy, design: dict[str, Any], config: Any) -> float:
    """The bowl objective of ``design`` under ``model``."""
    return float(model.values(np.array([list(design.values())]))[0])
