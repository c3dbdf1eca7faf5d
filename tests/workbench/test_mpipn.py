"""MPIPN: finite-element field data of both geometry families, residual operators, network, training, CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.sparse.linalg
import torch
from typer.testing import CliRunner

from analytic import acoustic
from workbench.surrogates import mpipn
from workbench.surrogates.mpipn import _physics as phys
from workbench.surrogates.mpipn import _scaling as mpipn_scaling
from workbench.surrogates.mpipn._balance import ReLoBRaLo
from workbench.surrogates.mpipn._fe import INTERFACE, PLATE, PLATE_EDGE, WALL, point_cloud
from workbench.surrogates.mpipn._network import plate_amplitudes, plate_sines

torch.set_num_threads(1)


def _problem(family: str = "trapezoid", frequency: float = 150.0, tilt: float = 0.3) -> mpipn.Problem:
    return mpipn.Problem(
        family, "aluminium", frequency, 70e9, 2700.0, 3e-3, 0.5, 0.4, 0.02, tilt if family == "trapezoid" else 0.0
    )


def _split(field: mpipn.Field) -> tuple[np.ndarray, np.ndarray]:
    plate = field.cloud.domain >= PLATE
    return field.value[~plate], field.value[plate]


# --- finite-element fields ----------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", [60.0, 240.0])
def test_trapezoid_without_tilt_converges_to_the_rectangle_reference_at_second_order(frequency):
    diffs = []
    for cells in ((16, 8), (32, 16)):
        rect = mpipn.solve_field(_problem("rectangle", frequency), cells, resonances=False)
        trap = mpipn.solve_field(_problem("trapezoid", frequency, tilt=0.0), cells, resonances=False)
        np.testing.assert_array_equal(rect.cloud.coords, trap.cloud.coords)
        (p_r, w_r), (p_t, w_t) = _split(rect), _split(trap)
        diffs.append((mpipn.relative_l2(p_t, p_r), mpipn.relative_l2(w_t, w_r)))
    (p_coarse, w_coarse), (p_fine, w_fine) = diffs
    assert p_fine < 1e-2 and w_fine < 1e-3  # P1 triangles vs Q1 quads on (32, 16): measured 7.7e-3 and 7.9e-4
    assert p_coarse / p_fine > 3.5 and w_coarse / w_fine > 3.0  # O(h²): measured 4.1 and 3.6


def test_trapezoid_fields_converge_under_mesh_refinement_at_second_order():
    problem = _problem("trapezoid", 180.0, tilt=0.4)
    fine = mpipn.solve_field(problem, (64, 32), resonances=False)
    p_ref = fine.value[: 65 * 33].reshape(33, 65)
    w_ref = fine.value[65 * 33 :]
    errors = []
    for n in (16, 32):
        field = mpipn.solve_field(problem, (n, n // 2), resonances=False)
        step = 64 // n
        p, w = _split(field)
        errors.append((mpipn.relative_l2(p, p_ref[::step, ::step].ravel()), mpipn.relative_l2(w, w_ref[::step])))
    (p16, w16), (p32, w32) = errors
    assert p32 < 2e-2 and w32 < 2e-2
    assert p16 / p32 > 3.0 and w16 / w32 > 3.0


def test_rectangle_resonances_match_the_analytic_coupled_modes():
    field = mpipn.solve_field(_problem("rectangle", 100.0), (32, 16))
    exact = acoustic.coupled_modes(field.problem.cavity, 6)
    np.testing.assert_allclose(field.resonances[:6], exact, rtol=5e-3)
    assert field.resonance_distance == pytest.approx(np.min(np.abs(100.0 / field.resonances - 1)))


def test_point_cloud_tags_normals_and_interface_partners():
    problem = _problem("trapezoid", tilt=0.5)
    cloud = point_cloud(problem, (8, 4))
    n_cav = 9 * 5
    assert cloud.coords.shape == (n_cav + 9, 2)
    top = np.flatnonzero(cloud.domain == INTERFACE)
    np.testing.assert_allclose(cloud.coords[cloud.partner[top]], cloud.coords[top])
    assert set(cloud.domain[cloud.partner[top]]) == {PLATE, PLATE_EDGE}
    bottom = np.flatnonzero((cloud.domain == WALL) & (np.arange(cloud.domain.size) < 9))[1:-1]
    wall_direction = np.array([problem.lx, problem.tilt * problem.lz])
    np.testing.assert_allclose(cloud.normal[bottom] @ wall_direction, 0.0, atol=1e-12)
    assert np.all(cloud.normal[bottom, 1] < 0)
    np.testing.assert_allclose(np.linalg.norm(cloud.normal[cloud.domain == WALL], axis=1), 1.0)


def test_field_data_round_trips_through_hdf5_with_provenance(tmp_path):
    fields = mpipn.generate(
        "trapezoid", {"train": 2, "test_in": 1, "test_out": 1}, seed=3, cells=(16, 8), command="test"
    )
    back = mpipn.read(mpipn.write(fields, tmp_path / "f.h5"))
    np.testing.assert_array_equal(back.value, fields.value)
    np.testing.assert_array_equal(back.split, ["train", "train", "test_in", "test_out"])
    assert back.provenance["seed"] == 3 and back.provenance["command"] == "test"
    assert "scikit-fem" in back.provenance["solver"] and json.loads(back.provenance["versions"])["h5py"]
    (outside,) = back.select("test_out").problems()
    assert len(outside.out_of_range()) == 1
    assert all(not p.out_of_range() for p in back.select("train").problems())


# --- derivatives and the plate head -------------------------------------------------------------------------


def test_forward_mode_derivatives_of_a_lossy_plane_wave_satisfy_helmholtz():
    k2 = 3.0 / (1 + 0.05j)
    kx = 0.8
    kz = complex(np.sqrt(k2 - kx**2))

    def wave(x: torch.Tensor) -> torch.Tensor:
        phase = kx * x[..., 0] + kz.real * x[..., 1]
        amplitude = torch.exp(-kz.imag * x[..., 1])
        return torch.stack([amplitude * torch.cos(phase), amplitude * torch.sin(phase)], dim=-1)

    x = torch.rand(2, 20, 2, dtype=torch.float64)
    value, grad, lap = phys.derivatives(wave, x)
    p, grad_p, lap_p = phys.as_complex(value), phys.as_complex(grad), phys.as_complex(lap)
    torch.testing.assert_close(lap_p + k2 * p, torch.zeros_like(p), atol=1e-12, rtol=0)
    torch.testing.assert_close(grad_p[..., 0, 0], 1j * kx * p[..., 0], atol=1e-12, rtol=0)
    torch.testing.assert_close(grad_p[..., 1, 0], 1j * kz * p[..., 0], atol=1e-12, rtol=0)


def _network(seed: int = 0) -> tuple[mpipn.MPIPN, tuple[torch.Tensor, ...]]:
    torch.manual_seed(seed)
    net = mpipn.MPIPN(n_quantities=5, interface_cells=32).double()
    geometry = torch.tensor([[1.0, 0.8, 0.0], [1.2, 0.7, 0.4]], dtype=torch.float64)
    quantities = torch.randn(2, 5, dtype=torch.float64)
    return net, (geometry, quantities)


def test_network_forward_mode_derivatives_match_finite_differences():
    net, (geometry, quantities) = _network()
    context = net.encode(torch.rand(2, 9, 2, dtype=torch.float64) * 0.6, geometry, quantities)
    x = 0.5 * torch.rand(2, 4, 2, dtype=torch.float64) + 0.15

    def f(y: torch.Tensor) -> torch.Tensor:
        return net.learned(context, y, geometry, quantities)

    _, grad, lap = phys.derivatives(f, x)
    # steps small against the shortest input wavelength (the 16th harmonic of x/lx, 2·lx/16 ≈ 0.13)
    with torch.no_grad():
        for axis in range(2):
            e = torch.zeros(2, dtype=torch.float64)
            e[axis] = 1e-6
            fd = (f(x + e) - f(x - e)) / 2e-6
            torch.testing.assert_close(grad[..., axis, :], fd, rtol=1e-6, atol=1e-8)
        h = 2e-5
        fd_lap = sum(
            (f(x + e) - 2 * f(x) + f(x - e)) / h**2
            for e in (torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64))
        )
    torch.testing.assert_close(lap, fd_lap, rtol=1e-3, atol=1e-4)


def _fe_mode_fields(problem: mpipn.Problem, cells: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Finite-element G_b (p̂ per unit ŵ amplitude of plate mode b) at the cavity nodes, (n_nodes, K), and the
    fluid volume mass matrix over L0²."""
    from workbench.reference._assembly import Params, operators
    from workbench.surrogates.mpipn._fe import _trapezoid_operators

    params = Params.of(problem.cavity)
    ops = operators(params, cells) if problem.family == "rectangle" else _trapezoid_operators(problem, params, cells)
    length = mpipn_scaling.REFERENCE_LENGTH
    k2 = (problem.omega * length / mpipn_scaling.AIR.speed) ** 2 / (1 + 1j * problem.loss)
    system = (ops.fluid_stiffness - k2 * ops.fluid_volume_mass / length**2).tocsc()
    sines = plate_sines(cells[0], mpipn.PLATE_MODES, torch.float64).numpy()
    rhs = (ops.coupling @ sines) / length
    return scipy.sparse.linalg.spsolve(system, rhs.astype(complex)), ops.fluid_volume_mass / length**2


@pytest.mark.parametrize("family", mpipn.FAMILIES)
def test_plate_head_with_the_finite_element_mode_fields_reproduces_the_finite_element_solution(family):
    problem = mpipn.Problem(
        family, "polymer", 150.0, 2.5e9, 1200.0, 2e-3, 0.6, 0.4, 0.02, 0.4 * (family != "rectangle")
    )
    cells = (32, 16)
    field = mpipn.solve_field(problem, cells, resonances=False)
    green, _ = _fe_mode_fields(problem, cells)
    names = mpipn.parameter_names(family)
    coef = mpipn_scaling.coefficients(names, problem.vector()[None], np.array([2]))
    top = cells[1] * (cells[0] + 1) + np.arange(1, cells[0])
    modal = plate_amplitudes(
        torch.as_tensor(green[top])[None],
        torch.tensor([problem.lx / mpipn_scaling.REFERENCE_LENGTH], dtype=torch.float64),
        torch.as_tensor(coef["alpha"]),
        torch.as_tensor(coef["beta"]),
        cells[0],
    )[0].numpy()
    plate = field.cloud.domain >= PLATE
    p_hat = green @ modal
    x = field.cloud.coords[plate, 0]
    w_hat = np.sin(np.pi * np.outer(x / problem.lx, np.arange(1, mpipn.PLATE_MODES + 1))) @ modal
    # 16 of the 31 modes: the measured truncation error is 8e-5 (p) and 1.0e-3 (w)
    assert mpipn.relative_l2(p_hat, field.value[~plate] * coef["p_scale"][0]) < 3e-4
    assert mpipn.relative_l2(w_hat, field.value[plate] * coef["w_scale"][0]) < 3e-3


def test_mean_offset_is_the_finite_element_mean_of_each_mode_field():
    problem = mpipn.Problem("trapezoid", "steel", 40.0, 210e9, 7850.0, 3e-3, 0.5, 0.35, 0.03, 0.3)
    cells = (32, 16)
    green, mass = _fe_mode_fields(problem, cells)
    ones = np.ones(mass.shape[0])
    fe_mean = ones @ (mass @ green) / (ones @ (mass @ ones))
    net = mpipn.MPIPN(n_quantities=5, interface_cells=cells[0]).double()
    names = mpipn.parameter_names("trapezoid")
    geometry = torch.as_tensor(mpipn_scaling.geometry(names, problem.vector()[None]))
    k2 = torch.as_tensor(mpipn_scaling.coefficients(names, problem.vector()[None], np.array([1]))["k2"])
    np.testing.assert_allclose(net.mean_offset(geometry, k2)[0].numpy(), fe_mean, rtol=1e-9, atol=1e-12)


def test_relobralo_weights_sum_to_the_term_count_and_favour_a_stalled_term():
    balance = ReLoBRaLo(3, seed=0)
    np.testing.assert_array_equal(balance.update(np.array([1.0, 1.0, 1.0])), np.ones(3))
    for step in range(1, 50):
        weights = balance.update(np.array([0.9**step, 0.9**step, 1.0]))
    assert weights.sum() == pytest.approx(3.0)
    assert weights[2] > weights[0] and weights[2] > 1.0
    with pytest.raises(ValueError, match="losses"):
        balance.update(np.array([1.0, np.nan, 1.0]))


# --- network, training, checkpoints -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_fields() -> mpipn.FieldSet:
    return mpipn.generate("trapezoid", {"train": 6, "test_in": 2, "test_out": 2}, seed=1, cells=(32, 8))


@pytest.fixture(scope="module")
def tiny_model(small_fields) -> mpipn.Surrogate:
    return mpipn.train(small_fields, mpipn.TrainConfig(steps=15, batch=6, physics_batch=2, collocation=8, lr=3e-3))


def test_tiny_training_runs_lower_the_physics_and_the_data_losses(tiny_model, small_fields):
    history = tiny_model.info["history"]
    first, last = history[0], history[-1]
    assert set(first) >= {"data", "helmholtz", "wall", "interface"}
    assert last["helmholtz"] < 0.1 * first["helmholtz"] and last["interface"] < first["interface"]
    data_only = mpipn.train(small_fields, mpipn.TrainConfig(physics=False, steps=15, batch=6, lr=3e-3))
    rows = data_only.info["history"]
    assert set(rows[0]) == {"step", "seconds", "data"} and rows[-1]["data"] < rows[0]["data"]


def test_plate_head_satisfies_the_simply_supported_edge_conditions_exactly(tiny_model, small_fields):
    values = tiny_model.predict_fields(small_fields.select("test_in"))
    edges = small_fields.domain == PLATE_EDGE
    assert np.abs(values[:, edges]).max() <= 1e-5 * np.abs(values[:, small_fields.domain == PLATE]).max()


def test_predictions_have_the_cloud_shape_and_survive_a_checkpoint_round_trip(tiny_model, small_fields, tmp_path):
    test = small_fields.select("test_in")
    values = tiny_model.predict_fields(test)
    assert values.shape == (2, small_fields.domain.size) and values.dtype == np.complex128
    assert np.all(np.isfinite(values))
    loaded = mpipn.Surrogate.load(tiny_model.save(tmp_path / "m.pt"))
    np.testing.assert_array_equal(loaded.predict_fields(test), values)
    # the forward pass shares the cavity points' local features between the global feature and the cavity
    # head; the same fields come from the separate steps used in training
    net = tiny_model.network
    x = torch.as_tensor(test.coords / mpipn_scaling.REFERENCE_LENGTH, dtype=torch.float32)
    names = test.param_names
    coef = mpipn_scaling.coefficients(names, test.params, test.material)
    cloud = (
        torch.as_tensor(mpipn_scaling.geometry(names, test.params), dtype=torch.float32),
        torch.as_tensor(mpipn_scaling.cavity_features(names, test.params), dtype=torch.float32),
        torch.as_tensor(coef["k2"], dtype=torch.complex64),
        torch.as_tensor(coef["alpha"], dtype=torch.complex64),
        torch.as_tensor(coef["beta"], dtype=torch.float32),
    )
    plate = torch.as_tensor(test.plate_mask)
    with torch.no_grad():
        context = net.encode(x[:, ~plate], *cloud[:2])
        steps = net.fields(context, net.amplitudes(context, *cloud), x, plate, *cloud[:3])
        torch.testing.assert_close(net(x, plate, *cloud), steps, rtol=1e-5, atol=1e-6)


def test_bad_inputs_raise_value_errors_naming_the_parameter(tiny_model, small_fields, tmp_path):
    test = small_fields.select("test_in")
    args = (test.coords, test.domain, test.params, test.material)
    coords = test.coords.copy()
    coords[1, 5, 0] = np.nan
    with pytest.raises(ValueError, match=r"coords must be finite .*coords\[1, 5\]"):
        tiny_model.predict(coords, *args[1:])
    with pytest.raises(ValueError, match="got .* cavity and 0 plate points"):
        tiny_model.predict(test.coords, np.zeros_like(test.domain), *args[2:])
    with pytest.raises(ValueError, match="domain must hold"):
        tiny_model.predict(test.coords[:, :0], test.domain[:0], *args[2:])
    params = test.params.copy()
    params[0, 0] = 400.0  # frequency above the 200 Hz range
    with pytest.raises(ValueError, match=r"frequency must lie in \[20, 200\] .*got frequency=400"):
        tiny_model.predict(test.coords, test.domain, params, test.material)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_model.predict(test.coords, test.domain, params, test.material, strict=False)
    assert any("frequency" in str(w.message) for w in caught)
    path = tiny_model.save(tmp_path / "trap.pt")
    with pytest.raises(ValueError, match="family: this checkpoint is for the 'trapezoid' .*got family='rectangle'"):
        mpipn.Surrogate.load(path, "rectangle")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable torch file"):
        mpipn.Surrogate.load(tmp_path / "junk.pt")
    rect = mpipn.generate("rectangle", {"test_in": 1}, seed=0, cells=(16, 8))
    with pytest.raises(ValueError, match="family"):
        tiny_model.predict_fields(rect)
    with pytest.raises(ValueError, match="supervised_fraction must lie in"):
        mpipn.TrainConfig(supervised_fraction=0.0)
    with pytest.raises(ValueError, match="tilt must lie in"):
        mpipn.Problem("rectangle", "steel", 100.0, 210e9, 7850.0, 3e-3, 0.5, 0.4, 0.02, 0.2)


@pytest.mark.parametrize("family", mpipn.FAMILIES)
def test_shipped_checkpoints_load_for_their_family_and_predict_finite_fields(family):
    surrogate = mpipn.load_default(family)
    fields = mpipn.generate(family, {"test_in": 2}, seed=5, cells=surrogate.cells)
    values = surrogate.predict_fields(fields)
    assert np.all(np.isfinite(values))
    other = next(f for f in mpipn.FAMILIES if f != family)
    with pytest.raises(ValueError, match="family"):
        mpipn.Surrogate.load(mpipn.default_checkpoint(family), other)


# --- CLI ----------------------------------------------------------------------------------------------------


def test_cli_acoustic_field_and_surrogate_eval_print_json(tmp_path):
    from workbench.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "acoustic",
            "field",
            "--model",
            "mpipn",
            "--family",
            "trapezoid",
            "--tilt",
            "0.3",
            "--plot",
            str(tmp_path / "f.png"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["mpipn"]["rel_l2_pressure"] >= 0 and (tmp_path / "f.png").stat().st_size > 0
    result = runner.invoke(
        app, ["surrogate", "eval", "mpipn", "--family", "rectangle", "--test-in", "3", "--test-out", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    for key in (
        "rel_l2_pressure_median",
        "rel_l2_pressure_p90",
        "rel_l2_plate_median",
        "rel_l2_plate_p90",
        "speedup_vs_fe",
        "ablation",
    ):
        assert key in payload
    result = runner.invoke(app, ["acoustic", "field", "--model", "mpipn", "--frequency", "400Hz", "--json"])
    assert result.exit_code == 2 and "frequency must lie in [20, 200]" in result.output


def test_cli_train_trains_on_the_first_clouds_and_refuses_bad_settings_before_any_work(small_fields, tmp_path):
    from workbench.cli import app

    data = mpipn.write(small_fields, tmp_path / "small.h5")
    runner = CliRunner()
    out = tmp_path / "m.pt"
    base = ["surrogate", "train", "mpipn", "--family", "trapezoid", "--data", str(data), "--out", str(out)]
    result = runner.invoke(app, [*base, "--steps", "2", "--batch", "2", "--clouds", "3", "--no-physics", "--json"])
    assert result.exit_code == 0, result.output
    info = mpipn.Surrogate.load(out).info
    assert info["train_clouds"] == 3 and "--clouds 3" in info["command"] and "--no-physics" in info["command"]
    for option, value, message in (
        ("--clouds", "0", "clouds must lie in [1, 100000]; got clouds=0"),
        ("--clouds", "7", "clouds must be at most the 6 training clouds of the data; got clouds=7"),
        ("--physics-weight", "0", "physics_weight must be a positive number; got physics_weight=0"),
    ):
        bad = tmp_path / f"bad{option}.pt"
        result = runner.invoke(app, [*base[:-1], str(bad), option, value])
        assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
        assert not bad.exists()
