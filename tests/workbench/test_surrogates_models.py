"""Surrogate networks and checkpoints: the physics-model protocols, physics fallback, metadata checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from analytic import acoustic, thz
from envs.nanogap import DESIGN_PARAMETERS, DesignGrid, NanogapConfig
from envs.plate_cavity import CavityGrid, PlateCavityConfig
from workbench.surrogates import (
    evaluate_acoustic,
    evaluate_thz,
    load,
    make_dataset,
    save,
    train_acoustic,
    train_thz,
)
from workbench.surrogates._acoustic import (
    FEATURES,
    MassSetNet,
    _loss,
    _mass_slots,
    _ShuffledMasses,
    acoustic_features,
    drive_point_features,
)
from workbench.surrogates._datasets import thz_batch
from workbench.surrogates._thz import ThzNet, _interp_torch

ACOUSTIC_ENV = {"band": (20.0, 60.0)}


@pytest.fixture(scope="module")
def thz_data():
    return make_dataset("thz", 96, seed=5, points=16)


@pytest.fixture(scope="module")
def acoustic_data():
    return make_dataset("acoustic", 48, seed=5, env=ACOUSTIC_ENV)


@pytest.fixture(scope="module", params=["mlp", "physics", "hybrid"])
def thz_model(request, thz_data):
    return train_thz(thz_data, head=request.param, width=16, depth=2, epochs=3, seed=0)


@pytest.fixture(scope="module")
def acoustic_model(acoustic_data):
    return train_acoustic(acoustic_data, width=16, depth=2, members=2, epochs=3, seed=0)


def test_thz_surrogate_answers_the_spectra_protocol_with_finite_fields(thz_model, thz_data):
    batch = thz_batch(thz_data.designs[:5], NanogapConfig())
    spec = thz_model.spectra(batch, np.array([0.2e12, 0.31e12]))
    assert isinstance(spec, thz.Spectrum)
    for name in ("t", "r", "transmittance", "reflectance", "fe_avg", "fe_peak", "fe_avg_substrate_normalised"):
        value = getattr(spec, name)
        assert value.shape == (5, 2) and np.all(np.isfinite(value)), name
    beta = batch.gap * 2 * (batch.side_x + batch.side_y) / (batch.period_x * batch.period_y)
    np.testing.assert_allclose(spec.fe_avg, np.abs(spec.t) / beta[:, None], rtol=1e-12)
    assert thz_model.surrogate_evaluations == 5 and thz_model.physics_evaluations == 0


def test_thz_prediction_off_the_band_grid_matches_the_grid_at_grid_frequencies(thz_model, thz_data):
    lengths = thz_data.designs[:4]
    on_grid = thz_model.predict(lengths)[0]
    at = thz_model.predict(lengths, np.broadcast_to(thz_data.freqs, (4, len(thz_data.freqs))))[0]
    np.testing.assert_allclose(np.abs(at), np.abs(on_grid), rtol=1e-5)


def test_thz_design_outside_the_training_box_is_flagged_and_answered_by_the_physics(thz_data):
    model = train_thz(thz_data, head="physics", width=8, depth=1, epochs=1)
    lengths = thz_data.designs[:3].copy()
    lengths[0, DESIGN_PARAMETERS.index("gap")] = 30e-9  # the grid stops at 20 nm
    batch = thz_batch(lengths, NanogapConfig())
    spec = model.spectra(batch, [0.2e12])
    exact = thz.spectra(thz_batch(lengths[:1], NanogapConfig()), [0.2e12])
    assert spec.t[0, 0] == pytest.approx(exact.t[0, 0], rel=1e-7)
    assert (model.out_of_bounds, model.physics_evaluations, model.surrogate_evaluations) == (1, 1, 2)


def test_thz_frequency_outside_the_band_sends_the_call_to_the_physics(thz_data):
    model = train_thz(thz_data, head="mlp", width=8, depth=1, epochs=1)
    batch = thz_batch(thz_data.designs[:2], NanogapConfig())
    spec = model.spectra(batch, [0.6e12])
    np.testing.assert_array_equal(spec.t, thz.spectra(batch, [0.6e12]).t)
    assert model.physics_evaluations == 2


def test_hybrid_head_starts_as_the_physics_head(thz_data):
    torch.manual_seed(0)
    freqs = thz_data.freqs
    hybrid = ThzNet(14, freqs, "hybrid", 8, 1)
    physics = ThzNet(14, freqs, "physics", 8, 1)
    state = hybrid.net.state_dict()
    keep = physics.net[-1].bias.shape[0]
    last = str(len(hybrid.net) - 1)
    state[f"{last}.weight"], state[f"{last}.bias"] = state[f"{last}.weight"][:keep], state[f"{last}.bias"][:keep]
    physics.net.load_state_dict(state)
    x = torch.randn(3, 14)
    rayleigh = torch.full((3, 2), 0.4e12)
    for a, b in zip(hybrid(x, rayleigh), physics(x, rayleigh)):
        torch.testing.assert_close(a, b)
    assert torch.all(torch.isfinite(hybrid(x, rayleigh)[0]))


@given(st.lists(st.floats(-5, 5), min_size=4, max_size=12), st.floats(0.0, 1.0))
def test_band_interpolation_matches_numpy_interp(values, where):
    grid = torch.linspace(1.0, 2.0, len(values), dtype=torch.float64)
    f = torch.tensor([[1.0 + where]], dtype=torch.float64)
    got = _interp_torch(torch.tensor([values], dtype=torch.float64), grid, f)
    assert float(got) == pytest.approx(np.interp(1.0 + where, grid.numpy(), values), abs=1e-9)


def test_thz_checkpoint_round_trip_keeps_predictions_and_metadata(tmp_path, thz_model, thz_data):
    path = save(thz_model, tmp_path / "thz.pt")
    back = load("thz", path, env={})
    np.testing.assert_array_equal(back.predict(thz_data.designs[:3])[0], thz_model.predict(thz_data.designs[:3])[0])
    assert back.metadata["band"] == [0.05e12, 0.5e12] and back.metadata["features"] == thz_model.metadata["features"]
    assert back.metadata["network"]["head"] == thz_model.net.head


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"eps_substrate": 11.7}, r"eps_substrate: checkpoint eps_substrate=3.8, env eps_substrate=11.7"),
        ({"gap": (1e-9, 30e-9, 1e-9)}, r"on gap: checkpoint gap=\[1e-09, 2e-08, 1e-09\], env gap="),
        ({"metal": "silver"}, r"on metal: checkpoint metal='gold', env metal='silver'"),
        ({"target_frequency": 0.03e12}, r"target_frequency: checkpoint band=\(5e\+10, 5e\+11\) Hz"),
    ],
)
def test_thz_checkpoint_refuses_an_env_that_disagrees(tmp_path, thz_model, env, message):
    path = save(thz_model, tmp_path / "thz.pt")
    with pytest.raises(ValueError, match=message):
        load("thz", path, env=env)


def test_thz_batch_with_other_materials_is_refused(thz_model, thz_data):
    batch = thz_batch(thz_data.designs[:2], NanogapConfig(eps_gap=4.0))
    with pytest.raises(ValueError, match=r"eps_gap: checkpoint eps_gap=\(9\+0j\), batch eps_gap=\(4\+0j\)"):
        thz_model.spectra(batch, [0.2e12])


def test_loading_a_missing_or_foreign_checkpoint_is_refused(tmp_path, thz_model):
    with pytest.raises(ValueError, match="does not exist"):
        load("thz", tmp_path / "none.pt")
    path = save(thz_model, tmp_path / "thz.pt")
    with pytest.raises(ValueError, match="holds kind='thz'; asked for kind='acoustic'"):
        load("acoustic", path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load("thz", tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="kind must be one of thz, acoustic"):
        load("optics")


def test_thz_evaluation_reports_the_goal_keys(thz_model, thz_data):
    result = evaluate_thz(thz_model, thz_data)
    for key in (
        "median_abs_log10_fe_error",
        "p95_abs_log10_fe_error",
        "resonance_rel_error_p95",
        "peak_fe_rel_error_p95",
    ):
        assert np.isfinite(result[key]) and result[key] >= 0


def _acoustic_batch(data, rows):
    return CavityGrid(PlateCavityConfig(**ACOUSTIC_ENV)).batch(data.index[rows])


def test_acoustic_surrogate_answers_band_level_and_f1_with_spreads(acoustic_model, acoustic_data):
    batch = _acoustic_batch(acoustic_data, slice(0, 6))
    j = acoustic_model.band_level(batch, acoustic_data.freqs, 8, 8)
    f1 = acoustic_model.first_coupled_frequency(batch, 8, 8)
    assert j.shape == f1.shape == (6,) and np.all(np.isfinite(j)) and np.all(f1 > 0)
    pred = acoustic_model.predict(*acoustic_model.columns(batch))
    assert pred["lp_avg"].shape == (6, len(acoustic_data.freqs)) and np.all(pred["j_std"] > 0)
    assert acoustic_model.surrogate_evaluations == 12


def test_acoustic_prediction_without_the_curve_leaves_the_other_answers_unchanged(acoustic_model, acoustic_data):
    columns, material = acoustic_data.designs[:5], acoustic_data.index[:5, 0]
    full = acoustic_model.predict(columns, material)
    short = acoustic_model.predict(columns, material, curve=False)
    assert "lp_avg" not in short and set(full) - set(short) == {"lp_avg"}
    for key, value in short.items():
        np.testing.assert_array_equal(value, full[key])


def test_acoustic_columns_of_a_batch_equal_the_grid_columns(acoustic_model, acoustic_data):
    columns, material = acoustic_model.columns(_acoustic_batch(acoustic_data, slice(None)))
    np.testing.assert_allclose(columns, acoustic_data.designs, rtol=1e-12)
    assert np.array_equal(material, acoustic_data.index[:, 0])
    assert acoustic_model.inside(columns, material).all()


def test_acoustic_design_over_the_mass_budget_is_answered_by_the_physics(acoustic_data):
    model = train_acoustic(acoustic_data, width=8, depth=1, members=1, epochs=1)
    grid = CavityGrid(PlateCavityConfig(**ACOUSTIC_ENV))
    heavy = acoustic_data.index[:2].copy()
    heavy[0, 1] = grid.sizes[1] - 1  # thickest plate
    heavy[0, 0] = grid.sizes[0] - 1  # steel
    heavy[0, 2:4] = grid.sizes[2:4] - 1  # largest plate: far over the budget
    batch = grid.batch(heavy)
    j = model.band_level(batch, acoustic_data.freqs, 8, 8)

    exact = acoustic.band_level(acoustic.responses(grid.batch(heavy[:1]), acoustic_data.freqs, 8, 8))
    assert j[0] == pytest.approx(exact[0], rel=1e-12)
    f1 = model.first_coupled_frequency(batch, 8, 8)
    assert f1[0] == pytest.approx(acoustic.first_coupled_frequencies(grid.batch(heavy[:1]), 8, 8)[0], rel=1e-12)
    assert model.out_of_bounds == 2 and model.physics_evaluations == 2


def test_acoustic_call_with_other_modes_or_band_is_refused(acoustic_model, acoustic_data):
    batch = _acoustic_batch(acoustic_data, slice(0, 2))
    with pytest.raises(ValueError, match="n_plate: checkpoint n_plate=8, call n_plate=10"):
        acoustic_model.band_level(batch, acoustic_data.freqs, 10, 8)
    with pytest.raises(ValueError, match="on band: checkpoint band grid of"):
        acoustic_model.band_level(batch, acoustic_data.freqs[:-3], 8, 8)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"air_loss": 0.02}, "air_loss: checkpoint air_loss=0.01, env air_loss=0.02"),
        ({"band": (20.0, 400.0)}, r"band: checkpoint band=\[20.0, 60.0\], env band=\[20.0, 400.0\]"),
        ({"materials": ("steel",)}, r"materials: checkpoint materials=\['polymer', 'aluminium', 'steel'\]"),
    ],
)
def test_acoustic_checkpoint_refuses_an_env_that_disagrees(tmp_path, acoustic_model, env, message):
    path = save(acoustic_model, tmp_path / "ac.pt")
    with pytest.raises(ValueError, match=message):
        load("acoustic", path, env={**ACOUSTIC_ENV, **env})


def test_acoustic_checkpoint_round_trip_and_objective_independence(tmp_path, acoustic_model, acoustic_data):
    path = save(acoustic_model, tmp_path / "ac.pt")
    back = load("acoustic", path, env={**ACOUSTIC_ENV, "objective": "tune", "target_frequency": 80.0})
    batch = _acoustic_batch(acoustic_data, slice(0, 3))
    np.testing.assert_array_equal(
        back.band_level(batch, acoustic_data.freqs, 8, 8), acoustic_model.band_level(batch, acoustic_data.freqs, 8, 8)
    )


def test_acoustic_evaluation_reports_the_goal_keys(acoustic_model, acoustic_data):
    result = evaluate_acoustic(acoustic_model, acoustic_data)
    assert result["j_mae_db"] >= 0 and result["j_p95_db"] >= result["j_mae_db"] * 0
    assert -1 <= result["spearman"] <= 1


@pytest.mark.parametrize("kind", ["thz", "acoustic"])
def test_shipped_checkpoint_loads_against_the_default_env(kind):
    model = load(kind, env={})
    assert model.metadata["kind"] == kind and model.metadata["training"]["command"].startswith("workbench surrogate")
    grid = DesignGrid(NanogapConfig()) if kind == "thz" else None
    if grid is not None:
        index = np.array([grid.center()])
        spec = model.spectra(thz_batch(grid.lengths(index), NanogapConfig()), [0.2e12])
        assert np.isfinite(spec.fe_avg).all()


def test_rational_head_equals_its_closed_form():
    """ln t = Σ c_j x^j + Σ_k ln((x − z_k)/(x − p_k)) + Σ_i a_i ln(1 − x_i²), evaluated with complex NumPy."""
    from torch import nn

    from workbench.surrogates._thz import _DEGREE, _N_POLES, _N_RATIONAL, _rational

    torch.manual_seed(1)
    coef = torch.randn(5, _N_RATIONAL, dtype=torch.float64)
    x = torch.linspace(0.1, 1.0, 9, dtype=torch.float64)[None, :]
    xr = torch.rand(5, 9, 2, dtype=torch.float64) * 0.9
    real, imag = _rational(coef, x, xr)
    c = coef.numpy()
    n_bg = _DEGREE + 1
    xs = x.numpy()[0]
    log_t = (c[:, :n_bg] + 1j * c[:, n_bg : 2 * n_bg]) @ np.stack([xs**j for j in range(n_bg)])
    t = np.exp(log_t)
    sig = torch.sigmoid(coef).numpy()
    soft = nn.functional.softplus(coef).numpy()
    for k in range(_N_POLES):
        o = 2 * n_bg + 4 * k
        pole = 1.5 * sig[:, o, None] - 1j * (soft[:, o + 1, None] + 1e-3)
        zero = 1.5 * sig[:, o + 2, None] - 1j * (soft[:, o + 3, None] + 1e-3)
        t = t * (xs - zero) / (xs - pole)
    a = soft[:, None, 2 * n_bg + 4 * _N_POLES :]
    t = t * np.prod((1 - xr.numpy() ** 2) ** a, axis=-1)
    np.testing.assert_allclose(real.numpy(), np.log(np.abs(t)), rtol=1e-10)
    np.testing.assert_allclose(np.exp(1j * imag.numpy()), t / np.abs(t), atol=1e-10)


def test_training_repeats_bit_for_bit_with_the_seed(thz_data, acoustic_data):
    torch.set_num_threads(1)
    for train in (
        lambda seed: train_thz(thz_data, head="physics", width=8, depth=1, epochs=2, seed=seed).net,
        lambda seed: train_acoustic(acoustic_data, width=8, depth=1, members=2, epochs=2, seed=seed).net,
    ):
        first, again, other = train(3).state_dict(), train(3).state_dict(), train(4).state_dict()
        assert all(torch.equal(first[k], again[k]) for k in first)
        assert not all(torch.equal(first[k], other[k]) for k in first)


def test_acoustic_member_views_answer_with_one_member_each_and_average_to_the_ensemble(acoustic_model, acoustic_data):
    columns, material = acoustic_data.designs[:6], acoustic_data.index[:6, 0]
    ensemble = acoustic_model.predict(columns, material)
    views = [acoustic_model.member(k) for k in range(acoustic_model.members)]
    assert acoustic_model.members == 2 and all(view.members == 1 for view in views)
    answers = np.stack([view.predict(columns, material)["j"] for view in views])
    np.testing.assert_allclose(answers.mean(axis=0), ensemble["j"], rtol=1e-6)
    np.testing.assert_allclose(answers.std(axis=0), ensemble["j_std"], rtol=1e-5, atol=1e-9)
    grid = CavityGrid(acoustic_model.config)
    batch = grid.batch(acoustic_data.index[:6])
    cfg = acoustic_model.config
    before = acoustic_model.surrogate_evaluations
    np.testing.assert_allclose(
        views[0].band_level(batch, acoustic_model.freqs, cfg.n_plate, cfg.n_transverse), answers[0], rtol=1e-12
    )
    assert views[0].surrogate_evaluations == 6 and acoustic_model.surrogate_evaluations == before
    with pytest.raises(ValueError, match=r"k must be in \[0, 1\] for this ensemble; got k=2"):
        acoustic_model.member(2)
    with pytest.raises(ValueError, match="member view of an ensemble is not trainable"):
        views[0].fit(acoustic_data, 1)


def _plate_columns(masses: list[tuple[float, float, float]]) -> np.ndarray:
    """One aluminium-like design (2700 kg/m³, 2 mm, 0.6 × 0.5 × 0.4 m) with the given (x/lx, y/ly, kg) masses."""
    return np.array([[2700.0, 2e-3, 0.6, 0.5, 0.4, *np.ravel(masses)]])


def _drive(masses: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    feats = drive_point_features(_plate_columns(masses), np.array([70e9]), np.array([0.33]), PlateCavityConfig())
    return feats[0, 0:16:2], feats[0, 1:16:2]  # ln|Y_F/Y0|, Re(Y_F/Y0) at the 8 band frequencies


def _plate_constants() -> tuple[np.ndarray, float, float]:
    stiffness = 70e9 * (2e-3) ** 3 / (12 * (1 - 0.33**2))
    surface = 2700.0 * 2e-3
    return np.geomspace(20.0, 400.0, 8), stiffness, surface


def test_drive_point_features_without_masses_are_the_bare_plate():
    log_mag, real = _drive([(0.5, 0.5, 0.0)] * 4)
    np.testing.assert_allclose(log_mag, 0.0, atol=1e-15)
    np.testing.assert_allclose(real, 1.0, atol=1e-15)


def test_mass_on_the_force_gives_the_blocked_mobility_one_over_one_plus_z():
    freqs, stiffness, surface = _plate_constants()
    log_mag, real = _drive([(0.31, 0.43, 0.3)] + [(0.5, 0.5, 0.0)] * 3)
    a = 2 * np.pi * freqs * 0.3 / (8 * np.sqrt(stiffness * surface))  # |z| = ωM·Y0
    np.testing.assert_allclose(log_mag, -0.5 * np.log1p(a**2), rtol=1e-9)
    np.testing.assert_allclose(real, 1 / (1 + a**2), rtol=1e-9)


def test_mass_off_the_force_follows_the_infinite_plate_green_function():
    from scipy import special

    freqs, stiffness, surface = _plate_constants()
    r = np.hypot(0.7 - 0.31, 0.0) * 0.6  # mass at (0.7, 0.43): on the force's line, 0.234 m away
    log_mag, real = _drive([(0.7, 0.43, 0.2)] + [(0.5, 0.5, 0.0)] * 3)
    k = ((2 * np.pi * freqs) ** 2 * surface / stiffness) ** 0.25
    g = special.hankel2(0, k * r) - 2j / np.pi * special.k0(k * r)
    z = 2j * np.pi * freqs * 0.2 / (8 * np.sqrt(stiffness * surface))
    expected = 1 - z * g**2 / (1 + z)
    np.testing.assert_allclose(log_mag, np.log(np.abs(expected)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(real, expected.real, rtol=1e-9, atol=1e-12)


@given(
    st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(0, 20)), min_size=4, max_size=4),
    st.permutations(range(4)),
)
def test_drive_point_features_do_not_depend_on_the_order_of_the_masses(masses, order):
    masses = [(x / 10, y / 10, m * 0.02) for x, y, m in masses]
    first = drive_point_features(_plate_columns(masses), np.array([70e9]), np.array([0.33]), PlateCavityConfig())
    again = [masses[i] for i in order]
    second = drive_point_features(_plate_columns(again), np.array([70e9]), np.array([0.33]), PlateCavityConfig())
    assert np.isfinite(first).all()
    np.testing.assert_allclose(second, first, rtol=1e-12, atol=1e-12)


def test_checkpoint_made_with_the_old_features_is_refused(tmp_path, acoustic_model):
    acoustic_model.metadata["feature_version"] = 1
    try:
        path = save(acoustic_model, tmp_path / "old.pt")
    finally:
        acoustic_model.metadata["feature_version"] = FEATURES
    with pytest.raises(ValueError, match="feature_version must be 2; got feature_version=1"):
        load("acoustic", path)


def test_reordering_the_masses_only_permutes_the_mass_columns_of_the_normalised_features(acoustic_model, acoustic_data):
    columns, material = acoustic_data.designs[:8], acoustic_data.index[:8, 0]
    order = [2, 0, 3, 1]
    reordered = np.concatenate([columns[:, :5], columns[:, 5:].reshape(8, 4, 3)[:, order].reshape(8, 12)], axis=1)
    config = acoustic_model.config
    before = acoustic_model.features(acoustic_features(columns, material, config))
    after = acoustic_model.features(acoustic_features(reordered, material, config))
    slots = _mass_slots(config)
    np.testing.assert_allclose(
        np.delete(after, np.r_[slots], axis=1), np.delete(before, np.r_[slots], axis=1), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(after[:, slots], before[:, slots].reshape(8, 4, 3)[:, order].reshape(8, 12), rtol=1e-12)


def test_mass_shuffling_loss_leaves_validation_batches_alone(acoustic_model, acoustic_data):
    member = acoustic_model.net.members[0]
    x = torch.randn(5, member[0].in_features)
    y = torch.randn(5, member[-1].out_features)
    shuffled = _ShuffledMasses(_mass_slots(acoustic_model.config), 4, seed=0)
    member.eval()
    with torch.no_grad():
        assert float(shuffled(member, (x, y))) == float(_loss(member, (x, y)))


def test_acoustic_checkpoint_accepts_an_env_with_other_move_steps():
    model = load("acoustic", env={"move_steps": (1, 4)})  # the shipped checkpoint records move_steps [1]
    assert model.metadata["env"]["move_steps"] == [1]


def test_fit_with_weight_decay_shrinks_the_weights_by_the_adamw_factor_per_step():
    from workbench.surrogates._training import fit

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in net.parameters()]
    data = (torch.zeros(10, 3),)

    def zero(model, batch):  # zero gradient: only the decay moves the weights
        return 0.0 * model(batch[0]).sum()

    fit(net, zero, data, data, epochs=1, batch_size=4, lr=0.1, weight_decay=0.5)
    for old, new in zip(before, net.parameters(), strict=True):
        torch.testing.assert_close(new.detach(), old * (1 - 0.1 * 0.5) ** 3)  # 3 steps of 4, 4, 2 samples


def test_fit_refuses_a_negative_weight_decay_before_training():
    from workbench.surrogates._training import fit

    net = torch.nn.Linear(3, 2)
    data = (torch.zeros(4, 3),)
    with pytest.raises(ValueError, match=r"weight_decay >= 0; got 1, 256, 0.002, -0.1"):
        fit(net, lambda model, batch: model(batch[0]).sum(), data, data, epochs=1, weight_decay=-0.1)


def test_mass_set_member_is_exactly_indifferent_to_the_order_of_the_masses():
    config = PlateCavityConfig()
    slots = _mass_slots(config)
    torch.manual_seed(0)
    member = MassSetNet(30, 5, width=16, depth=2, slots=slots, n_masses=config.n_masses, set_width=8)
    x = torch.randn(7, 30, dtype=torch.float64)
    member = member.double()
    reordered = x.clone()
    reordered[:, slots] = x[:, slots].reshape(7, 4, 3)[:, [3, 1, 0, 2]].reshape(7, 12)
    moved = x.clone()
    moved[:, slots.start] += 0.5  # one mass's x/lx: the answer must change
    torch.testing.assert_close(member(reordered), member(x), rtol=1e-12, atol=1e-12)
    assert not torch.allclose(member(moved), member(x))


def test_sets_ensemble_survives_a_checkpoint_round_trip_and_old_checkpoints_load_as_mlps(tmp_path, acoustic_data):
    model = train_acoustic(acoustic_data, width=16, depth=2, members=2, epochs=1, architecture="sets")
    assert all(isinstance(member, MassSetNet) for member in model.net.members)
    back = load("acoustic", save(model, tmp_path / "sets.pt"))
    columns, material = acoustic_data.designs[:4], acoustic_data.index[:4, 0]
    np.testing.assert_array_equal(back.predict(columns, material)["j"], model.predict(columns, material)["j"])
    mlp_model = train_acoustic(acoustic_data, width=16, depth=2, members=1, epochs=1)
    del mlp_model.metadata["network"]["architecture"]  # as written before the choice existed
    old = load("acoustic", save(mlp_model, tmp_path / "old.pt"))
    assert isinstance(old.net.members[0], torch.nn.Sequential)
    with pytest.raises(ValueError, match="architecture must be one of mlp, sets; got architecture='graph'"):
        train_acoustic(acoustic_data, width=8, depth=1, members=1, epochs=1, architecture="graph")
