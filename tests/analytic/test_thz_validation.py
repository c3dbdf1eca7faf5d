"""Bounds of the THz model's public API, the kernel under extreme valid inputs, finite and passive results."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import thz
from analytic.thz._kernels import transmission_batch

ROOT = Path(__file__).resolve().parents[2]
ROW = dict(gap=5e-9, thickness=100e-9, side_x=100e-6, side_y=100e-6, period_x=200e-6, period_y=200e-6)
GOLD_ROW = thz.LoopArray(**ROW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(gap=1e-310), r"gap must lie in \[1e-10, 0.0001\] m; got gap=1e-310"),  # aborted the kernel
        (dict(period_x=200e-6 * 1e14), r"period_x must lie in \[1e-07, 0.02\] m"),  # segfaulted the kernel
        (dict(period_x=100.0), r"period_x must lie in"),  # hung the kernel for minutes
        (dict(side_x=1e-6, period_x=1.5e-5, period_y=2e-2), r"period_x/period_y must lie in \[1/1000, 1000\]"),
        (dict(period_x=100e-6 + 4e-9), r"period_x must exceed side_x \+ gap"),  # overlapping gaps: |t| = 112
        (dict(thickness=1e200), r"thickness must lie in \[1e-09, 0.001\] m"),
        (dict(eps_gap=1e300), r"\|eps_gap\| <= 10000; got eps_gap=1e\+300"),
        (dict(eps_gap=10**400), "eps_gap must be a number"),
        (dict(eps_substrate=1e-300), "eps_substrate must be finite with real part >= 0.01"),  # NaN before (fuzz)
        (dict(gap="5e-9"), "gap must be a length in metres"),
        (dict(gap=True), "gap must be a length in metres"),
    ],
)
def test_loop_array_rejects_out_of_range_and_inconsistent_geometry(kwargs, message):
    with pytest.raises(ValueError, match=message):
        thz.LoopArray(**(ROW | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(plasma_frequency=1e300, damping=4e13), r"plasma_frequency must lie in \[1e\+14, 1e\+17\] rad/s"),
        (dict(plasma_frequency=1.37e16, damping=float("nan")), r"damping must lie in \[1e\+10, 1e\+16\] 1/s"),
        (dict(plasma_frequency=True, damping=4e13), "plasma_frequency must be a real number"),
    ],
)
def test_drude_rejects_unphysical_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        thz.Drude(**kwargs)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: thz.spectrum(GOLD_ROW, [1e-300]), r"freqs must lie in \[1e\+09, 1e\+14\] Hz; got 1e-300 Hz"),
        (lambda: thz.spectrum(GOLD_ROW, [2e13]), r"freqs must be at most 7\.6\d+e\+12 Hz for geometry 0"),
        (lambda: thz.spectrum(GOLD_ROW, np.full(10_000_001, 1e11)), "freqs may hold at most 10000000 values"),
        (lambda: thz.spectrum(GOLD_ROW, [1e11], k_periods=1e9), r"k_periods must lie in \[2, 200\]"),
        (lambda: thz.spectrum(GOLD_ROW, [1e11], method="fortran"), "method must be 'numba' or 'numpy'"),
        (
            lambda: thz.spectrum(thz.LoopArray(**(ROW | dict(period_x=2e-2))), [1e11], k_periods=200),
            r"k_periods·max\(period\)/min\(period\) must be at most 10000",
        ),
        (
            lambda: thz.spectrum(thz.LoopArray(**(ROW | dict(period_x=16e-3))), [1e9], method="numpy", k_periods=120),
            r"method='numpy' needs k_periods²",
        ),
        (lambda: thz.resonance(GOLD_ROW, 0.05e12, 0.5e12, points=10**8), r"points must be an int in \[3, 100000\]"),
        (lambda: thz.resonance(GOLD_ROW, 0.05e12, 0.5e12, points=2.5), "points must be an int"),
        (lambda: thz.resonance(GOLD_ROW, 0.5e12, 0.05e12), "need fmin < fmax"),
        (lambda: thz.resonance(GOLD_ROW, math.nan, 0.05e12), "fmin must lie in"),
        (
            lambda: thz.LoopArrayBatch(**{k: [] for k in ROW}),
            r"a batch holds 1 to 1000000 geometries; got 0",
        ),
    ],
)
def test_model_functions_reject_bad_arguments_before_any_work(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_kernel_refuses_a_scratch_size_beyond_its_bound_instead_of_allocating_it():
    geoms = np.array([[5e-9, 1e-7, 1e-4, 1e-4, 2e-4, 2e-4 * 1e14]])
    with pytest.raises(ValueError, match="beyond the scratch bound"):
        transmission_batch(geoms, np.array([[1e11]]), 9 + 0j, 3.8 + 0j, 1 + 0j, False, 1.37e16, 4.07e13, 40.0)


def test_frequency_limit_is_the_smallest_of_the_lattice_metal_and_global_bounds():
    lattice = 40 * thz.C0 / (4 * math.sqrt(3.8) * 200e-6)
    assert thz.frequency_limit(thz.LoopArrayBatch.from_arrays([GOLD_ROW])) == pytest.approx([lattice], rel=1e-12)
    poor_metal = thz.LoopArrayBatch.from_arrays([thz.LoopArray(**ROW, metal=thz.Drude(1e14, 1e12))])
    assert thz.frequency_limit(poor_metal) == pytest.approx([0.1 * 1e14 / (2 * math.pi)], rel=1e-12)
    small = thz.LoopArrayBatch.from_arrays([thz.LoopArray(1e-9, 1e-8, 1e-7, 1e-7, 3e-7, 3e-7, metal="pec")])
    assert thz.frequency_limit(small) == pytest.approx([1e14], rel=1e-12)


def test_exact_rayleigh_anomaly_and_loop_mode_cutoff_stay_finite_in_both_paths():
    """k_z = 0 (a grazing order) and q = 0 (loop-mode cutoff) are removable points of the formulas."""
    grazing = thz.LoopArray(  # found by the kernel hammer: order (50, 0) grazes exactly; SystemError before
        6.201250817698743e-10,
        1e-3,
        0.005749453955065562,
        0.01,
        0.008539170596332817,
        0.010000001240250163,
        eps_gap=1.822023594984027,
        eps_substrate=1.0,
        metal="pec",
    )
    for method in ("numba", "numpy"):
        spec = thz.spectrum(grazing, [1755395647726.883], k_periods=200.0, method=method)
        assert np.all(np.isfinite(spec.t)) and spec.transmittance[0] + spec.reflectance[0] <= 1 + 1e-9
    pec = thz.LoopArray(1e-6, 1e-7, 50e-6, 50e-6, 100e-6, 100e-6, eps_gap=1.0, eps_substrate=1.0, metal="pec")
    anomaly = thz.C0 / 100e-6  # order (1, 0) grazes in air
    cutoff = thz.C0 / pec.perimeter  # q = √(ε_g)k0 − a = 0 with μ_g = 1
    for method in ("numba", "numpy"):
        spec = thz.spectrum(pec, [anomaly, cutoff], method=method)
        assert np.all(np.isfinite(spec.t)) and np.all(np.isfinite(spec.r))
        assert np.all(spec.transmittance + spec.reflectance <= 1 + 1e-9)
    near = thz.spectrum(pec, [cutoff * (1 - 1e-9), cutoff * (1 + 1e-9)])
    exact = thz.spectrum(pec, [cutoff])
    assert np.abs(exact.t[0] - near.t[0]) < 1e-6 and np.abs(exact.t[0] - near.t[1]) < 1e-6


def test_the_kernel_survives_extreme_valid_inputs_in_a_subprocess():
    """Bound values (1e-10 m gaps, 1 mm films, |ε| = 1e4, period ratio 1000, k_periods·ratio = 1e4)."""
    command = [sys.executable, "-m", "tests.analytic.fuzz", "--family", "thz-extreme", "--count", "24"]
    command += ["--timeout", "60", "--json"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert '"bad": 0' in out.stdout, out.stdout + out.stderr
    assert '"ok": 24' in out.stdout
    assert out.returncode == 0


valid_arrays = st.builds(
    lambda gap, h, sx, aspect, mx, my, eps_gap, metal: thz.LoopArray(
        gap, h, sx, sx * aspect, sx + gap + mx * sx, sx * aspect + gap + my * sx * aspect, eps_gap=eps_gap, metal=metal
    ),
    gap=st.floats(1e-10, 1e-6),
    h=st.floats(1e-9, 1e-3),
    sx=st.floats(1e-5, 2e-3),
    aspect=st.floats(0.2, 3.0),
    mx=st.floats(0.01, 2.0),
    my=st.floats(0.01, 2.0),
    eps_gap=st.complex_numbers(min_magnitude=1.0, max_magnitude=1e4).filter(lambda z: z.real >= 0.01 and z.imag >= 0),
    metal=st.sampled_from(["gold", "silver", "copper", "aluminium", "pec"]),
)


@given(array=valid_arrays, fractions=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4))
def test_valid_inputs_give_finite_passive_results(array, fractions):
    """Anywhere inside the bounds, including above the first diffraction order (T + R ≤ 1 still)."""
    top = float(thz.frequency_limit(thz.LoopArrayBatch.from_arrays([array]))[0])
    freqs = [min(top, 1e9 * (top / 1e9) ** x) for x in fractions]  # 1e9·(top/1e9) can round 1 ulp past top
    spec = thz.spectrum(array, freqs)
    for name in ("t", "r", "transmittance", "reflectance", "fe_avg", "fe_peak"):
        assert np.all(np.isfinite(getattr(spec, name))), name
    assert np.all(spec.transmittance + spec.reflectance <= 1 + 1e-9)


@given(
    name=st.sampled_from(sorted(ROW)),
    value=st.one_of(
        st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 1e-300, 1e300, 5e-324]),
        st.floats(allow_nan=False).filter(lambda v: not 1e-10 <= v <= 2e-2),
    ),
)
def test_out_of_range_lengths_raise_value_error_naming_the_parameter(name, value):
    with pytest.raises(ValueError, match=name):
        thz.LoopArray(**(ROW | {name: value}))
