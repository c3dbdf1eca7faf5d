"""MPIPN: finite-element field data of both geometry families, residual operators, network, training, CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from analytic import acoustic
from workbench.surrogates import mpipn
from workbench.surrogates.mpipn import _physics as phys
from workbench.surrogates.mpipn._balance import ReLoBRaLo
from workbench.surrogates.mpipn._fe import INTERFACE, PLATE, PLATE_EDGE, WALL, point_cloud

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


# --- residual operators -------------------------------------------------------------------------------------


def test_a_lossy_plane_wave_satisfies_the_helmholtz_residual():
    k2 = torch.tensor([3.0 / (1 + 0.05j)], dtype=torch.complex128)
    kx = 0.8
    kz = torch.sqrt(k2 - kx**2)
    x = torch.rand(1, 20, 2, dtype=torch.float64, requires_grad=True)
    p = torch.exp(1j * (kx * x[..., 0] + kz * x[..., 1]))
    grad, lap = phys.cavity_derivatives(p.real, p.imag, x)
    assert torch.allclose(phys.helmholtz(lap, p, k2), torch.zeros_like(p), atol=1e-10)
    normal = torch.tensor([0.0, 1.0], dtype=torch.float64).expand(1, 20, 2)
    assert torch.allclose(phys.normal_derivative(grad, normal), 1j * kz * p, atol=1e-12)
    # the wrong wavenumber leaves a residual of (k2 − k'²)·p
    assert torch.allclose(phys.helmholtz(lap, p, 2 * k2), k2 * p, atol=1e-10)


def test_a_simply_supported_mode_satisfies_the_plate_residual_with_the_matching_pressure():
    length, a = 1.2, 3
    alpha = torch.tensor([0.004 + 0.0001j], dtype=torch.complex128)
    beta = torch.tensor([9.0], dtype=torch.float64)
    x = torch.rand(1, 15, 2, dtype=torch.float64, requires_grad=True)
    w = (0.2 - 0.1j) * torch.sin(a * math.pi * x[..., 0] / length)
    w2, w4 = phys.plate_derivatives(w.real, w.imag, x)
    q = (a * math.pi / length) ** 2
    assert torch.allclose(w2, -q * w, atol=1e-10) and torch.allclose(w4, q**2 * w, atol=1e-8)
    p = alpha * q**2 * w - beta * w + 2.0
    assert torch.allclose(phys.plate(w4, w, p, alpha, beta), torch.zeros_like(w), atol=1e-10)


def test_network_autograd_derivatives_match_finite_differences():
    torch.manual_seed(0)
    net = mpipn.MPIPN(n_params=3).double()
    params = torch.randn(2, 3, dtype=torch.float64)
    lengths = torch.tensor([[1.0, 0.8], [1.3, 0.7]], dtype=torch.float64)
    plate = torch.tensor([False, False, True])
    cloud = torch.rand(2, 3, 2, dtype=torch.float64)
    context = net.encode(cloud, params, plate, lengths, torch.tensor([0, 2]))
    x = (0.5 * torch.rand(2, 3, 2, dtype=torch.float64) + 0.2).requires_grad_(True)
    out = net.decode(context, x, params, plate, lengths)
    grad, lap = phys.cavity_derivatives(out[..., 0], out[..., 1], x)
    _, w4 = phys.plate_derivatives(out[..., 2], out[..., 3], x)

    def at(shift: torch.Tensor, channel: int) -> torch.Tensor:
        with torch.no_grad():
            return net.decode(context, x + shift, params, plate, lengths)[..., channel]

    # steps below the shortest input wavelength (the 8th harmonic of x/lx: 2·lx/8 ≈ 0.25)
    g = torch.tensor([1e-6, 0.0], dtype=torch.float64)
    fd_grad = (at(g, 0) - at(-g, 0)) / 2e-6
    h = 1e-4
    ex, ez = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
    fd_lap = sum((at(e, 1) - 2 * at(0 * e, 1) + at(-e, 1)) / h**2 for e in (ex, ez))
    torch.testing.assert_close(grad[..., 0].real, fd_grad, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(lap.imag, fd_lap, rtol=1e-4, atol=1e-6)

    def w2_at(shift: torch.Tensor) -> torch.Tensor:
        xs = (x.detach() + shift).requires_grad_(True)
        o = net.decode(context, xs, params, plate, lengths)
        return phys.plate_derivatives(o[..., 2], o[..., 3], xs)[0].real.detach()

    # the fourth derivative as the second difference of the autograd second derivative (checked above)
    fd_w4 = (w2_at(ex) - 2 * w2_at(0 * ex) + w2_at(-ex)) / h**2
    torch.testing.assert_close(w4.real.detach(), fd_w4, rtol=1e-4, atol=1e-6 * float(w4.real.detach().abs().max()))


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
    return mpipn.generate("trapezoid", {"train": 6, "test_in": 2, "test_out": 2}, seed=1, cells=(16, 8))


@pytest.fixture(scope="module")
def tiny_model(small_fields) -> mpipn.Surrogate:
    return mpipn.train(
        small_fields, mpipn.TrainConfig(steps=15, batch=2, physics_batch=2, collocation=8, lr=3e-3, warmup=0.0)
    )


def test_a_tiny_physics_informed_training_run_lowers_the_loss(tiny_model):
    history = tiny_model.info["history"]
    first, last = history[0], history[-1]
    assert set(first) >= {"data", "helmholtz", "wall", "interface", "plate"}
    total = [sum(v for k, v in row.items() if k not in ("step", "seconds")) for row in (first, last)]
    assert total[1] < total[0]
    assert last["data"] < first["data"]


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
    with torch.no_grad():
        out = tiny_model.network(
            torch.rand(2, 7, 2),
            torch.randn(2, 16),
            torch.tensor([0, 0, 0, 0, 1, 1, 1], dtype=torch.bool),
            torch.ones(2, 2),
            torch.tensor([1, 2]),
        )
    assert out.shape == (2, 7, 4)


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
