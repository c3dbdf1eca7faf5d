"""Physics validation of the THz nanogap-loop model (docs/models/thz.md §2–3)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special

from analytic import thz
from analytic.thz import _quadrature as quadrature
from analytic.thz import _reference as reference
from analytic.thz._materials import C0


def square(gap, thickness, side, period, **kwargs) -> thz.LoopArray:
    return thz.LoopArray(gap, thickness, side, side, period, period, **kwargs)


GOLD_ROW = square(5e-9, 100e-9, 100e-6, 200e-6)
PEC_FREE = square(1e-6, 0.1e-6, 50e-6, 100e-6, eps_gap=1.0, eps_substrate=1.0, metal="pec")
PEC_QUARTZ = square(1e-6, 0.1e-6, 50e-6, 100e-6, eps_gap=1.0, metal="pec")


@pytest.mark.parametrize(
    ("array", "window", "f_res", "t_abs", "fe_avg"),
    [
        (GOLD_ROW, (0.05e12, 0.5e12), 0.125e12, 0.146, 2.9e3),
        (PEC_FREE, (1.0e12, 2.5e12), 1.72e12, 1.00, 50.0),
        (PEC_QUARTZ, (0.5e12, 1.5e12), 1.12e12, 0.68, 34.0),
    ],
    ids=["gold-5nm-100nm-100um-200um", "pec-free-standing", "pec-on-quartz"],
)
def test_reproduces_the_validation_rows_of_the_thz_model_page(array, window, f_res, t_abs, fe_avg):
    res = thz.resonance(array, *window)
    assert res.frequency == pytest.approx(f_res, rel=0.02)
    assert res.t_abs == pytest.approx(t_abs, rel=0.05)
    assert res.fe_avg == pytest.approx(fe_avg, rel=0.05)


def test_gold_row_peak_field_is_fe_avg_times_pi_over_two_sin():
    res = thz.resonance(GOLD_ROW, 0.05e12, 0.5e12)
    assert res.fe_peak == pytest.approx(6.5e3, rel=0.05)
    assert res.fe_peak / res.fe_avg == pytest.approx(math.pi / (2 * math.sin(math.pi / 4)), rel=1e-12)


def test_pec_free_standing_loop_transmits_fully_at_resonance():
    res = thz.resonance(PEC_FREE, 1.0e12, 2.5e12)
    assert res.t_abs == pytest.approx(1.0, abs=1e-6)
    assert res.fe_avg == pytest.approx(1.0 / PEC_FREE.coverage, rel=1e-6)


def test_nanogap_tails_are_independent_of_the_cutoff():
    r40 = thz.resonance(GOLD_ROW, 0.05e12, 0.5e12, k_periods=40)
    r80 = thz.resonance(GOLD_ROW, 0.05e12, 0.5e12, k_periods=80)
    for a, b in [(r40.frequency, r80.frequency), (r40.t_abs, r80.t_abs), (r40.fe_avg, r80.fe_avg)]:
        assert a == pytest.approx(b, rel=2e-4)


def test_compensated_te_tail_keeps_micron_gap_resonance_within_half_a_percent_from_k20_to_k160():
    freqs = [thz.resonance(PEC_QUARTZ, 0.5e12, 1.5e12, k_periods=k).frequency for k in (20, 40, 80, 160)]
    assert max(freqs) / min(freqs) - 1 < 5e-3


def test_resonance_scales_inversely_with_perimeter():
    products = []
    for side in (50e-6, 100e-6, 200e-6):
        res = thz.resonance(square(5e-9, 100e-9, side, 2 * side), 0.02e12, 1e12)
        products.append(res.frequency * 4 * side * 2)
    assert max(products) / min(products) < 1.05


def test_resonance_red_shifts_as_thickness_over_gap_grows():
    freqs = [
        thz.resonance(square(5e-9, h, 100e-6, 200e-6), 0.02e12, 1e12).frequency for h in (20e-9, 50e-9, 100e-9, 200e-9)
    ]
    assert all(a > b for a, b in zip(freqs, freqs[1:]))
    assert freqs[0] / freqs[-1] > 2.0


def test_field_enhancement_falls_as_one_over_frequency_above_resonance_for_slit_like_arrays():
    array = square(20e-9, 100e-9, 480e-6, 500e-6)
    f_res = thz.resonance(array, 0.005e12, 0.3e12).frequency
    freqs = np.array([3.0, 4.5, 6.0]) * f_res
    spec = thz.spectrum(array, freqs)
    products = spec.fe_avg * freqs
    assert np.all(np.diff(spec.fe_avg) < 0)
    assert products.max() / products.min() < 1.15


def test_field_enhancement_is_transmission_over_coverage():
    spec = thz.spectrum(GOLD_ROW, [0.1e12, 0.2e12])
    np.testing.assert_allclose(spec.fe_avg, spec.t_abs / GOLD_ROW.coverage, rtol=1e-14)
    n_sub = math.sqrt(3.8)
    np.testing.assert_allclose(spec.fe_avg_substrate_normalised, spec.fe_avg * (1 + n_sub) / 2, rtol=1e-14)


valid_geometry = st.builds(
    lambda gap, h, lx, ly, mx, my, metal: thz.LoopArray(gap, h, lx, ly, lx * mx, ly * my, metal=metal),
    gap=st.floats(1e-9, 50e-9),
    h=st.floats(10e-9, 300e-9),
    lx=st.floats(10e-6, 500e-6),
    ly=st.floats(10e-6, 500e-6),
    mx=st.floats(1.05, 3.0),
    my=st.floats(1.05, 3.0),
    metal=st.sampled_from(["gold", "silver", "copper", "aluminium"]),
)


@given(array=valid_geometry, fraction=st.floats(0.05, 0.98))
def test_metal_arrays_are_passive_below_diffraction(array, fraction):
    spec = thz.spectrum(array, [fraction * array.diffraction_frequency])
    total = spec.transmittance + spec.reflectance
    assert np.all(np.isfinite(total))
    assert np.all(total <= 1.0 + 1e-9)
    assert not spec.above_diffraction.any()


@pytest.mark.parametrize(
    "array", [PEC_FREE, PEC_QUARTZ, thz.LoopArray(3e-9, 50e-9, 80e-6, 140e-6, 120e-6, 300e-6, metal="pec")]
)
def test_perfect_conductor_conserves_energy_below_diffraction(array):
    freqs = np.linspace(0.05, 0.97, 12) * array.diffraction_frequency
    spec = thz.spectrum(array, freqs)
    np.testing.assert_allclose(spec.transmittance + spec.reflectance, 1.0, atol=1e-10)


CASES = [
    GOLD_ROW,
    PEC_QUARTZ,
    thz.LoopArray(3e-9, 60e-9, 120e-6, 80e-6, 300e-6, 150e-6, metal="silver"),
    thz.LoopArray(12e-9, 150e-9, 40e-6, 60e-6, 90e-6, 70e-6, metal="aluminium", eps_substrate=11.7),
    thz.LoopArray(2e-9, 30e-9, 200e-6, 250e-6, 400e-6, 380e-6, metal=thz.Drude(1.37e16, 1.2e14)),
    thz.LoopArray(3e-9, 60e-9, 120e-6, 80e-6, 300e-6, 150e-6, eps_gap=6 + 0.3j, eps_substrate=11.7 + 0.1j),
]


@pytest.mark.parametrize("array", CASES, ids=lambda a: f"{a.metal}-{a.gap:.0e}")
def test_numba_kernel_equals_numpy_reference(array):
    freqs = np.linspace(0.05, 1.6, 9) * array.diffraction_frequency  # includes propagating orders
    fast = thz.spectrum(array, freqs)
    slow = thz.spectrum(array, freqs, method="numpy")
    np.testing.assert_allclose(fast.t, slow.t, rtol=1e-9, atol=0)
    np.testing.assert_allclose(fast.r, slow.r, rtol=1e-9, atol=0)
    assert np.array_equal(fast.above_diffraction, freqs > array.diffraction_frequency)


def test_batch_matches_single_geometry_calls_and_accepts_one_frequency_per_geometry():
    batch = thz.LoopArrayBatch.from_arrays([GOLD_ROW, dataclasses.replace(GOLD_ROW, gap=9e-9, side_y=120e-6)])
    freqs = np.array([[0.1e12], [0.2e12]])
    spec = thz.spectra(batch, freqs)
    assert spec.t.shape == (2, 1)
    for i in range(2):
        single = thz.spectrum(batch[i], freqs[i])
        np.testing.assert_allclose(spec.t[i], single.t, rtol=1e-13)


@pytest.mark.parametrize(("gap", "metal"), [(5e-9, "gold"), (20e-9, "gold"), (1e-6, "gold"), (1e-6, "pec")])
def test_tail_quadrature_rule_agrees_with_adaptive_quadrature(gap, metal):
    array = square(gap, 100e-9, 100e-6, 200e-6, metal=metal)
    freq = 0.3e12
    k0 = 2 * math.pi * freq / C0
    eps_m = None if array.drude is None else complex(array.drude.permittivity(freq))
    w, a = array.gap, 2 * math.pi / array.perimeter
    cut, k1 = 40 * 2 * math.pi / 200e-6, 2 * math.pi / 200e-6
    c_inf = 1j / k0 if eps_m is None else 0.5j / k0

    def quad(weight, lo, hi):
        def part(x, name):
            k = math.exp(x)
            remainder = reference._admittances(3.8, eps_m, k0, np.array([k]))[1][0] - c_inf * k
            return getattr(remainder * weight(math.sin(k * w / 2) ** 2 / (k * w / 2) ** 2) / k, name)

        opts = dict(limit=100, epsabs=0, epsrel=1e-11)
        return (
            integrate.quad(part, lo, hi, args=("real",), **opts)[0]
            + 1j * integrate.quad(part, lo, hi, args=("imag",), **opts)[0]
        )

    x_osc = math.log(max(cut, 2 / w))
    upper = quad(lambda s2: s2, math.log(cut), x_osc) if x_osc > math.log(cut) else 0
    upper += sum(quad(lambda s2: s2, x_osc + i / 2, x_osc + (i + 1) / 2) for i in range(24))
    lower = quad(lambda s2: 1 - s2, math.log(k1), math.log(cut))
    u0, u1 = cut * w / 2, k1 * w / 2
    sin2_u3 = integrate.quad(lambda u: math.sin(u) ** 2 / u**3, u1, u0, limit=200, epsrel=1e-13)[0]
    analytic = c_inf * (sin2_u3 + quadrature.sin2_tail(u0) - math.log(u0 / u1))  # I(u1) = ∫_{u1}^{u0} + I(u0)
    exact = a**2 * w / math.pi * (analytic + upper - lower)
    rule = reference.te_tail(array, 3.8, eps_m, k0, cut)
    assert abs(rule - exact) / abs(exact) < (2e-8 if gap < 1e-7 else 3e-6)


def test_closed_form_sin2_tail_matches_quadrature():
    for u0 in (1e-4, 0.3, 2.0):
        # sin²u/u³ = (1 − cos 2u)/(2u³): the oscillating part beyond 50 with QUADPACK's cosine weight.
        head = integrate.quad(lambda u: math.sin(u) ** 2 / u**3, u0, 50, limit=500, epsabs=0, epsrel=1e-13)[0]
        cos_tail = integrate.quad(lambda u: 0.5 / u**3, 50, np.inf, weight="cos", wvar=2.0)[0]
        assert quadrature.sin2_tail(u0) == pytest.approx(head + 0.25 / 50**2 - cos_tail, rel=1e-12, abs=1e-10)


@pytest.mark.parametrize("x", [1e-6, 0.01, 0.5, 1.0, 3.0, 2 * math.pi])
def test_cosine_integral_series_matches_scipy(x):
    assert quadrature.cosine_integral(x) == pytest.approx(special.sici(x)[1], rel=1e-13, abs=1e-15)


def test_gold_drude_values_at_0p2_thz_match_the_thz_model_page():
    eps = complex(thz.METALS["gold"].permittivity(0.2e12))
    assert eps.real == pytest.approx(-1.1e5, rel=0.05)
    assert eps.imag == pytest.approx(3.6e6, rel=0.05)
    z_s = 1 / np.sqrt(eps)
    assert z_s.real == pytest.approx(3.7e-4, rel=0.05)
    assert z_s.imag == pytest.approx(-3.8e-4, rel=0.05)


def test_thick_films_and_extreme_geometries_stay_finite():
    for array in [square(5e-9, 1e-3, 100e-6, 200e-6), square(99e-6, 1e-9, 100e-6, 200e-6)]:
        spec = thz.spectrum(array, [0.01e12, 0.2e12, 2e12])
        assert np.all(np.isfinite(spec.t)) and np.all(np.isfinite(spec.fe_avg))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(gap=0.0), r"gap must lie in \[1e-10, 0.0001\] m; got gap=0.0"),
        (dict(gap=float("nan")), "gap must lie in"),
        (dict(thickness=-1e-9), "thickness must lie in"),
        (dict(gap=1e-4), "gap must be smaller than side_x"),
        (dict(side_x=3e-4), "period_x must exceed side_x [+] gap"),
        (dict(side_y=2e-4), "period_y must exceed side_y [+] gap"),
        (dict(metal="unobtainium"), "metal must be one of"),
        (dict(eps_substrate=-2.0), "eps_substrate must be finite with real part >= 0.01"),
        (dict(eps_gap=4 - 1j), "eps_gap must be finite"),
    ],
)
def test_invalid_geometry_is_rejected_with_the_parameter_named(kwargs, message):
    values = dict(gap=5e-9, thickness=100e-9, side_x=100e-6, side_y=100e-6, period_x=200e-6, period_y=200e-6) | kwargs
    with pytest.raises(ValueError, match=message):
        thz.LoopArray(**values)


@pytest.mark.parametrize("freqs", [[0.0], [-1e12], [float("inf")], []])
def test_invalid_frequencies_are_rejected(freqs):
    with pytest.raises(ValueError, match="freqs"):
        thz.spectrum(GOLD_ROW, freqs)


def test_batch_errors_name_the_first_bad_index_and_mismatched_materials():
    with pytest.raises(ValueError, match=r"gap\[1\]"):
        thz.LoopArrayBatch(
            gap=[5e-9, -1],
            thickness=[1e-7] * 2,
            side_x=[1e-4] * 2,
            side_y=[1e-4] * 2,
            period_x=[2e-4] * 2,
            period_y=[2e-4] * 2,
        )
    with pytest.raises(ValueError, match="metal"):
        thz.LoopArrayBatch.from_arrays([GOLD_ROW, dataclasses.replace(GOLD_ROW, metal="pec")])
    with pytest.raises(ValueError, match="Drude plasma_frequency"):
        thz.Drude(-1.0, 1e13)
    with pytest.raises(ValueError, match="fmin"):
        thz.resonance(GOLD_ROW, 2e12, 1e12)


def test_spectrum_from_amplitudes_rebuilds_the_model_spectrum():
    batch = thz.LoopArrayBatch(
        gap=[5e-9, 10e-9],
        thickness=[100e-9, 50e-9],
        side_x=[100e-6, 80e-6],
        side_y=[100e-6, 120e-6],
        period_x=[200e-6, 150e-6],
        period_y=[200e-6, 400e-6],
    )
    freqs = np.linspace(0.1e12, 0.8e12, 7)
    spec = thz.spectra(batch, freqs)
    again = thz.Spectrum.from_amplitudes(batch, freqs, spec.t, spec.r)
    for name in ("freqs", "transmittance", "reflectance", "fe_avg", "fe_peak", "fe_avg_substrate_normalised"):
        np.testing.assert_allclose(
            getattr(again, name), np.broadcast_to(getattr(spec, name), again.t.shape), rtol=1e-14
        )
    np.testing.assert_array_equal(again.above_diffraction, spec.above_diffraction)
