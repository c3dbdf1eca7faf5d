"""thz.transmission_peaks: centre, height and width of sampled transmission peaks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import thz


def lorentzian(freqs: np.ndarray, f_res: np.ndarray, q: float) -> np.ndarray:
    """T = 1/(1 + q²(x − 1/x)²), x = f/f_res: half maximum at x − 1/x = ±1/q, so FWHM/f_res → 1/q."""
    x = freqs[None, :] / np.atleast_1d(f_res)[:, None]
    return 1.0 / (1.0 + q**2 * (x - 1.0 / x) ** 2)


@given(st.floats(0.15e12, 0.3e12), st.floats(8.0, 60.0))
def test_a_lorentzian_peak_is_recovered_to_the_sampling_accuracy(f_res, q):
    freqs = np.linspace(0.1e12, 0.4e12, 2048)
    peaks = thz.transmission_peaks(freqs, lorentzian(freqs, f_res, q), 0.2e12)
    exact_fwhm = f_res * ((np.sqrt(1 / q**2 + 4) + 1 / q) / 2 - (np.sqrt(1 / q**2 + 4) - 1 / q) / 2)
    step = freqs[1] - freqs[0]
    assert abs(peaks.frequency[0] - f_res) < 0.05 * step
    assert peaks.transmittance[0] == pytest.approx(1.0, abs=1e-3)
    assert peaks.fwhm[0] == pytest.approx(exact_fwhm, abs=0.1 * step)
    assert peaks.q[0] == pytest.approx(f_res / exact_fwhm, rel=0.02)


def test_the_peak_nearest_the_target_is_chosen_and_band_edges_bound_the_width():
    freqs = np.linspace(0.1e12, 0.4e12, 1024)
    two = lorentzian(freqs, np.array([0.15e12]), 30.0) + 0.5 * lorentzian(freqs, np.array([0.32e12]), 30.0)
    assert thz.transmission_peaks(freqs, two, 0.3e12).frequency[0] == pytest.approx(0.32e12, rel=1e-3)
    assert thz.transmission_peaks(freqs, two, 0.16e12).frequency[0] == pytest.approx(0.15e12, rel=1e-3)
    rising = np.linspace(0.0, 1.0, freqs.size)[None, :]  # no half maximum above: the band edge bounds it
    edge = thz.transmission_peaks(freqs, rising, 0.4e12)
    assert edge.frequency[0] == freqs[-1] and edge.fwhm[0] == pytest.approx(freqs[-1] - 0.25e12, rel=1e-2)


@pytest.mark.parametrize(
    ("freqs", "transmittance", "message"),
    [
        (np.array([1.0, 2.0]), np.ones(2), "freqs must be >= 3"),
        (np.array([1.0, 3.0, 2.0]), np.ones(3), "strictly increasing"),
        (np.array([1.0, 2.0, 3.0]), np.ones(4), "transmittance must be"),
        (np.array([1.0, 2.0, 3.0]), np.array([0.1, np.nan, 0.2]), "finite"),
        (np.array([1.0, 2.0, 3.0]), np.array([0.1, -0.2, 0.2]), ">= 0"),
    ],
)
def test_bad_spectra_are_rejected(freqs, transmittance, message):
    with pytest.raises(ValueError, match=message):
        thz.transmission_peaks(freqs, transmittance, 2.0)
