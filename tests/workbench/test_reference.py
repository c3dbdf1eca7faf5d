"""Finite-element ground truth of the plate-backed cavity (docs/models/acoustic.md §2.7, §3)."""

from __future__ import annotations

import numpy as np
import pytest
from skfem import Basis, ElementHex1, ElementQuad1, MeshHex, MeshQuad, asm
from skfem.models.poisson import laplace, mass

from analytic import acoustic
from workbench import reference
from workbench.reference._assembly import Params, dirichlet_second_difference, operators

ALUMINIUM_2MM = acoustic.Plate.of("aluminium", 2e-3)
BENCHMARK_2D = acoustic.PlateCavity((0.5, 0.4), ALUMINIUM_2MM)
BENCHMARK_2D_MODES = np.array([41.02, 77.12, 175.09, 309.9, 346.15, 431.81, 487.4, 551.54, 687.11])
"""Coupled modes of the 2D benchmark, docs/models/acoustic.md §2.7 (Hz; rounded to 4 significant digits)."""

CAVITY_3D = acoustic.PlateCavity((0.5, 0.4, 0.3), ALUMINIUM_2MM)


def lossy(cavity: acoustic.PlateCavity, eta_s: float = 0.01, eta_a: float = 0.01) -> acoustic.PlateCavity:
    plate = cavity.plate
    return acoustic.PlateCavity(
        cavity.size,
        acoustic.Plate(plate.thickness, plate.youngs_modulus, plate.density, plate.poisson, eta_s),
        acoustic.Air(cavity.air.density, cavity.air.speed, eta_a),
    )


# --- assembly -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, cells", [((0.5, 0.4), (5, 3)), ((0.5, 0.3, 0.4), (5, 4, 3))], ids=["2d", "3d"])
def test_kronecker_fluid_matrices_equal_scikit_fem_q1_assembly(size, cells):
    ops = operators(Params.of(acoustic.PlateCavity(size, ALUMINIUM_2MM)), cells)
    axes = [np.linspace(0.0, length, n + 1) for length, n in zip(size, cells)]
    mesh = (MeshQuad if len(size) == 2 else MeshHex).init_tensor(*axes)
    basis = Basis(mesh, ElementQuad1() if len(size) == 2 else ElementHex1())
    index = np.zeros(mesh.p.shape[1], dtype=np.int64)
    stride = 1
    for coords, length, n in zip(mesh.p, size, cells):
        index += stride * np.rint(coords / (length / n)).astype(np.int64)
        stride *= n + 1
    order = np.argsort(index)  # skfem node of each Kronecker index
    for form, ours in ((laplace, ops.fluid_stiffness), (mass, ops.fluid_volume_mass)):
        theirs = asm(form, basis)[order][:, order]
        assert abs(theirs - ours).max() <= 1e-12 * abs(ours).max()


@pytest.mark.parametrize("order, rate", [(2, 2), (4, 4)])
def test_plate_second_differences_have_exact_sine_modes_and_converge_at_their_order(order, rate):
    length, errors = 0.5, []
    for n in (16, 32):
        lap = dirichlet_second_difference(n, length, order).toarray()
        x = np.arange(1, n) * length / n
        for a in (1, 3):
            mode = np.sin(a * np.pi * x / length)
            ratio = (lap @ mode) / mode
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)  # an eigenvector
            if a == 3:
                errors.append(abs(ratio[0] / -((a * np.pi / length) ** 2) - 1.0))
    assert errors[0] / errors[1] == pytest.approx(2.0**rate, rel=0.05)


# --- coupled modes: docs/models/acoustic.md §2.7 --------------------------------------------------


def test_2d_benchmark_coupled_modes_match_the_note_within_0p2_percent():
    modes = reference.fe_coupled_modes_extrapolated(BENCHMARK_2D, 9, h=0.01)
    error = np.abs(modes.freqs / BENCHMARK_2D_MODES - 1.0)
    assert error.max() < 2e-3
    assert error.max() < 1e-4  # measured 7.6e-5: the rounding of 41.02 in the table


def test_uncoupled_limit_gives_the_beam_and_rigid_cavity_modes_of_the_note():
    light_air = acoustic.PlateCavity((0.5, 0.4), ALUMINIUM_2MM, acoustic.Air(density=1e-9))
    freqs = reference.fe_coupled_modes_extrapolated(light_air, 9, h=0.01).freqs
    plate = ALUMINIUM_2MM
    beam = np.pi / 2 * (np.arange(1, 6) / 0.5) ** 2 * np.sqrt(plate.bending_stiffness / plate.surface_density)
    cavity = 343.0 / 2 * np.hypot([1, 0, 1, 2] / np.array(0.5), [0, 1, 1, 0] / np.array(0.4))
    np.testing.assert_allclose(beam, [19.57, 78.27, 176.10, 313.07, 489.17], atol=0.005)  # docs/models/acoustic.md §2.7
    np.testing.assert_allclose(cavity, [343.0, 428.75, 549.07, 686.0], atol=0.005)
    np.testing.assert_allclose(freqs, np.sort([*beam, *cavity]), rtol=1e-4)


def test_rigid_box_modes_of_wu_are_recovered_with_a_massive_stiff_plate():
    # The stiffest, densest plate inside the plate bounds (h = 0.1 m, E = 1e13 Pa, ρ = 3e4 kg/m³) acts
    # as a rigid lid; its own first bending mode, (π/2)·√(D/m″)/lx² = 240.4 Hz, is dropped, and its
    # weak coupling shifts the 215.63 Hz cavity mode by 0.03 Hz (1.4e-4), hence the tolerance.
    lid = acoustic.Plate(thickness=0.1, youngs_modulus=1e13, density=3e4, poisson=0.3)
    box = acoustic.PlateCavity((1.9, 0.8), lid, acoustic.Air(speed=345.0))
    freqs = reference.fe_coupled_modes_extrapolated(box, 7, h=0.05).freqs
    stiffness = lid.youngs_modulus * lid.thickness**3 / (12 * (1 - lid.poisson**2))
    plate_mode = np.pi / 2 * np.sqrt(stiffness / (lid.density * lid.thickness)) / 1.9**2
    cavity = np.delete(freqs, np.argmin(np.abs(freqs - plate_mode)))
    wu = np.array([90.79, 181.58, 215.63, 233.96, 272.37, 281.90])  # T. W. Wu, BEM Acoustics, p. 123
    np.testing.assert_allclose(cavity, wu, rtol=2e-4)


def test_convergence_is_second_order_and_richardson_removes_it():
    # the classic recipe (3-point plate stencil) on three grids; plate-controlled modes carry the error
    freqs = {h: reference.fe_coupled_modes(BENCHMARK_2D, 9, h=h, plate_order=2) for h in (0.02, 0.01, 0.005)}
    errors = {h: np.abs(f / BENCHMARK_2D_MODES - 1.0) for h, f in freqs.items()}
    large = errors[0.005] > 5e-4  # well above the rounding of the table: modes 3, 4 and 7
    assert large.sum() >= 3
    for coarse, fine in ((0.02, 0.01), (0.01, 0.005)):
        assert errors[coarse][large] / errors[fine][large] == pytest.approx(4.0, rel=0.1)
    extrapolated = reference.richardson(freqs[0.01], freqs[0.005])
    assert np.all(np.abs(extrapolated / BENCHMARK_2D_MODES - 1.0)[large] < errors[0.005][large] / 20)
    # the fourth-order plate stencil (default) is far more accurate on the same grid
    default = reference.fe_coupled_modes(BENCHMARK_2D, 9, h=0.01)
    assert np.abs(default / BENCHMARK_2D_MODES - 1.0).max() < errors[0.01].max() / 10


def test_extrapolated_modes_are_paired_by_shape_when_they_cross_between_grids():
    # on the 25 x 20 grid the 3-point stencil puts beam mode 5 (487 Hz) below cavity mode (0, 1) (432 Hz)...
    coarse = reference.fe_coupled_modes(BENCHMARK_2D, 9, h=0.02, plate_order=2)
    assert coarse[6] < 0.97 * BENCHMARK_2D_MODES[6]
    # ...and pairing by rank would extrapolate 669 Hz (mode 9 on the coarse grid) with the wrong partner
    modes = reference.fe_coupled_modes_extrapolated(BENCHMARK_2D, 9, h=0.02, plate_order=2)
    np.testing.assert_allclose(modes.freqs, BENCHMARK_2D_MODES, rtol=5e-4)


# --- the two solvers --------------------------------------------------------------------------------------------


def test_tensor_and_sparse_solvers_agree_to_round_off_in_2d():
    cavity = lossy(BENCHMARK_2D, 0.02, 0.01)
    loads = [acoustic.LineForce(1.0 - 0.5j, 0.13), acoustic.PlaneWave(0.3), acoustic.Monopole(1e-3, (0.21, 0.17))]
    masses = [acoustic.PointMass(0.3, 0.31), acoustic.PointMass(0.1, 0.05)]
    freqs = [35.0, 181.0, 347.0]
    tensor = reference.fe_response(cavity, freqs, loads, masses, cells=(25, 20))
    sparse = reference.fe_response(cavity, freqs, loads, masses, cells=(25, 20), method="sparse")
    np.testing.assert_allclose(tensor.mean_square, sparse.mean_square, rtol=1e-9)
    np.testing.assert_allclose(tensor.plate_mean_square, sparse.plate_mean_square, rtol=1e-9)
    for method in ("tensor", "sparse"):
        np.testing.assert_allclose(
            reference.fe_coupled_modes(BENCHMARK_2D, 6, cells=(25, 20), method=method),
            reference.fe_coupled_modes(BENCHMARK_2D, 6, cells=(25, 20)),
            rtol=1e-8,
        )


def test_tensor_and_sparse_solvers_agree_to_round_off_in_3d():
    cavity = lossy(acoustic.PlateCavity((0.5, 0.4, 0.3), acoustic.Plate.of("steel", 5e-3)))
    loads = [acoustic.PointForce(1.0, (0.13, 0.17)), acoustic.Monopole(1e-3, (0.21, 0.05, 0.1))]
    masses = [acoustic.PointMass(0.5, (0.31, 0.22))]
    tensor = reference.fe_response(cavity, [140.0], loads, masses, cells=(8, 6, 4))
    sparse = reference.fe_response(cavity, [140.0], loads, masses, cells=(8, 6, 4), method="sparse")
    np.testing.assert_allclose(tensor.mean_square, sparse.mean_square, rtol=1e-9)
    np.testing.assert_allclose(tensor.plate_mean_square, sparse.plate_mean_square, rtol=1e-9)
    np.testing.assert_allclose(
        reference.fe_coupled_modes(cavity, 2, cells=(8, 6, 4), method="sparse"),
        reference.fe_coupled_modes(cavity, 2, cells=(8, 6, 4)),
        rtol=1e-8,
    )


def test_levels_energy_and_richardson_follow_their_definitions():
    res = reference.fe_response(lossy(BENCHMARK_2D), [100.0], acoustic.LineForce(1.0, 0.2), cells=(25, 20))
    assert res.lp_avg[0] == pytest.approx(10 * np.log10(res.mean_square[0] / 2 / 20e-6**2), abs=1e-12)
    assert res.energy[0] == pytest.approx(0.5 * 0.4 * res.mean_square[0] / (4 * 1.21 * 343.0**2), rel=1e-12)
    assert res.dofs == 24 + 26 * 21
    np.testing.assert_allclose(reference.richardson([1.0, 2.0], [1.75, 2.5]), [2.0, 8.0 / 3.0])
    assert reference.richardson(1.0, 1.5, order=1) == pytest.approx(2.0)


def test_fe_time_per_frequency_reports_the_grid():
    timing = reference.fe_time_per_frequency(lossy(BENCHMARK_2D), h=0.02, n_freq=3, repeats=1)
    assert timing.cells == (25, 20) and timing.dofs == 24 + 26 * 21 and timing.plate_dofs == 24
    assert timing.seconds_per_frequency > 0.0


# --- cross-checks against the analytic depth-exact model (analytic.acoustic) -------------------------------------


def on_and_off_resonance(modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coupled modes and the geometric midpoints between them (plus 0.6× the first)."""
    return modes, np.concatenate([[0.6 * modes[0]], np.sqrt(modes[:-1] * modes[1:])])


def level_differences(cavity, force, masses, h, **analytic_options) -> tuple[np.ndarray, np.ndarray]:
    """FE (Richardson over h, h/2) minus analytic L_p,avg, dB, on and off the coupled resonances."""
    on, off = on_and_off_resonance(acoustic.coupled_modes(cavity, 6, masses=masses, **analytic_options))
    freqs = np.concatenate([on, off])
    fe = reference.fe_response_extrapolated(cavity, freqs, force, masses, h=h)
    analytic = acoustic.response(cavity, freqs, force, masses, **analytic_options)
    difference = fe.lp_avg - analytic.lp_avg
    return difference[: on.size], difference[on.size :]


@pytest.mark.parametrize(
    "force", [acoustic.LineForce(1.0, 0.13), acoustic.PlaneWave(1.0)], ids=["line-force", "plane-wave"]
)
def test_2d_levels_match_the_analytic_model_off_and_on_resonance(force):
    # loss factors enter both models the same way: E(1 + iη_s), c²(1 + iη_a)
    on, off = level_differences(lossy(BENCHMARK_2D), force, [], h=0.01)
    assert np.abs(off).max() < 0.1  # measured 0.041 dB
    assert np.abs(on).max() < 0.5  # measured 0.040 dB


def test_2d_levels_with_a_point_mass_converge_to_the_analytic_model_with_enough_modes():
    masses = [acoustic.PointMass(0.3, 0.31)]  # 0.3 kg/m, 18 % of the strip's mass
    options = {"n_plate": 32, "n_transverse": 32}
    on, off = level_differences(lossy(BENCHMARK_2D), acoustic.PlaneWave(1.0), masses, h=0.005, **options)
    assert np.abs(off).max() < 0.01  # measured 0.001 dB
    assert np.abs(on).max() < 0.01  # measured 0.002 dB


def test_2d_monopole_levels_match_the_full_modal_form():
    cavity = lossy(BENCHMARK_2D, 0.01, 0.02)
    source = acoustic.Monopole(1e-3, (0.17, 0.11))
    freqs = [25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 380.0]
    fe = reference.fe_response_extrapolated(cavity, freqs, source, h=0.01)
    analytic = acoustic.response(cavity, freqs, source)
    assert analytic.form == "full"
    np.testing.assert_allclose(fe.lp_avg, analytic.lp_avg, atol=0.1)  # measured 0.015 dB
    np.testing.assert_allclose(fe.energy, analytic.energy, rtol=0.025)


def test_3d_coupled_modes_match_the_analytic_model_within_half_a_percent():
    fe = reference.fe_coupled_modes_extrapolated(CAVITY_3D, 12, h=0.025)
    error = np.abs(fe.freqs / acoustic.coupled_modes(CAVITY_3D, 12) - 1.0)
    assert error.max() < 5e-3
    assert error.max() < 1e-3  # measured 3.2e-4


@pytest.mark.slow  # 2 s on an idle machine, > 20 s with oversubscribed BLAS threads
def test_3d_coupled_modes_with_point_masses_match_the_analytic_model():
    masses = [acoustic.PointMass(0.1, (0.125, 0.3)), acoustic.PointMass(0.05, (0.4, 0.1))]
    fe = reference.fe_coupled_modes_extrapolated(CAVITY_3D, 6, masses, h=0.025)
    analytic = acoustic.coupled_modes(CAVITY_3D, 6, masses=masses, n_plate=16, n_transverse=16)
    assert np.abs(fe.freqs / analytic - 1.0).max() < 5e-3  # measured 1e-3; point masses converge slowly in modes


@pytest.mark.slow  # 3-4 s each on an idle machine, > 20 s with oversubscribed BLAS threads
@pytest.mark.parametrize(
    "force, masses, options",
    [
        (acoustic.PointForce(1.0, (0.125, 0.175)), [], {}),
        (acoustic.PlaneWave(1.0), [acoustic.PointMass(0.1, (0.125, 0.3))], {"n_plate": 16, "n_transverse": 16}),
    ],
    ids=["point-force", "plane-wave-and-mass"],
)
def test_3d_levels_match_the_analytic_model_off_and_on_resonance(force, masses, options):
    # loads and masses on nodes of the coarse grid: between nodes the bilinear load sharing
    # changes with the position inside the cell from grid to grid, which spoils Richardson
    on, off = level_differences(lossy(CAVITY_3D), force, masses, h=0.025, **options)
    assert np.abs(off).max() < 0.1  # measured 0.058 dB (point force), 0.010 dB (plane wave and mass)
    assert np.abs(on).max() < 0.5  # measured 0.124 dB, 0.249 dB


# --- errors -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"h": 0.15}, r"grid too coarse: 3 cells along z \(side 0.4 m\), need at least 4; use h <= 0.1 m"),
        ({"h": -0.01}, r"h must be a positive cell size in metres; got h=-0.01"),
        ({"cells": (10, 8, 6)}, r"cells must be \(nx, nz\), integers, for a 2D cavity"),
        ({}, r"give exactly one of h"),
        ({"h": 0.01, "method": "lu"}, r"method must be 'tensor'"),
        ({"h": 0.01, "plate_order": 3}, r"plate_order must be 4"),
    ],
)
def test_bad_grids_and_options_are_rejected_with_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        reference.fe_coupled_modes(BENCHMARK_2D, 3, **kwargs)


def test_grids_too_coarse_for_the_frequency_or_not_halvable_are_rejected():
    with pytest.raises(ValueError, match=r"cells per plate bending wavelength.*need at least 6; use h <= 0.0301 m"):
        reference.fe_response(BENCHMARK_2D, [600.0], acoustic.LineForce(1.0, 0.1), h=0.04)
    with pytest.raises(ValueError, match=r"need at least 6; use h <="):
        reference.fe_coupled_modes(BENCHMARK_2D, 9, h=0.05)
    with pytest.raises(ValueError, match=r"Richardson extrapolation needs h to divide every side"):
        reference.fe_coupled_modes_extrapolated(BENCHMARK_2D, 3, h=0.03)
    with pytest.raises(ValueError, match=r"a PointForce needs a 3D cavity"):
        reference.fe_response(BENCHMARK_2D, [50.0], acoustic.PointForce(1.0, (0.1, 0.1)), h=0.05)
    with pytest.raises(ValueError, match=r"freqs must be a non-empty 1-D array of positive"):
        reference.fe_response(BENCHMARK_2D, [0.0], acoustic.PlaneWave(1.0), h=0.05)
    with pytest.raises(ValueError, match=r"count must be an integer >= 1"):
        reference.fe_coupled_modes(BENCHMARK_2D, 0, h=0.05)
