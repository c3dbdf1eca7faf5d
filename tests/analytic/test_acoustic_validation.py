"""Bounds of the acoustic model's public API: ValueError (never OverflowError, ZeroDivisionError or
SystemError) before any work, and finite results for valid inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytic import acoustic

ALU = acoustic.Plate.of("aluminium", 2e-3)
CAV3 = acoustic.PlateCavity((0.5, 0.4, 0.3), ALU)
CAV2 = acoustic.PlateCavity((0.5, 0.4), ALU)
FORCE3 = acoustic.PointForce(1.0, (0.12, 0.17))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: acoustic.Plate(1e200, 70e9, 2700, 0.33), r"Plate thickness must lie in \[1e-05, 0.1\] m"),
        (lambda: acoustic.Plate(2e-3, 10**400, 2700, 0.33), "youngs_modulus must be a real number"),
        (lambda: acoustic.Plate(2e-3, 70e9, 2700, -1 + 1e-300), r"poisson must lie in \[-0.9, 0.499\]"),
        (lambda: acoustic.Plate(2e-3, 70e9, 2700, 0.33, loss_factor=math.inf), "loss_factor must be finite"),
        (lambda: acoustic.Plate(2e-3, "70e9", 2700, 0.33), "youngs_modulus must be a real number"),
        (lambda: acoustic.Air(density=1e300), r"Air density must lie in \[1e-12, 10000\] kg/m\^3"),
        (lambda: acoustic.Air(speed=1e-300), r"Air speed must lie in \[10, 10000\] m/s"),
        (lambda: acoustic.PlateCavity((1e6, 0.4, 0.3), ALU), r"size lx must lie in \[0.01, 100\] m"),
        (lambda: acoustic.PlateCavity((0.5, 10**400), ALU), "PlateCavity size must be"),
        (
            lambda: acoustic.PlateCavity((0.05, 0.4, 0.3), acoustic.Plate.of("steel", 0.01)),
            "size lx must be at least 10 plate thicknesses",
        ),
        (lambda: acoustic.PointForce(1e300, (0.1, 0.1)), r"PointForce \|amplitude\| must lie in \[0, 1e\+09\] N"),
        (lambda: acoustic.PointForce(1.0, (10**400, 0.1)), "PointForce position must be"),
        (lambda: acoustic.PlaneWave(complex(1e300, 1e300)), r"\|amplitude\| must lie in"),
        (lambda: acoustic.Monopole(1e10, (0.1, 0.1, 0.1)), r"\|volume_velocity\| must lie in \[0, 1000\]"),
        (lambda: acoustic.PointMass(1e300, (0.1, 0.1)), r"mass must lie in \[0, 1e\+06\]"),
    ],
)
def test_constructors_raise_value_error_naming_parameter_bound_and_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: acoustic.response(CAV3, [1e-300], FORCE3), r"freqs must lie in \[0.1, 20000\] Hz; got 1e-300 Hz"),
        (lambda: acoustic.response(CAV3, [1e300], FORCE3), r"freqs must lie in \[0.1, 20000\] Hz"),
        (lambda: acoustic.response(CAV3, np.full(100_001, 100.0), FORCE3), "freqs may hold at most 100000 values"),
        (lambda: acoustic.response(CAV3, [100.0], FORCE3, n_plate=10**6), "n_plate must be an int or a pair"),
        (lambda: acoustic.response(CAV3, [100.0], FORCE3, n_plate=(64, 64)), "at most 1024 modes in all"),
        (lambda: acoustic.response(CAV3, [100.0], FORCE3, n_transverse=True), "n_transverse must be"),
        (lambda: acoustic.response(CAV3, [100.0], FORCE3, method="fortran"), "method must be 'numba' or 'numpy'"),
        (
            lambda: acoustic.response(CAV3, [100.0], acoustic.Monopole(1e-3, (0.1, 0.1, 0.1)), n_depth=10**9),
            r"n_depth must be an int in \[1, 512\]",
        ),
        (
            lambda: acoustic.response(
                CAV3, [100.0], acoustic.Monopole(1e-3, (0.1, 0.1, 0.1)), n_transverse=32, n_depth=512
            ),
            "the full form holds at most 20000 cavity modes",
        ),
        (lambda: acoustic.coupled_modes(CAV3, 100_000), r"count must be an int in \[1, 200\]"),
        (lambda: acoustic.coupled_modes(CAV3, 3, tol=1e-300), r"tol must lie in \[1e-9, 0.1\]"),
        (lambda: acoustic.coupled_modes("cavity", 3), "cavity must be an acoustic.PlateCavity"),
        (lambda: acoustic.coupled_modes_full(CAV3, 3, n_cavity=(12, 12, 100)), "at most 3000 plate \\+ cavity modes"),
        (lambda: acoustic.cavity_modes((0.5, 0.4, 0.3), count=10**8), r"count must be an int in \[1, 1000\]"),
        (lambda: acoustic.cavity_modes((1e6, 0.4, 0.3)), r"size must lie in \[0.01, 100\] m"),
        (lambda: acoustic.cavity_modes((0.5, 0.4), air="air"), "air must be an acoustic.Air or None"),
        (lambda: acoustic.coincidence_frequency("plate"), "plate must be an acoustic.Plate"),
        (lambda: acoustic.double_wall_resonance(1e-300, 10.0, 0.1), r"mass_1 must lie in \[0.001, 10000\]"),
        (lambda: acoustic.helmholtz_resonator_frequency(1e300, 0.05, 0.01), r"volume must lie in \[1e-09, 1000\]"),
        (lambda: acoustic.panel_transmission_loss(1e-300, [100.0]), "surface_density must lie in"),
        (lambda: acoustic.panel_transmission_loss(ALU, [100.0], "diffuse", max_angle=89.99), "max_angle must lie"),
        (
            lambda: acoustic.side_branch_transmission_loss([100.0], 5e-4, 0.05, 0.015, 1e300),
            r"duct_area must lie in \[1e-06, 100\]",
        ),
    ],
)
def test_functions_raise_value_error_before_any_work(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(thickness=[2e-3, 1e200]), r"thickness must be in \[1e-05, 0.1\].*got thickness\[1\]=1e\+200"),
        (dict(size=[[0.5, 0.4, 0.3], [1e6, 0.4, 0.3]]), r"size must be in \[0.01, 100\].*got size\[1, 0\]"),
        (dict(force=1e300), r"force must be in \[0, 1e\+09\]"),
        (dict(poisson=-1 + 1e-300), r"poisson must be in \[-0.9, 0.499\]"),
        (dict(thickness=0.1), "at least 10 plate thicknesses"),
        (dict(youngs_modulus="a lot"), "youngs_modulus must be numbers"),
        (dict(force_position=[[10**400, 0.1]]), "force_position must be numbers"),
    ],
)
def test_cavity_batch_rejects_out_of_range_fields(kwargs, message):
    fields = dict(
        size=[0.5, 0.4, 0.3], thickness=2e-3, youngs_modulus=70e9, density=2700.0, poisson=0.33, force=1.0
    ) | dict(force_position=[0.12, 0.17])
    with pytest.raises(ValueError, match=message):
        acoustic.CavityBatch(**(fields | kwargs))


def test_field_evaluation_rejects_bad_or_too_many_points():
    res = acoustic.response(CAV3, [100.0], FORCE3, n_plate=4, n_transverse=4)
    with pytest.raises(ValueError, match="points must be coordinates in metres"):
        res.pressure([[10**400, 0.1, 0.1]])
    with pytest.raises(ValueError, match="points may hold at most 100000 points"):
        res.pressure(np.full((100_001, 3), 0.1))
    with pytest.raises(ValueError, match="points must lie inside"):
        res.plate_displacement([[math.nan, 0.1]])


def test_responses_caps_the_number_of_design_frequency_pairs():
    batch = acoustic.CavityBatch.from_cavities([CAV3] * 101, [FORCE3] * 101)
    with pytest.raises(ValueError, match=r"n_design·n_freq must be at most 10000000"):
        acoustic.responses(batch, np.linspace(20.0, 500.0, 100_000))


def test_cavity_modes_of_many_frequencies_and_elongated_boxes_stay_cheap_and_exact():
    cube = acoustic.cavity_modes((1.0, 1.0, 1.0), count=1000)
    assert cube[0] == pytest.approx(171.5) and np.all(np.diff(cube) >= 0) and len(cube) == 1000
    slab = acoustic.cavity_modes((100.0, 0.01, 0.01), count=1000)
    assert slab == pytest.approx(343.0 / 2 / 100.0 * np.arange(1, 1001), rel=1e-12)  # all axial modes


lengths = st.floats(0.2, 2.0)


@given(
    size=st.one_of(st.tuples(lengths, lengths), st.tuples(lengths, lengths, lengths)),
    material=st.sampled_from(sorted(acoustic.MATERIALS)),
    thickness=st.floats(5e-4, 5e-3),
    loss=st.floats(0.0, 0.05),
    fraction=st.floats(0.05, 0.95),
    freqs=st.lists(st.floats(0.1, 2e4), min_size=1, max_size=3),
)
def test_valid_inputs_give_finite_responses(size, material, thickness, loss, fraction, freqs):
    cavity = acoustic.PlateCavity(size, acoustic.Plate.of(material, thickness, loss), acoustic.Air(loss_factor=loss))
    x = fraction * size[0]
    force = acoustic.PointForce(1.0, (x, fraction * size[1])) if len(size) == 3 else acoustic.LineForce(1.0, x)
    try:
        res = acoustic.response(cavity, freqs, force, n_plate=6, n_transverse=6)
    except ValueError as error:  # only a lossless system driven exactly on a resonance may refuse
        assert loss == 0.0 and "exactly singular" in str(error)
        return
    for name in ("mean_square_pressure", "lp_avg", "energy", "displacement"):
        assert np.all(np.isfinite(getattr(res, name))), name
    tl = acoustic.panel_transmission_loss(cavity.plate, freqs)
    assert np.all(np.isfinite(tl)) and np.all(tl >= 0)  # τ ≤ 1: a passive panel


@given(
    name=st.sampled_from(["thickness", "youngs_modulus", "density", "poisson", "loss_factor"]),
    value=st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 1e-300, 1e300, 5e-324, 10**400, "1", None]),
)
def test_bad_plate_values_raise_value_error_naming_the_parameter(name, value):
    values = dict(thickness=2e-3, youngs_modulus=70e9, density=2700.0, poisson=0.33, loss_factor=0.01)
    if name in ("loss_factor", "poisson") and value in (0.0, 1e-300, 5e-324):
        return  # a lossless plate, or ν ≈ 0, is valid
    with pytest.raises(ValueError, match=name):
        acoustic.Plate(**(values | {name: value}))
