"""Physics validation of the plate-backed cavity model and its companions (docs/models/acoustic.md §2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from analytic import acoustic
from analytic.acoustic import _modal as modal
from analytic.acoustic._kernels import _sym_solve_inplace

ALU_2MM = acoustic.Plate.of("aluminium", 2e-3)
BENCH_2D = acoustic.PlateCavity((0.5, 0.4), ALU_2MM)
LOSSY_AIR = acoustic.Air(loss_factor=0.01)
LOSSY_2D = acoustic.PlateCavity((0.5, 0.4), acoustic.Plate.of("aluminium", 2e-3, 0.01), LOSSY_AIR)
LOSSY_3D = acoustic.PlateCavity((0.5, 0.4, 0.3), acoustic.Plate.of("aluminium", 2e-3, 0.01), LOSSY_AIR)
COUPLED_2D = [41.02, 77.12, 175.09, 309.9, 346.15, 431.81, 487.4, 551.54, 687.11]


def rel(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1.0)))


# --- published and analytic reference values (docs/models/acoustic.md §2.7) -------------------------------------


def test_rigid_2d_box_reproduces_wu_bem_acoustics_table():
    freqs = acoustic.cavity_modes((1.9, 0.8), acoustic.Air(speed=345.0), 6)
    assert freqs == pytest.approx([90.79, 181.58, 215.63, 233.96, 272.37, 281.90], abs=0.006)


@pytest.mark.parametrize(
    ("material", "thickness", "f_c"),
    [("aluminium", 1e-3, 12.03e3), ("aluminium", 2e-3, 6.01e3), ("steel", 1e-3, 11.96e3)],
)
def test_coincidence_frequency_matches_the_table_at_343_m_per_s(material, thickness, f_c):
    plate = acoustic.Plate.of(material, thickness)
    assert acoustic.coincidence_frequency(plate) == pytest.approx(f_c, abs=5.0)


def test_limp_mass_transmission_loss_of_1mm_aluminium_at_1khz():
    air = acoustic.Air(density=415.0 / 343.0)  # ρc = 415 rayl
    normal = acoustic.panel_transmission_loss(2.7, [1000.0], "normal", air)[0]
    diffuse = acoustic.panel_transmission_loss(2.7, [1000.0], "diffuse", air)[0]
    assert normal == pytest.approx(26.2, abs=0.05)
    assert diffuse == pytest.approx(21.1, abs=0.05)
    a2 = (2 * math.pi * 1000 * 2.7 / 830) ** 2  # closed form of the limp diffuse average in s = sin²θ
    s_max = math.sin(math.radians(78)) ** 2
    assert diffuse == pytest.approx(
        -10 * math.log10(math.log((1 + a2) / (1 + a2 * (1 - s_max))) / (a2 * s_max)), abs=1e-6
    )


def test_bending_panel_dips_above_coincidence_and_equals_limp_at_normal_incidence():
    plate = acoustic.Plate.of("aluminium", 1e-3, 0.01)
    freqs = [500.0, 2000.0]
    assert acoustic.panel_transmission_loss(plate, freqs) == pytest.approx(
        acoustic.panel_transmission_loss(plate.surface_density, freqs), abs=1e-12
    )
    f_c = acoustic.coincidence_frequency(plate)
    tl = acoustic.panel_transmission_loss(plate, [0.2 * f_c, 1.3 * f_c], "diffuse")
    limp = acoustic.panel_transmission_loss(plate.surface_density, [0.2 * f_c, 1.3 * f_c], "diffuse")
    assert tl[1] < limp[1] - 10.0  # coincidence dip
    assert abs(tl[0] - limp[0]) < 1.0  # mass law well below f_c


def test_helmholtz_resonator_worked_example():
    assert acoustic.helmholtz_resonator_frequency(500e-6, 0.05, 0.015) == pytest.approx(248.9, abs=0.05)


def test_side_branch_transmission_loss_peaks_at_the_resonator_frequency():
    f_h = acoustic.helmholtz_resonator_frequency(500e-6, 0.05, 0.015)
    freqs = np.linspace(0.5 * f_h, 1.5 * f_h, 401)
    tl = acoustic.side_branch_transmission_loss(freqs, 500e-6, 0.05, 0.015, 0.01, resistance=5.0)
    assert freqs[np.argmax(tl)] == pytest.approx(f_h, rel=0.005)
    with pytest.raises(ValueError, match=r"resistance must lie in \[0, 1e\+12\]"):
        acoustic.side_branch_transmission_loss([100.0], 500e-6, 0.05, 0.015, 0.01, resistance=-1.0)


def test_2d_benchmark_uncoupled_beam_and_cavity_modes():
    tables = modal.modal_tables(
        np.array([BENCH_2D.size]),
        np.array([ALU_2MM.bending_stiffness]),
        np.array([ALU_2MM.surface_density]),
        (5, 1),
        (1, 1),
    )
    beam = np.sqrt(tables.plate_w2[0].ravel()) / (2 * math.pi)
    assert beam == pytest.approx([19.57, 78.27, 176.10, 313.07, 489.17], abs=0.006)
    assert acoustic.cavity_modes(BENCH_2D.size, count=4) == pytest.approx([343.0, 428.75, 549.07, 686.0], abs=0.006)


def test_2d_benchmark_coupled_modes_within_0_2_percent():
    freqs = acoustic.coupled_modes(BENCH_2D, 9)
    assert rel(freqs, COUPLED_2D) < 2e-3
    assert rel(freqs, COUPLED_2D) < 1e-4  # measured: 7.5e-5 (41.017 vs the table's rounded 41.02)


# --- convergence ----------------------------------------------------------------------------------


def test_depth_exact_modes_converge_fast_and_from_above_in_the_mode_count():
    runs = {n: acoustic.coupled_modes(BENCH_2D, 9, n_plate=n, n_transverse=n) for n in (6, 12, 24)}
    assert np.all(runs[6] >= runs[12]) and np.all(runs[12] >= runs[24])
    assert rel(runs[6], runs[24]) < 2e-3  # measured 1.1e-3
    assert rel(runs[12], runs[24]) < rel(runs[6], runs[24]) / 20  # measured ratio 140: faster than O(1/N²)


def test_full_form_converges_from_above_towards_the_depth_exact_form():
    exact = acoustic.coupled_modes(BENCH_2D, 9, n_plate=8, n_transverse=8)
    errors = []
    for n_depth in (10, 20, 40):
        full = acoustic.coupled_modes_full(BENCH_2D, 9, n_plate=8, n_cavity=(8, n_depth))
        assert np.all(full >= exact * (1 - 1e-9))
        errors.append(rel(full, exact))
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] == pytest.approx(2.0, rel=0.25)  # O(1/N)


def test_full_form_forced_response_approaches_the_depth_exact_form():
    freqs = np.array([60.0, 150.0, 260.0])
    force = acoustic.LineForce(1.0, 0.13)
    exact = acoustic.response(LOSSY_2D, freqs, force, n_plate=12, n_transverse=12)
    gaps = [
        np.max(
            np.abs(
                acoustic.response(LOSSY_2D, freqs, force, n_plate=12, n_transverse=12, form="full", n_depth=n).lp_avg
                - exact.lp_avg
            )
        )
        for n in (8, 32)
    ]
    assert gaps[1] < gaps[0] and gaps[1] < 0.05


def test_default_mode_counts_follow_the_documented_rule():
    low = acoustic.response(LOSSY_3D, [100.0], acoustic.PointForce(1.0, (0.1, 0.1)))
    assert low.plate_modes.max(axis=0).tolist() == [modal.MIN_MODES, modal.MIN_MODES]
    thin = acoustic.PlateCavity((1.0, 1.0, 0.5), acoustic.Plate.of("polymer", 0.5e-3, 0.02), LOSSY_AIR)
    high = acoustic.response(thin, [500.0], acoustic.PointForce(1.0, (0.3, 0.3)))
    assert high.plate_modes.max(axis=0).tolist() == [modal.MAX_MODES, modal.MAX_MODES]


# --- fast path vs reference -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cavity", "force", "masses"),
    [
        (LOSSY_2D, acoustic.LineForce(1.0 + 0.5j, 0.13), ()),
        (LOSSY_2D, [acoustic.LineForce(1.0, 0.13), acoustic.PlaneWave(0.3)], [acoustic.PointMass(0.2, 0.31)]),
        (LOSSY_3D, acoustic.PointForce(1.0, (0.11, 0.13)), ()),
        (
            LOSSY_3D,
            [acoustic.PointForce(1.0, (0.11, 0.13)), acoustic.PlaneWave(-0.2j)],
            [
                acoustic.PointMass(m, p)
                for m, p in [(0.05, (0.1, 0.3)), (0.1, (0.33, 0.1)), (0.0, (0.2, 0.2)), (0.02, (0.4, 0.35))]
            ],
        ),
    ],
    ids=["2d", "2d-plane-wave-mass", "3d", "3d-4-masses"],
)
def test_numba_matches_the_numpy_reference(cavity, force, masses):
    freqs = np.linspace(20.0, 400.0, 13)
    fast = acoustic.response(cavity, freqs, force, masses, n_plate=9, n_transverse=11)
    slow = acoustic.response(cavity, freqs, force, masses, n_plate=9, n_transverse=11, method="numpy")
    assert rel(fast.mean_square_pressure, slow.mean_square_pressure) < 1e-9
    assert np.max(np.abs(fast.displacement - slow.displacement)) < 1e-9 * np.max(np.abs(slow.displacement))


def test_batch_matches_single_designs_and_the_reference():
    cavities = [
        acoustic.PlateCavity((0.5, 0.4, 0.3), acoustic.Plate.of("aluminium", 2e-3, 0.01), LOSSY_AIR),
        acoustic.PlateCavity((0.7, 0.45, 0.5), acoustic.Plate.of("steel", 1e-3, 0.02), acoustic.Air(loss_factor=0.02)),
        acoustic.PlateCavity((0.4, 0.6, 0.25), acoustic.Plate.of("polymer", 3e-3, 0.05), LOSSY_AIR),
    ]
    forces = [acoustic.PointForce(1.0, (0.1, 0.12)), acoustic.PlaneWave(1.0), acoustic.PointForce(2.0j, (0.3, 0.2))]
    masses = [
        [acoustic.PointMass(0.1, (0.2, 0.2))],
        [acoustic.PointMass(0.0, (0.1, 0.1))],
        [acoustic.PointMass(0.3, (0.15, 0.4))],
    ]
    batch = acoustic.CavityBatch.from_cavities(cavities, forces, masses)
    freqs = np.array([35.0, 120.0, 333.0])
    fast = acoustic.responses(batch, freqs, n_plate=8, n_transverse=9)
    slow = acoustic.responses(batch, freqs, n_plate=8, n_transverse=9, method="numpy")
    assert fast.lp_avg.shape == (3, 3)
    assert rel(fast.mean_square_pressure, slow.mean_square_pressure) < 1e-9
    for d in range(3):
        single = acoustic.response(cavities[d], freqs, forces[d], masses[d], n_plate=8, n_transverse=9)
        assert fast.lp_avg[d] == pytest.approx(single.lp_avg, abs=1e-9)
        assert fast.energy[d] == pytest.approx(single.energy, rel=1e-9)


def test_bunch_kaufman_solver_matches_numpy_including_2x2_pivots():
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 17):
        a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        a = a + a.T
        if n > 1:
            np.fill_diagonal(a, 0.0)  # forces 2×2 pivots
        b = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
        ur, ui, br, bi = np.triu(a.real), np.triu(a.imag), b.real.copy(), b.imag.copy()
        assert _sym_solve_inplace(ur, ui, n, br, bi, 2, np.empty(n, dtype=np.int64))
        assert br + 1j * bi == pytest.approx(np.linalg.solve(a, b), rel=1e-10, abs=1e-10)
    assert not _sym_solve_inplace(
        np.zeros((2, 2)), np.zeros((2, 2)), 2, np.ones((2, 1)), np.zeros((2, 1)), 1, np.empty(2, dtype=np.int64)
    )


# --- physical invariants --------------------------------------------------------------------------


@given(
    x=st.floats(0.02, 0.48),
    freq=st.floats(20.0, 600.0),
    scale=st.floats(1e-3, 1e3),
)
def test_energy_is_finite_positive_and_the_level_scales_with_the_force(x, freq, scale):
    base = acoustic.response(LOSSY_2D, [freq], acoustic.LineForce(1.0, x), n_plate=8, n_transverse=8)
    scaled = acoustic.response(LOSSY_2D, [freq], acoustic.LineForce(scale, x), n_plate=8, n_transverse=8)
    assert np.isfinite(base.energy).all() and (base.energy > 0).all()
    assert scaled.lp_avg - base.lp_avg == pytest.approx(20 * np.log10(scale), abs=1e-9)
    assert base.energy == pytest.approx(LOSSY_2D.volume * base.mean_square_pressure / (4 * 1.21 * 343.0**2), rel=1e-12)


def test_centred_loads_excite_only_the_symmetric_parity_block():
    centre = acoustic.response(
        LOSSY_3D, [80.0, 250.0], acoustic.PointForce(1.0, (0.25, 0.2)), n_plate=8, n_transverse=8
    )
    wave = acoustic.response(LOSSY_3D, [80.0, 250.0], acoustic.PlaneWave(1.0), n_plate=8, n_transverse=8)
    odd_odd = np.all(centre.plate_modes % 2 == 1, axis=1)
    assert np.all(wave.displacement[:, ~odd_odd] == 0.0)  # ∫ sin(aπx/L) dx = 0 exactly for even a
    scale = np.abs(centre.displacement).max()
    assert np.all(np.abs(centre.displacement[:, ~odd_odd]) < 1e-12 * scale)  # sin(π) = 1.2e-16, not 0
    for res in (centre, wave):
        assert np.all(np.abs(res.displacement[:, odd_odd][:, 0]) > 0)


def test_in_vacuo_limit_matches_the_single_mode_plate_formula():
    thin_air = acoustic.Air(density=1e-12)
    plate = acoustic.Plate.of("aluminium", 2e-3, 0.02)
    cavity = acoustic.PlateCavity((0.5, 0.4, 0.3), plate, thin_air)
    freqs = np.array([30.0, 55.5, 140.0])
    res = acoustic.response(cavity, freqs, acoustic.PointForce(1.0, (0.12, 0.17)), n_plate=4, n_transverse=4)
    a, b = res.plate_modes.T
    phi = np.sin(a * np.pi * 0.12 / 0.5) * np.sin(b * np.pi * 0.17 / 0.4)
    w_ab2 = plate.bending_stiffness / plate.surface_density * (np.pi**2 * ((a / 0.5) ** 2 + (b / 0.4) ** 2)) ** 2
    omega2 = (2 * np.pi * freqs[:, None]) ** 2
    expected = phi / (plate.surface_density * 0.5 * 0.4 / 4 * (w_ab2 * (1 + 0.02j) - omega2))
    assert res.displacement == pytest.approx(expected, rel=1e-8)


def test_added_mass_lowers_every_coupled_natural_frequency():
    bare = acoustic.coupled_modes(LOSSY_3D, 5, n_plate=8, n_transverse=8)
    loaded = acoustic.coupled_modes(
        LOSSY_3D, 5, n_plate=8, n_transverse=8, masses=[acoustic.PointMass(0.1, (0.17, 0.23))]
    )
    assert np.all(loaded <= bare * (1 + 1e-9)) and loaded[0] < bare[0]


def test_pressure_field_averages_to_the_mean_square_pressure_and_meets_the_plate():
    res = acoustic.response(LOSSY_2D, [100.0, 333.0], acoustic.LineForce(1.0, 0.1), n_plate=10, n_transverse=10)
    x, z = np.linspace(0, 0.5, 201), np.linspace(0, 0.4, 161)
    grid = np.stack(np.meshgrid(x, z, indexing="ij"), axis=-1).reshape(-1, 2)
    p2 = np.abs(res.pressure(grid).reshape(2, 201, 161)) ** 2
    average = integrate.trapezoid(integrate.trapezoid(p2, z, axis=2), x, axis=1) / LOSSY_2D.volume
    assert average == pytest.approx(res.mean_square_pressure, rel=1e-3)
    assert res.plate_displacement([0.0, 0.5]) == pytest.approx(np.zeros((2, 2)), abs=1e-20)


def test_monopole_and_point_force_are_reciprocal_in_the_full_form():
    r_s, x_f, freq = (0.31, 0.12, 0.17), (0.11, 0.27), np.array([70.0, 210.0])
    kwargs = {"n_plate": 6, "n_transverse": 6, "n_depth": 10}
    by_force = acoustic.response(LOSSY_3D, freq, acoustic.PointForce(1.0, x_f), form="full", **kwargs)
    by_source = acoustic.response(LOSSY_3D, freq, acoustic.Monopole(1.0, r_s), **kwargs)
    assert by_source.form == "full"
    p = by_force.pressure([r_s])[:, 0]
    v = 1j * 2 * np.pi * freq * by_source.plate_displacement([x_f])[:, 0]
    assert p == pytest.approx(-v, rel=1e-9)


@pytest.mark.parametrize("loss", [0.0, 0.01])
def test_no_nan_or_inf_at_poles_and_uncoupled_resonances(loss):
    plate = acoustic.Plate.of("aluminium", 2e-3, loss)
    cavity = acoustic.PlateCavity((0.5, 0.4), plate, acoustic.Air(loss_factor=loss))
    # rigid-cavity poles k_z·lz = mπ (incl. k_z = 0 exactly at 343 Hz), a tan pole, in-vacuo beam modes
    freqs = [343.0, 428.75, 549.07, 686.0, 343.0 / 0.8 / 2, 19.57, 78.27, 176.1]
    for method in ("numba", "numpy"):
        res = acoustic.response(cavity, freqs, acoustic.LineForce(1.0, 0.13), n_plate=8, n_transverse=8, method=method)
        assert np.isfinite(res.lp_avg).all() and np.isfinite(res.displacement).all()


def test_lossless_response_at_an_exactly_singular_resonance_raises():
    # one transverse mode (i = 0) leaves the even beam mode a = 2 uncoupled: Z has the entry M_s(ω_2² − ω²)
    for thickness in np.linspace(1e-3, 3e-3, 41):
        cavity = acoustic.PlateCavity((0.5, 0.4), acoustic.Plate.of("aluminium", thickness))
        plate = cavity.plate
        tables = modal.modal_tables(
            np.array([cavity.size]),
            np.array([plate.bending_stiffness]),
            np.array([plate.surface_density]),
            (2, 1),
            (1, 1),
        )
        w2 = tables.plate_w2[0, 1, 0]
        freq = math.sqrt(w2) / (2 * math.pi)
        if (2.0 * np.pi * freq) ** 2 == w2:
            break
    else:
        pytest.skip("no thickness gives an exactly representable resonance")
    for method in ("numba", "numpy"):
        with pytest.raises(ValueError, match="loss_factor > 0"):
            acoustic.response(cavity, [freq], acoustic.LineForce(1.0, 0.13), n_plate=2, n_transverse=1, method=method)
    near = acoustic.response(cavity, [freq * (1 + 1e-9)], acoustic.LineForce(1.0, 0.13), n_plate=2, n_transverse=1)
    assert np.isfinite(near.lp_avg).all()


def test_scaled_depth_factor_equals_the_literal_formula_and_survives_strong_evanescence():
    lz = 0.4
    kz = np.array([3.0 + 0.0j, 3.0 - 0.2j, 0.5j, 1e-5 + 0j, 50.0j, 2e3j])
    kz = np.where(kz.imag < 0, -kz, kz)
    _, msq = modal.depth_terms(kz, lz)
    z = np.linspace(0.0, lz, 20001)
    literal = (
        integrate.trapezoid(np.abs(np.cos(np.outer(kz[:4], z))) ** 2, z, axis=1)
        / lz
        / np.abs(kz[:4] * np.sin(kz[:4] * lz)) ** 2
    )
    assert msq[:4] == pytest.approx(literal, rel=1e-6)
    assert np.isfinite(msq).all() and msq[-1] == pytest.approx(1 / (2 * 2e3 * lz * 2e3**2), rel=1e-9)


# --- bad input --------------------------------------------------------------------------------------

CAV3 = acoustic.PlateCavity((0.5, 0.4, 0.3), ALU_2MM)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: acoustic.Plate(0.0, 70e9, 2700, 0.33), r"thickness must lie in \[1e-05, 0.1\] m; got thickness=0.0"),
        (lambda: acoustic.Plate(1e-3, -1.0, 2700, 0.33), "youngs_modulus must lie in"),
        (lambda: acoustic.Plate(1e-3, 70e9, 0.0, 0.33), "density must lie in"),
        (lambda: acoustic.Plate(1e-3, 70e9, 2700, 0.5), r"poisson must lie in \[-0.9, 0.499\]; got poisson=0.5"),
        (lambda: acoustic.Plate(1e-3, 70e9, 2700, 0.3, loss_factor=-0.1), r"loss_factor must lie in \[0, 1\]"),
        (lambda: acoustic.Plate.of("wood", 1e-3), "material must be one of"),
        (lambda: acoustic.Air(speed=0.0), "speed must lie in"),
        (lambda: acoustic.Air(loss_factor=-1.0), r"loss_factor must lie in \[0, 1\]"),
        (lambda: acoustic.PlateCavity((0.5, -0.4), ALU_2MM), "size lz must lie in"),
        (lambda: acoustic.PlateCavity((0.5,), ALU_2MM), r"size must be \(lx, lz\) or \(lx, ly, lz\)"),
        (lambda: acoustic.PointMass(-1.0, (0.1, 0.1)), "mass must lie in"),
        (lambda: acoustic.response(CAV3, [100.0], acoustic.PointForce(1.0, (0.6, 0.1))), "0 < x < 0.5 m; got x=0.6"),
        (lambda: acoustic.response(CAV3, [100.0], acoustic.PointForce(1.0, (0.1, 0.0))), "0 < y < 0.4 m; got y=0.0"),
        (lambda: acoustic.response(CAV3, [100.0], acoustic.LineForce(1.0, 0.1)), "LineForce needs a 2D cavity"),
        (lambda: acoustic.response(BENCH_2D, [100.0], acoustic.PointForce(1.0, (0.1, 0.1))), "PointForce needs a 3D"),
        (
            lambda: acoustic.response(
                CAV3, [100.0], acoustic.PointForce(1.0, (0.1, 0.1)), [acoustic.PointMass(1.0, 0.1)]
            ),
            r"\(x, y\) \(3D cavity\)",
        ),
        (
            lambda: acoustic.response(CAV3, [0.0, 100.0], acoustic.PlaneWave(1.0)),
            r"freqs must lie in \[0.1, 20000\] Hz; got 0.0 Hz",
        ),
        (lambda: acoustic.response(CAV3, [100.0], acoustic.PlaneWave(0.0)), "all zero"),
        (
            lambda: acoustic.response(CAV3, [100.0], acoustic.Monopole(1.0, (0.1, 0.1, 0.5))),
            r"0 <= z <= 0.3 m; got z=0.5",
        ),
        (
            lambda: acoustic.response(CAV3, [100.0], acoustic.PlaneWave(1.0), n_plate=(8,)),
            "n_plate must be an int or a pair",
        ),
        (
            lambda: acoustic.response(CAV3, [100.0], acoustic.PlaneWave(1.0), method="torch"),
            "method must be 'numba' or 'numpy'",
        ),
        (lambda: acoustic.coupled_modes(CAV3, 0), r"count must be an int in \[1, 200\]"),
        (lambda: acoustic.panel_transmission_loss(2.7, [100.0], "grazing"), "incidence must be 'normal' or 'diffuse'"),
        (lambda: acoustic.helmholtz_resonator_frequency(1e-3, 0.05, 0.0), "neck_radius must lie in"),
        (
            lambda: acoustic.CavityBatch(
                size=(0.5, 0.4, 0.3),
                thickness=[1e-3, -1e-3],
                youngs_modulus=70e9,
                density=2700,
                poisson=0.3,
                force=1.0,
                force_position=(0.1, 0.1),
            ),
            r"thickness must be in \[1e-05, 0.1\] \(SI units; \|value\| if complex\); got thickness\[1\]=",
        ),
        (
            lambda: acoustic.CavityBatch(
                size=(0.5, 0.4, 0.3),
                thickness=1e-3,
                youngs_modulus=70e9,
                density=2700,
                poisson=0.3,
                force=1.0,
                force_position=(0.1, 0.45),
            ),
            "force_position must be strictly inside the plate",
        ),
    ],
)
def test_bad_input_raises_a_value_error_naming_parameter_bound_and_value(build, match):
    with pytest.raises(ValueError, match=match):
        build()
