"""The batched physics call of the THz family: what an env asks of a model, and the default answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ._model import LoopArrayBatch, Method, Spectrum, spectra


@runtime_checkable
class SpectraModel(Protocol):
    """A model of the zero-order response of many loop arrays at many frequencies.

    The modal expansion (:class:`ModalModel`) is the default implementation; a learned surrogate,
    a compressed surrogate or a fused kernel honours the same method, so an env given any of them
    as ``model=`` does not know which one answered.
    """

    def spectra(self, batch: LoopArrayBatch, freqs: np.ndarray) -> Spectrum:
        """Responses of every loop array of ``batch`` at ``freqs`` ((n_freq,) float64, Hz).

        Returns a batched :class:`Spectrum`: every array (n_geom, n_freq), finite.
        """
        ...


@dataclass(frozen=True)
class ModalModel:
    """The single-mode modal expansion as a :class:`SpectraModel` (the envs' default).

    Attributes:
        method: ``"numba"`` (parallel compiled kernel, default) or ``"numpy"`` (the reference).
        k_periods: reciprocal-lattice sums run to |k| ≤ k_periods·2π/min(Λ), as in :func:`spectra`.
    """

    method: Method = "numba"
    k_periods: float = 40.0

    def spectra(self, batch: LoopArrayBatch, freqs: np.ndarray) -> Spectrum:
        """One :func:`spectra` call: (n_geom, n_freq) arrays."""
        return spectra(batch, freqs, method=self.method, k_periods=self.k_periods)
