"""The transmission peak of sampled spectra: centre frequency, peak transmittance and quality factor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Peaks:
    """One transmission peak per spectrum; arrays are (n_spectra,) float64.

    Attributes:
        frequency: f_p, Hz; the peak centre (parabolic refinement of the sampled maximum).
        transmittance: T(f_p) of the refined parabola, clipped to the sampled range.
        fwhm: full width at half maximum, Hz; where T does not fall to T_p/2 inside the sampled
            band on a side, the band edge bounds the width (so Q is a lower bound there).
        q: f_p/FWHM.
    """

    frequency: np.ndarray
    transmittance: np.ndarray
    fwhm: np.ndarray
    q: np.ndarray


def transmission_peaks(freqs: ArrayLike, transmittance: ArrayLike, near: float) -> Peaks:
    """The transmission peak nearest ``near`` of each sampled spectrum, with its width.

    A peak is a sample not lower than its neighbours (band edges count); the one whose frequency
    is nearest ``near`` is refined by the parabola through it and its neighbours, and its half
    maximum is located on each side by linear interpolation between samples.

    Args:
        freqs: (n_freq,) float64, Hz, strictly increasing, at least 3 points.
        transmittance: (n_spectra, n_freq) or (n_freq,) float64, T ≥ 0, finite.
        near: Hz, the frequency the peak should be nearest to (the target).

    Returns:
        :class:`Peaks` of (n_spectra,) arrays (shape (1,) for one spectrum).

    Raises:
        ValueError: fewer than 3 frequencies, non-increasing frequencies, a shape mismatch, or a
            negative or non-finite transmittance.
    """
    f = np.asarray(freqs, dtype=np.float64)
    t = np.atleast_2d(np.asarray(transmittance, dtype=np.float64))
    if f.ndim != 1 or f.size < 3 or not np.all(np.diff(f) > 0) or not np.all(np.isfinite(f)):
        raise ValueError(f"freqs must be >= 3 finite, strictly increasing frequencies in Hz; got shape {f.shape}")
    if t.ndim != 2 or t.shape[1] != f.size:
        raise ValueError(f"transmittance must be (n_spectra, {f.size}); got shape {t.shape}")
    if not (np.all(np.isfinite(t)) and np.all(t >= 0)):
        raise ValueError("transmittance must be finite and >= 0")
    n, m = t.shape
    padded = np.pad(t, ((0, 0), (1, 1)), constant_values=-np.inf)
    is_peak = (t >= padded[:, :-2]) & (t >= padded[:, 2:])
    distance = np.where(is_peak, np.abs(f - near)[None, :], np.inf)
    i = np.argmin(distance, axis=1)
    rows = np.arange(n)
    # parabolic refinement through (i − 1, i, i + 1), interior peaks only
    inner = (i > 0) & (i < m - 1)
    j = np.clip(i, 1, m - 2)
    f0, f1, f2 = f[j - 1], f[j], f[j + 1]
    y0, y1, y2 = t[rows, j - 1], t[rows, j], t[rows, j + 1]
    denom = (f0 - f1) * (f0 - f2) * (f1 - f2)
    a = (f2 * (y1 - y0) + f1 * (y0 - y2) + f0 * (y2 - y1)) / denom
    b = (f2**2 * (y0 - y1) + f1**2 * (y2 - y0) + f0**2 * (y1 - y2)) / denom
    vertex = np.where(inner & (a < 0), -b / (2 * np.where(a < 0, a, -1.0)), f[i])
    vertex = np.clip(vertex, f[j - 1], f[j + 1])
    c = y1 - a * f1**2 - b * f1
    top = np.where(inner & (a < 0), a * vertex**2 + b * vertex + c, t[rows, i])
    top = np.clip(top, t[rows, i], None)
    half = top / 2
    lo_edge = np.array([_half_crossing(f, t[r], i[r], half[r], -1) for r in range(n)])
    hi_edge = np.array([_half_crossing(f, t[r], i[r], half[r], +1) for r in range(n)])
    fwhm = hi_edge - lo_edge
    return Peaks(vertex, top, fwhm, vertex / fwhm)


def _half_crossing(f: np.ndarray, t: np.ndarray, i: int, half: float, step: int) -> float:
    """Frequency where ``t`` first falls to ``half`` walking from sample ``i`` in direction ``step`` (edge if never)."""
    k = i
    while 0 <= k + step < len(f):
        if t[k + step] <= half:
            a, b = t[k], t[k + step]
            return float(f[k] + (f[k + step] - f[k]) * (a - half) / (a - b)) if a != b else float(f[k + step])
        k += step
    return float(f[k])
