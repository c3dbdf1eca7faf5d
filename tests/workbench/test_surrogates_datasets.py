"""Surrogate datasets: Sobol designs inside the env's valid space, masked THz spectra, HDF5 files with provenance."""

from __future__ import annotations

from dataclasses import replace

import h5py
import numpy as np
import pytest

from analytic import acoustic, thz
from envs.nanogap import DesignGrid, NanogapConfig
from envs.plate_cavity import CavityGrid, PlateCavityConfig
from workbench.surrogates import make_dataset, read_dataset, sobol_indices, write_dataset
from workbench.surrogates._datasets import diffraction_frequency, thz_batch


@pytest.fixture(scope="module")
def thz_small():
    return make_dataset("thz", 24, seed=3, points=16)


@pytest.fixture(scope="module")
def acoustic_small():
    return make_dataset("acoustic", 4, seed=3, env={"band": (20.0, 60.0)})


@pytest.mark.parametrize("grid", [DesignGrid(NanogapConfig()), CavityGrid(PlateCavityConfig())])
def test_sobol_designs_are_valid_and_repeat_with_the_seed(grid):
    first = sobol_indices(grid, 100, seed=7)
    assert first.shape == (100, grid.dim)
    assert grid.valid(first).all()
    assert np.array_equal(first, sobol_indices(grid, 100, seed=7))
    assert not np.array_equal(first, sobol_indices(grid, 100, seed=8))


def test_thz_responses_equal_the_model_below_diffraction_and_are_masked_above(thz_small):
    data = thz_small
    valid = data.responses["valid"]
    config = NanogapConfig()
    assert np.array_equal(valid, data.freqs[None, :] <= diffraction_frequency(data.designs, config)[:, None])
    assert valid.any(axis=1).all() and (~valid).any()
    reference = thz.spectra(thz_batch(data.designs, config), data.freqs)
    np.testing.assert_allclose(data.responses["t"][valid], reference.t[valid], rtol=1e-12)
    np.testing.assert_allclose(data.responses["r"][valid], reference.r[valid], rtol=1e-12)
    assert np.all(data.responses["t"][~valid] == 0)


def test_acoustic_responses_hold_the_curve_its_band_average_and_f1(acoustic_small):
    data = acoustic_small
    config = PlateCavityConfig(band=(20.0, 60.0))
    grid = CavityGrid(config)
    assert np.array_equal(data.freqs, config.band_frequencies)
    assert np.array_equal(data.designs, grid.columns(data.index))

    batch = grid.batch(data.index)
    response = acoustic.responses(batch, data.freqs, config.n_plate, config.n_transverse)
    np.testing.assert_allclose(data.responses["lp_avg"], response.lp_avg, rtol=1e-12)
    np.testing.assert_allclose(data.responses["j"], acoustic.band_level(response), rtol=1e-12)
    np.testing.assert_allclose(data.responses["f1"], acoustic.first_coupled_frequencies(batch, 8, 8), rtol=1e-12)


def test_same_seed_writes_an_identical_file_with_provenance(tmp_path, thz_small):
    a = write_dataset(thz_small, tmp_path / "a.h5")
    b = write_dataset(make_dataset("thz", 24, seed=3, points=16), tmp_path / "b.h5")
    assert a.read_bytes() == b.read_bytes()
    back = read_dataset(a)
    assert back.attrs["seed"] == 3 and back.attrs["sampler"].startswith("scipy.stats.qmc.Sobol")
    assert back.attrs["band"] == [0.05e12, 0.5e12] and back.attrs["model"]["k_periods"] == 40.0
    assert back.attrs["env"]["target_frequency"] == 0.2e12 and "workbench_version" in back.attrs
    for name in ("t", "r", "valid"):
        assert np.array_equal(back.responses[name], thz_small.responses[name])


def test_reading_a_truncated_or_incomplete_file_names_the_file_and_the_gap(tmp_path, acoustic_small):
    path = write_dataset(acoustic_small, tmp_path / "a.h5")
    with h5py.File(path, "a") as f:
        del f["responses/f1"]
    with pytest.raises(ValueError, match=r"a\.h5 lacks the dataset 'responses/f1'"):
        read_dataset(path)
    truncated = tmp_path / "t.h5"
    truncated.write_bytes(write_dataset(acoustic_small, tmp_path / "b.h5").read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"t\.h5 is not a readable HDF5 file"):
        read_dataset(truncated)
    with pytest.raises(ValueError, match="does not exist"):
        read_dataset(tmp_path / "missing.h5")


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("thz", {"n": 0}, "n must be an integer >= 1; got n=0"),
        ("thz", {"n": 4, "points": 2}, "points must be an integer >= 8"),
        ("thz", {"n": 4, "band": (5e11, 1e11)}, "band must be"),
        ("acoustic", {"n": 4, "batch": 0}, "batch must be an integer >= 1"),
        ("sound", {"n": 4}, "kind must be one of thz, acoustic"),
    ],
)
def test_bad_dataset_arguments_are_refused(kind, options, message):
    n = options.pop("n")
    with pytest.raises(ValueError, match=message):
        make_dataset(kind, n, **options)


def test_concat_fills_in_settings_an_older_file_lacks_and_refuses_another_env():
    new = make_dataset("acoustic", 4, seed=0, env={"band": (20.0, 40.0)})
    old_env = {k: v for k, v in new.attrs["env"].items() if k != "move_steps"}  # written before move_steps existed
    old = replace(new.subset(np.arange(2)), attrs={**new.attrs, "env": old_env})
    joined = old.concat(new)
    assert len(joined) == 6 and joined.attrs["env"]["move_steps"] == [1]
    other = replace(old, attrs={**old.attrs, "env": {**old_env, "lz": [0.2, 0.5, 0.05]}})
    with pytest.raises(ValueError, match="same kind, frequencies and env settings"):
        other.concat(new)
