"""Batched scalar quantities of many plate cavities: the band level J and the first coupled frequency f1.

These are what a design search asks of the physics, and what :class:`ModalModel` (the default
:class:`CavityModel`) answers; a learned surrogate answers the same two calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ._modal import modal_tables, plate_shapes
from ._model import BatchResponse, CavityBatch, Response, responses
from ._reference import depth_exact_matrix

_F1_LOW = 1e-6  # lower bracket of f1, fraction of the first rigid-cavity pole
_F1_RTOL = 1e-7  # relative width at which the f1 bisection stops


def band_level(response: BatchResponse | Response) -> np.ndarray:
    """J = ∫ L_p,avg df / (f_hi − f_lo), dB re 20 µPa, by the trapezoid rule over ``response.freqs``.

    Args:
        response: a batch ((n_design, n_freq) levels) or one design ((n_freq,) levels); at least
            two frequencies.

    Returns:
        (n_design,) float64 or a 0-d array, dB.
    """
    freqs = response.freqs
    if len(freqs) < 2:
        raise ValueError(f"band_level needs at least 2 frequencies; got {len(freqs)}")
    return np.trapezoid(response.lp_avg, freqs, axis=-1) / (freqs[-1] - freqs[0])


def first_coupled_frequencies(batch: CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
    """First lossless coupled natural frequency f1 of every design of a 3D ``batch``, (n_design,) float64, Hz.

    The same quantity as ``coupled_modes(cavity, 1, n_plate, n_transverse, masses)[0]`` (loss
    factors ignored), for a whole batch by one bisection: below the lowest pole of the depth sums
    (the lowest rigid-cavity frequency in the mode set, c/(2·max(lx, ly, lz)), or higher when a
    transverse set is truncated to one mode), the real symmetric plate impedance Z(ω) of the
    depth-exact form is positive definite up to f1 and its smallest eigenvalue falls monotonically
    through zero there. Each step tests Z(ω) of every design for positive definiteness (a Cholesky
    factorisation) and halves the bracket in log f, from [1e-6, 1]·pole down to a relative width
    of 1e-7.

    Args:
        batch: 3D designs.
        n_plate, n_transverse: modes per in-plane axis (plate and cavity cross-modes), ≥ 1.
    """
    if batch.dim != 3:
        raise ValueError(f"first_coupled_frequencies needs a 3D batch; got a {batch.dim}D batch")
    for name, value in (("n_plate", n_plate), ("n_transverse", n_transverse)):
        if not (isinstance(value, int | np.integer) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
    sizes = batch.size
    stiffness = batch.youngs_modulus * batch.thickness**3 / (12.0 * (1.0 - batch.poisson**2))
    plate_counts, transverse_counts = (n_plate, n_plate), (n_transverse, n_transverse)
    tables = modal_tables(sizes, stiffness, batch.density * batch.thickness, plate_counts, transverse_counts)
    phi = plate_shapes(sizes, batch.mass_position, plate_counts)
    plate_w2 = tables.plate_w2.reshape(len(sizes), -1)
    largest = np.max(sizes if n_transverse > 1 else sizes[:, 2:], axis=1)
    hi = batch.air_speed / (2.0 * largest)
    lo = _F1_LOW * hi
    iterations = math.ceil(math.log2(math.log(1.0 / _F1_LOW) / math.log1p(_F1_RTOL)))
    for _ in range(iterations):
        mid = np.sqrt(lo * hi)
        for d, freq in enumerate(mid):
            omega = 2.0 * np.pi * freq
            k2 = (omega / batch.air_speed[d]) ** 2
            z, _ = depth_exact_matrix(tables, d, omega, k2, batch.air_density[d], plate_w2[d], batch.mass[d], phi[d])
            try:
                np.linalg.cholesky(z.real)
                lo[d] = freq
            except np.linalg.LinAlgError:
                hi[d] = freq
    return np.sqrt(lo * hi)


@runtime_checkable
class CavityModel(Protocol):
    """The batched physics call of the plate-cavity family: what an env asks of a model.

    The depth-exact modal model (:class:`ModalModel`) is the default implementation; a learned
    surrogate, a compressed surrogate or a fused kernel honours the same two methods, so an env
    given any of them as ``model=`` does not know which one answered.
    """

    def band_level(self, batch: CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int) -> np.ndarray:
        """J of every design over ``freqs`` ((n_freq,) Hz, ascending): (n_design,) float64, dB re 20 µPa."""
        ...

    def first_coupled_frequency(self, batch: CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        """f1 of every design: (n_design,) float64, Hz."""
        ...


@dataclass(frozen=True)
class ModalModel:
    """The depth-exact coupled modal model as a :class:`CavityModel` (the envs' default).

    Attributes:
        method: ``"numba"`` (batched compiled kernel, default) or ``"numpy"`` (the reference) for J.
    """

    method: str = "numba"

    def band_level(self, batch: CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int) -> np.ndarray:
        """J of every design: one :func:`responses` call over ``freqs``, then :func:`band_level`; (n_design,) dB."""
        return band_level(responses(batch, freqs, n_plate, n_transverse, method=self.method))  # type: ignore[arg-type]

    def first_coupled_frequency(self, batch: CavityBatch, n_plate: int, n_transverse: int) -> np.ndarray:
        """f1 of every design by :func:`first_coupled_frequencies`; (n_design,) Hz."""
        return first_coupled_frequencies(batch, n_plate, n_transverse)
