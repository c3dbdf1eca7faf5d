"""Training data of the surrogates: space-filling designs, physics responses, HDF5 files with provenance.

Designs are grid indices of an env's design grid (``envs.nanogap.DesignGrid``,
``envs.plate_cavity.CavityGrid``) drawn with a scrambled Sobol sequence over the grid's index box
and kept when the env's own ``valid`` accepts them, so every design is one an agent can reach.
Responses come from the Numba models in batches (one call per batch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import h5py
import numba
import numpy as np
import scipy
from scipy.stats import qmc
from tqdm.auto import tqdm

from analytic import acoustic, thz
from envs.nanogap import DESIGN_PARAMETERS, DesignGrid, NanogapConfig
from envs.plate_cavity import CavityGrid, PlateCavityConfig, design_parameters

from .. import __version__

KINDS = ("thz", "acoustic")
"""Surrogate families: ``"thz"`` (nanogap-loop spectra) and ``"acoustic"`` (plate-backed cavities)."""

THZ_BAND = (0.05e12, 0.5e12)
"""Default THz band, Hz."""
THZ_POINTS = 128
"""Default number of THz band frequencies (uniform grid)."""
K_PERIODS = 40.0
"""Lattice cut of the THz model used for every dataset (``thz.spectra`` default)."""

_MASK_CHUNK = 16  # THz: frequencies are computed up to the first diffraction order, rounded up to this many points
_SAMPLER = "scipy.stats.qmc.Sobol(scramble=True), grid index box low..high, rejected unless grid.valid"
_RESPONSES = {"thz": ("t", "r", "valid"), "acoustic": ("lp_avg", "j", "f1")}


def _plain(value: Any) -> Any:
    """Config values as JSON: complex → [re, im], dataclasses → dicts, tuples → lists."""
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, np.generic):
        return value.item()
    return value


def env_settings(config: NanogapConfig | PlateCavityConfig) -> dict[str, Any]:
    """The env config as a JSON-ready mapping (complex permittivities as [re, im])."""
    return {f.name: _plain(getattr(config, f.name)) for f in fields(config)}


def config_from_settings(kind: str, settings: Mapping[str, Any]) -> NanogapConfig | PlateCavityConfig:
    """Inverse of :func:`env_settings`: the env config of a dataset or checkpoint."""
    if kind == "acoustic":
        return PlateCavityConfig.from_mapping(settings)
    values = dict(settings)
    for name in ("eps_gap", "eps_substrate", "eps_superstrate"):
        if isinstance(values[name], list):
            values[name] = complex(*values[name])
    if isinstance(values["metal"], dict):
        values["metal"] = thz.Drude(**values["metal"])
    return NanogapConfig.from_mapping(values)


@dataclass(frozen=True)
class Dataset:
    """Designs and physics responses of one family.

    Attributes:
        kind: ``"thz"`` or ``"acoustic"``.
        index: (n, d) int64 grid indices of the env's design grid.
        designs: (n, d) float64 design values in the env's design order: THz lengths (m) in
            ``envs.nanogap.DESIGN_PARAMETERS`` order; acoustic ``CavityGrid.columns`` (density
            kg/m³, thickness/lx/ly/lz m, per mass x/lx, y/ly and kg).
        freqs: (n_freq,) float64, Hz.
        responses: THz: ``t``, ``r`` (n, n_freq) complex128 zero-order transmission/reflection
            (0 where masked) and ``valid`` (n, n_freq) bool (False above the first diffraction
            order); acoustic: ``lp_avg`` (n, n_freq) dB re 20 µPa, ``j`` (n,) dB (trapezoid band
            average of lp_avg) and ``f1`` (n,) Hz (first coupled natural frequency).
        attrs: provenance: package version, env settings, model settings, band, sampler, seed.
    """

    kind: str
    index: np.ndarray
    designs: np.ndarray
    freqs: np.ndarray
    responses: dict[str, np.ndarray]
    attrs: dict[str, Any]

    def __len__(self) -> int:
        return self.index.shape[0]

    def subset(self, rows: np.ndarray) -> Dataset:
        """The designs ``rows`` (an index array or bool mask) of this dataset."""
        responses = {k: (v if v.ndim == 0 else v[rows]) for k, v in self.responses.items()}
        return Dataset(self.kind, self.index[rows], self.designs[rows], self.freqs, responses, self.attrs)

    def concat(self, other: Dataset) -> Dataset:
        """This dataset followed by ``other`` (same kind, frequencies and env).

        Env settings are compared after filling in defaults, so a file written before a setting
        existed joins one that records the setting at its default; the result records them all.
        """
        env = env_settings(config_from_settings(self.kind, self.attrs["env"]))
        if (
            other.kind != self.kind
            or not np.array_equal(other.freqs, self.freqs)
            or env_settings(config_from_settings(other.kind, other.attrs["env"])) != env
        ):
            raise ValueError("datasets to join need the same kind, frequencies and env settings")
        seeds = [*np.atleast_1d(self.attrs["seed"]).tolist(), *np.atleast_1d(other.attrs["seed"]).tolist()]
        responses = {k: np.concatenate([v, other.responses[k]]) for k, v in self.responses.items()}
        return Dataset(
            self.kind,
            np.concatenate([self.index, other.index]),
            np.concatenate([self.designs, other.designs]),
            self.freqs,
            responses,
            {**self.attrs, "env": env, "seed": seeds},
        )


def _check_count(name: str, value: Any, low: int) -> int:
    if not (isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low):
        raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")
    return int(value)


def sobol_indices(grid: DesignGrid | CavityGrid, n: int, seed: int) -> np.ndarray:
    """(n, d) int64 valid grid indices from a scrambled Sobol sequence over the grid's ``low..high`` box.

    Points u ∈ [0, 1)^d map to low + ⌊u·(high − low + 1)⌋; rows the grid rejects are skipped and
    the sequence continues (in powers of two) until n valid designs are found. The same seed gives
    the same designs.
    """
    n = _check_count("n", n, 1)
    sampler = qmc.Sobol(grid.dim, scramble=True, seed=np.random.default_rng(seed))
    span = grid.high - grid.low + 1
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        draw = 2 ** max(6, math.ceil(math.log2(max(2 * (n - count), 1))))
        index = grid.low + np.minimum(np.floor(sampler.random(draw) * span).astype(np.int64), span - 1)
        hits = index[grid.valid(index)]
        found.append(hits)
        count += len(hits)
    return np.concatenate(found)[:n]


def _batches(n: int, batch: int, progress: bool, label: str) -> tqdm:
    return tqdm(range(0, n, batch), total=math.ceil(n / batch), desc=label, unit="batch", disable=not progress)


def diffraction_frequency(lengths: np.ndarray, config: NanogapConfig) -> np.ndarray:
    """(n, 6) THz design lengths (DESIGN_PARAMETERS order, m) → (n,) first diffraction order c/(n_max·max Λ), Hz."""
    period = np.maximum(
        lengths[:, DESIGN_PARAMETERS.index("period_x")], lengths[:, DESIGN_PARAMETERS.index("period_y")]
    )
    return thz.C0 / (config.n_max * period)


def thz_batch(lengths: np.ndarray, config: NanogapConfig) -> thz.LoopArrayBatch:
    """(n, 6) lengths in DESIGN_PARAMETERS order (m) → the loop arrays with the env's materials."""
    columns = {name: lengths[:, i] for i, name in enumerate(DESIGN_PARAMETERS)}
    materials = {name: getattr(config, name) for name in ("eps_gap", "eps_substrate", "eps_superstrate", "metal")}
    return thz.LoopArrayBatch(**columns, **materials)


def thz_responses(
    lengths: np.ndarray, freqs: np.ndarray, config: NanogapConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, 6) lengths → t, r (n, n_freq) complex and valid (n, n_freq) bool.

    Each design is computed only up to its first diffraction order (rounded up to 16 points);
    masked entries are 0.
    """
    n, m = len(lengths), len(freqs)
    valid = freqs[None, :] <= diffraction_frequency(lengths, config)[:, None]
    t = np.zeros((n, m), complex)
    r = np.zeros((n, m), complex)
    width = np.minimum(np.ceil(valid.sum(axis=1) / _MASK_CHUNK).astype(int) * _MASK_CHUNK, m)
    for w in np.unique(width):
        rows = np.flatnonzero(width == w)
        if w == 0:
            continue
        spec = thz.spectra(thz_batch(lengths[rows], config), freqs[:w], k_periods=K_PERIODS)
        t[rows, :w], r[rows, :w] = spec.t, spec.r
    t[~valid] = 0.0
    r[~valid] = 0.0
    return t, r, valid


def _provenance(kind: str, config: Any, seed: int, model: dict[str, Any], band: tuple[float, float]) -> dict:
    return {
        "kind": kind,
        "workbench_version": __version__,
        "numba_version": numba.__version__,
        "scipy_version": scipy.__version__,
        "env": env_settings(config),
        "model": model,
        "band": list(band),
        "sampler": _SAMPLER,
        "seed": int(seed),
    }


def thz_dataset(
    n: int,
    seed: int = 0,
    env: Mapping[str, Any] | None = None,
    band: tuple[float, float] = THZ_BAND,
    points: int = THZ_POINTS,
    batch: int = 1024,
    progress: bool = False,
) -> Dataset:
    """Sobol designs of the nanogap env's valid space and their spectra on a uniform band grid.

    Args:
        n: designs, ≥ 1. seed: Sobol scramble seed.
        env: ``NanogapConfig`` keys (bounds, margin, target_frequency, materials); the target
            frequency bounds the periods, as in the env.
        band: (f_lo, f_hi), Hz, 0 < f_lo < f_hi. points: band frequencies, ≥ 8.
        batch: designs per ``thz.spectra`` call. progress: show a tqdm bar (stderr).

    Returns:
        :class:`Dataset` with ``t``, ``r`` and ``valid``; frequencies above a design's first
        diffraction order are masked (valid False, t = r = 0).
    """
    config = NanogapConfig.from_mapping(env or {})
    points = _check_count("points", points, 8)
    batch = _check_count("batch", batch, 1)
    n = _check_count("n", n, 1)
    if not (len(band) == 2 and 0 < band[0] < band[1] and all(math.isfinite(b) for b in band)):
        raise ValueError(f"band must be (f_lo, f_hi) with 0 < f_lo < f_hi, Hz; got band={band!r}")
    grid = DesignGrid(config)
    index = sobol_indices(grid, n, seed)
    lengths = grid.lengths(index)
    freqs = np.linspace(band[0], band[1], points)
    t = np.zeros((n, points), complex)
    r = np.zeros((n, points), complex)
    valid = np.zeros((n, points), bool)
    for start in _batches(n, batch, progress, "thz spectra"):
        rows = slice(start, start + batch)
        t[rows], r[rows], valid[rows] = thz_responses(lengths[rows], freqs, config)
    model = {"model": "analytic.thz.spectra", "method": "numba", "k_periods": K_PERIODS, "points": points}
    attrs = _provenance("thz", config, seed, model, (band[0], band[1]))
    return Dataset("thz", index, lengths, freqs, {"t": t, "r": r, "valid": valid}, attrs)


def acoustic_config(env: Mapping[str, Any] | PlateCavityConfig | None) -> PlateCavityConfig:
    """The plate-cavity config of a surrogate: ``env`` keys over the defaults."""
    return PlateCavityConfig.from_mapping(env or {})


def acoustic_responses(
    batch: acoustic.CavityBatch, freqs: np.ndarray, n_plate: int, n_transverse: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L_p,avg (n, n_freq) dB, J (n,) dB and f1 (n,) Hz of a batch from the Numba model and the f1 bisection."""
    response = acoustic.responses(batch, freqs, n_plate, n_transverse)
    return (
        response.lp_avg,
        acoustic.band_level(response),
        acoustic.first_coupled_frequencies(batch, n_plate, n_transverse),
    )


def acoustic_dataset(
    n: int,
    seed: int = 0,
    env: Mapping[str, Any] | None = None,
    batch: int = 64,
    progress: bool = False,
) -> Dataset:
    """Sobol designs of the plate-cavity env's valid space with L_p,avg on its band grid, J and f1.

    Args:
        n: designs, ≥ 1. seed: Sobol scramble seed.
        env: ``PlateCavityConfig`` keys; the objective picks the design space (``"quiet"``, the
            default, admits only the plates the mode set resolves), the band grid is the env's
            ``band_frequencies``, and n_plate/n_transverse are the env's mode counts.
        batch: designs per model call. progress: show a tqdm bar (stderr).

    Returns:
        :class:`Dataset` with ``lp_avg``, ``j`` and ``f1``.
    """
    config = acoustic_config(env)
    n = _check_count("n", n, 1)
    batch = _check_count("batch", batch, 1)
    grid = CavityGrid(config)
    index = sobol_indices(grid, n, seed)
    freqs = config.band_frequencies
    lp = np.zeros((n, len(freqs)))
    j = np.zeros(n)
    f1 = np.zeros(n)
    for start in _batches(n, batch, progress, "acoustic responses"):
        rows = slice(start, start + batch)
        lp[rows], j[rows], f1[rows] = acoustic_responses(
            grid.batch(index[rows]), freqs, config.n_plate, config.n_transverse
        )
    model = {
        "model": "analytic.acoustic.responses + analytic.acoustic.first_coupled_frequencies",
        "method": "numba",
        "n_plate": config.n_plate,
        "n_transverse": config.n_transverse,
        "columns": list(design_parameters(config.n_masses)),
    }
    attrs = _provenance("acoustic", config, seed, model, config.band)
    return Dataset("acoustic", index, grid.columns(index), freqs, {"lp_avg": lp, "j": j, "f1": f1}, attrs)


def make_dataset(kind: str, n: int, seed: int = 0, env: Mapping[str, Any] | None = None, **options: Any) -> Dataset:
    """:func:`thz_dataset` or :func:`acoustic_dataset` by ``kind``."""
    if kind == "thz":
        return thz_dataset(n, seed, env, **options)
    if kind == "acoustic":
        return acoustic_dataset(n, seed, env, **options)
    raise ValueError(f"kind must be one of {', '.join(KINDS)}; got kind={kind!r}")


def write_dataset(dataset: Dataset, path: str | Path) -> Path:
    """Write ``dataset`` to an HDF5 file (no timestamps: the same data gives the same bytes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["provenance"] = json.dumps(dataset.attrs, sort_keys=True, allow_nan=False)
        for name, value in (("index", dataset.index), ("designs", dataset.designs), ("freqs", dataset.freqs)):
            f.create_dataset(name, data=value, track_times=False)
        group = f.create_group("responses", track_order=True)
        for name, value in dataset.responses.items():
            group.create_dataset(name, data=value, track_times=False)
    return path


def read_dataset(path: str | Path) -> Dataset:
    """Read a file written by :func:`write_dataset`.

    Raises:
        ValueError: the file does not exist, is not HDF5 or is truncated, or lacks a dataset or
            attribute (the message names the file and what is missing).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"dataset file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            if "provenance" not in f.attrs:
                raise ValueError(f"dataset file {path} lacks the 'provenance' attribute")
            attrs = json.loads(f.attrs["provenance"])
            kind = attrs.get("kind")
            if kind not in KINDS:
                raise ValueError(f"dataset file {path}: provenance kind must be one of {KINDS}; got {kind!r}")
            arrays = {}
            for name in ("index", "designs", "freqs", *(f"responses/{r}" for r in _RESPONSES[kind])):
                if name not in f:
                    raise ValueError(f"dataset file {path} lacks the dataset '{name}'")
                arrays[name] = f[name][()]
    except OSError as error:
        raise ValueError(f"dataset file {path} is not a readable HDF5 file (truncated?): {error}") from None
    n = arrays["index"].shape[0]
    for name, value in arrays.items():
        if name != "freqs" and value.shape[:1] != (n,):
            raise ValueError(f"dataset file {path}: '{name}' has {value.shape[:1]} rows; 'index' has {n}")
    responses = {name.split("/")[1]: value for name, value in arrays.items() if name.startswith("responses/")}
    return Dataset(kind, arrays["index"], arrays["designs"], arrays["freqs"], responses, attrs)
