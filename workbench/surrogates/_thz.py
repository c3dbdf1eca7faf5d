"""THz whole-spectrum surrogate: design → complex t(f) and r(f) of a nanogap-loop array on a band.

Three output heads share one MLP trunk and one loss (masked squared error of ln|t| and of the
wrapped phase, reflection at a quarter weight):

- ``"mlp"``: the trunk emits ln|t|, arg t, ln|r|, arg r at every band frequency.
- ``"physics"``: a rational (pole–zero) form per response,
  ln t(f) = Σ_j c_j x^j + Σ_k [ln(x − z_k) − ln(x − p_k)] + Σ_i a_i ln(1 − (f/f_R,i)²),
  x = f/f_hi: a smooth complex background (degree 4), K complex poles p_k (Im < 0, the
  resonances, a Lorentz line shape each) with their zeros z_k, and the Rayleigh anomalies at
  their known frequencies f_R,i = c/(n_max·Λ_i) (i = x, y), where the first diffraction orders
  graze and the zero-order transmission dips (a_i ≥ 0). The trunk predicts the coefficients; the
  t part is evaluable at any frequency. r (which no objective reads) comes per band frequency, as
  in ``"mlp"``.
- ``"hybrid"``: the physics head plus a per-frequency correction of ln t from the trunk
  (last layer zero-initialised).

Per-frequency outputs are interpolated linearly between band points when asked off the grid.

Field enhancement needs no learning: FE = |t|/β with β = wP/A from the geometry.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from analytic import thz
from envs.nanogap import DESIGN_PARAMETERS, DesignGrid, NanogapConfig

from ._datasets import K_PERIODS, Dataset, config_from_settings, env_settings, thz_batch
from ._training import FitResult, Standardiser, fit, mlp, split

HEADS = ("mlp", "physics", "hybrid")
"""Output heads of the THz surrogate."""

_DEGREE = 4
_N_POLES = 2
_N_RATIONAL = 2 * (_DEGREE + 1) + 4 * _N_POLES + 2
_LOG_T_FLOOR = -60.0  # ln|t| clip of predictions, keeps every field finite
_KAPPA, _ELL = 1.15, 6.0  # calibration constants of the thin-film resonance rule f ≈ κc/(n_eff·P)
_COL = {name: i for i, name in enumerate(DESIGN_PARAMETERS)}
_PHASE_WEIGHT = 0.25
_R_WEIGHT = 0.25


def _indices(*names: str) -> list[int]:
    return [_COL[name] for name in names]


def thz_features(lengths: np.ndarray, eps: tuple[complex, complex, complex], n_max: float) -> np.ndarray:
    """(n, 6) lengths (DESIGN_PARAMETERS order, m) → (n, 14) float64 raw features.

    ln of the six lengths, of the perimeter P = 2(l_x + l_y), of β = wP/A, of h/w, of the
    thin-film resonance estimate κc/(n_eff·P) with n_eff² = (ε_I + ε_III)/2 + π ε_g h/(2ℓw)
    (κ = 1.15, ℓ = 6), of the two Rayleigh frequencies c/(n_max·Λ_x,y), and l_y/P (which sets the
    zero-order overlap S0 ∝ sin(π l_y/P)). ``eps`` = (ε_gap, ε_substrate, ε_superstrate).
    """
    sx, sy, px, py, w, h = (lengths[:, i] for i in _indices(*DESIGN_PARAMETERS))
    perimeter = 2.0 * (sx + sy)
    eps_gap, eps_sub, eps_sup = (complex(e).real for e in eps)
    n_eff = np.sqrt((eps_sub + eps_sup) / 2.0 + math.pi / (2.0 * _ELL) * eps_gap * h / w)
    columns = [np.log(lengths)]
    for value in (
        perimeter,
        w * perimeter / (px * py),
        h / w,
        _KAPPA * thz.C0 / (n_eff * perimeter),
        thz.C0 / (n_max * px),
        thz.C0 / (n_max * py),
    ):
        columns.append(np.log(value)[:, None])
    columns.append((sy / perimeter)[:, None])
    return np.concatenate(columns, axis=1)


def _rational(coef: torch.Tensor, x: torch.Tensor, rayleigh_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ln|·|, arg) of the rational form of the module docstring, each (n, m).

    Args:
        coef: (n, _N_RATIONAL) raw trunk outputs. x: (n, m) f/f_hi, or (1, m) shared by every row.
        rayleigh_x: (n, m, 2) f/f_R,i.
    """
    n_bg = _DEGREE + 1
    if x.shape[0] == 1:  # one grid for all rows: the background is a matrix product
        powers = torch.cat([x**j for j in range(n_bg)])  # (n_bg, m)
        real, imag = coef[:, :n_bg] @ powers, coef[:, n_bg : 2 * n_bg] @ powers
    else:
        powers = torch.stack([x**j for j in range(n_bg)], dim=-1)
        real = (powers * coef[:, None, :n_bg]).sum(-1)
        imag = (powers * coef[:, None, n_bg : 2 * n_bg]).sum(-1)
    k0 = 2 * n_bg
    for k in range(_N_POLES):  # (x − z)/(x − p) of one pole and its zero: one log and one atan2
        o = k0 + 4 * k
        pole_c, zero_c = 1.5 * torch.sigmoid(coef[:, o : o + 1]), 1.5 * torch.sigmoid(coef[:, o + 2 : o + 3])
        pole_w = nn.functional.softplus(coef[:, o + 1 : o + 2]) + 1e-3
        zero_w = nn.functional.softplus(coef[:, o + 3 : o + 4]) + 1e-3
        zr, pr = x - zero_c, x - pole_c  # x − z = zr + i·zero_w, x − p = pr + i·pole_w
        real = real + 0.5 * torch.log((zr**2 + zero_w**2) / (pr**2 + pole_w**2))
        imag = imag + torch.atan2(zero_w * pr - zr * pole_w, zr * pr + zero_w * pole_w)
    a = nn.functional.softplus(coef[:, None, k0 + 4 * _N_POLES : k0 + 4 * _N_POLES + 2])
    real = real + (a * torch.log(torch.clamp(1.0 - rayleigh_x**2, min=1e-6))).sum(-1)
    return real, imag


class ThzNet(nn.Module):
    """Trunk MLP and output head; ``forward`` gives (ln t, ln r) as (real, imag) pairs of (n, m) tensors.

    Args:
        n_features: standardised inputs. freqs: (m,) band grid, Hz. head: one of :data:`HEADS`.
        width, depth: trunk MLP size.
    """

    def __init__(self, n_features: int, freqs: np.ndarray, head: str, width: int, depth: int) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}; got head={head!r}")
        self.head = head
        self.f_hi = float(freqs[-1])
        self.register_buffer("freqs", torch.as_tensor(freqs, dtype=torch.float32))
        m = len(freqs)
        n_out = {"mlp": 4 * m, "physics": _N_RATIONAL + 2 * m, "hybrid": _N_RATIONAL + 4 * m}[head]
        self.net = mlp(n_features, n_out, width, depth)
        if head == "hybrid":
            last = self.net[-1]
            with torch.no_grad():
                last.weight[_N_RATIONAL + 2 * m :].zero_()
                last.bias[_N_RATIONAL + 2 * m :].zero_()

    def forward(
        self, x: torch.Tensor, rayleigh: torch.Tensor, freqs: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ln|t|, arg t, ln|r|, arg r), each (n, m): on the band grid, or at ``freqs`` (n, m) Hz (physics parts)."""
        out = self.net(x)
        n, m = x.shape[0], len(self.freqs)
        if self.head == "mlp":
            a, p, ar, pr = out.view(n, 4, m).unbind(1)
            return a, p, ar, pr
        grid = self.freqs[None, :] if freqs is None else freqs
        log_t, phase_t = _rational(out[:, :_N_RATIONAL], grid / self.f_hi, grid[:, :, None] / rayleigh[:, None, :])
        per_freq = out[:, _N_RATIONAL:].view(n, -1, m)
        if freqs is not None:
            per_freq = torch.stack([_interp_torch(v, self.freqs, freqs) for v in per_freq.unbind(1)], dim=1)
        log_r, phase_r = per_freq[:, 0], per_freq[:, 1]
        if self.head == "hybrid":
            log_t, phase_t = log_t + per_freq[:, 2], phase_t + per_freq[:, 3]
        return log_t, phase_t, log_r, phase_r


def _interp_torch(values: torch.Tensor, grid: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of (n, m) ``values`` on the uniform ``grid`` at (n, k) ``freqs`` (clamped to the grid)."""
    m = grid.shape[0]
    u = torch.clamp((freqs - grid[0]) / (grid[1] - grid[0]), 0.0, m - 1.0)
    i = torch.clamp(u.floor().long(), max=m - 2)
    w = u - i
    return torch.gather(values, 1, i) * (1 - w) + torch.gather(values, 1, i + 1) * w


def _wrap(angle: torch.Tensor) -> torch.Tensor:
    return torch.atan2(torch.sin(angle), torch.cos(angle))


def _loss(model: ThzNet, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    x, rayleigh, log_t, phase_t, log_r, phase_r, mask = batch
    a, p, ar, pr = model(x, rayleigh)
    err = (a - log_t) ** 2 + _PHASE_WEIGHT * _wrap(p - phase_t) ** 2
    err = err + _R_WEIGHT * ((ar - log_r) ** 2 + _PHASE_WEIGHT * _wrap(pr - phase_r) ** 2)
    return (err * mask).sum() / mask.sum()


class ThzSurrogate:
    """A trained THz spectrum surrogate with the physics-model protocol ``spectra(batch, freqs)``.

    Designs inside the training box and frequencies inside the band are answered by the network;
    other rows (and every row of a call with a frequency outside the band) are evaluated by the
    Numba model and counted in ``physics_evaluations``.

    Attributes:
        metadata: checkpoint metadata (version, band, freqs, bounds, env settings, normalisation,
            network settings, training record).
        net: the torch network (float32, eval mode).
        surrogate_evaluations, physics_evaluations: designs answered by each path so far.
        out_of_bounds: designs flagged as outside the training box so far.
    """

    kind = "thz"

    def __init__(self, metadata: dict[str, Any], net: ThzNet) -> None:
        self.metadata = metadata
        self.net = net.eval()
        self.features = Standardiser.from_dict(metadata["features"])
        config = config_from_settings("thz", metadata["env"])
        self.eps = (complex(config.eps_gap), complex(config.eps_substrate), complex(config.eps_superstrate))
        self.metal = metadata["env"]["metal"]
        self.n_max = config.n_max
        self.band = tuple(metadata["band"])
        self.low = np.asarray(metadata["bounds"]["low"], float)
        self.high = np.asarray(metadata["bounds"]["high"], float)
        self.surrogate_evaluations = 0
        self.physics_evaluations = 0
        self.out_of_bounds = 0

    def fit(
        self,
        dataset: Dataset,
        epochs: int,
        batch_size: int = 256,
        lr: float = 2e-3,
        seed: int = 0,
        time_budget_s: float | None = None,
        progress: bool = False,
    ) -> FitResult:
        """Train the network on ``dataset`` (10 % held out) with the fixed normalisation; see :func:`fit`."""
        raw = thz_features(dataset.designs, self.eps, self.n_max)
        tensors = [self.features(raw), np.exp(raw[:, 11:13]), *_targets(dataset)]
        tensors = [torch.as_tensor(a, dtype=torch.float32) for a in tensors]
        train_rows, val_rows = split(len(dataset), 0.1, seed)
        train, val = tuple(t[train_rows] for t in tensors), tuple(t[val_rows] for t in tensors)
        result = fit(self.net, _loss, train, val, epochs, batch_size, lr, seed, time_budget_s, progress)
        self.net.eval()
        return result

    def check(self, config: NanogapConfig) -> None:
        """Refuse an env config whose materials, bounds or target disagree with the checkpoint.

        Raises:
            ValueError: naming the field, the checkpoint's value and the env's value.
        """
        env = env_settings(config)
        mine = self.metadata["env"]
        for name in ("eps_gap", "eps_substrate", "eps_superstrate", "metal", *DESIGN_PARAMETERS, "margin"):
            if env[name] != mine[name]:
                raise ValueError(
                    f"surrogate checkpoint disagrees with the env on {name}: checkpoint {name}={mine[name]!r}, "
                    f"env {name}={env[name]!r}"
                )
        lo, hi = self.band
        if not lo <= config.target_frequency <= hi:
            raise ValueError(
                f"surrogate checkpoint disagrees with the env on target_frequency: checkpoint band=({lo:g}, {hi:g}) Hz, "
                f"env target_frequency={config.target_frequency:g} Hz"
            )

    def _check_materials(self, batch: thz.LoopArrayBatch) -> None:
        given = (complex(batch.eps_gap), complex(batch.eps_substrate), complex(batch.eps_superstrate))
        for name, mine, theirs in zip(("eps_gap", "eps_substrate", "eps_superstrate"), self.eps, given):
            if mine != theirs:
                raise ValueError(
                    f"surrogate checkpoint disagrees with the batch on {name}: checkpoint {name}={mine!r}, "
                    f"batch {name}={theirs!r}"
                )
        metal = env_settings(NanogapConfig(metal=batch.metal))["metal"]
        if metal != self.metal:
            raise ValueError(
                f"surrogate checkpoint disagrees with the batch on metal: checkpoint metal={self.metal!r}, "
                f"batch metal={metal!r}"
            )

    def design_columns(self, batch: thz.LoopArrayBatch) -> np.ndarray:
        """(n, 6) lengths of a batch in ``envs.nanogap.DESIGN_PARAMETERS`` order, m."""
        return batch.geometry_matrix()[:, [thz.GEOMETRY_FIELDS.index(name) for name in DESIGN_PARAMETERS]]

    def inside(self, lengths: np.ndarray) -> np.ndarray:
        """(n, 6) lengths (DESIGN_PARAMETERS order, m) → (n,) bool: inside the training box (1e-9 relative)."""
        tol = 1e-9 * np.abs(self.high)
        return np.all((lengths >= self.low - tol) & (lengths <= self.high + tol), axis=1)

    def predict(self, lengths: np.ndarray, freqs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Network answer: (n, m) complex t and r on the band grid, or at (n, m) ``freqs`` (Hz)."""
        raw = thz_features(lengths, self.eps, self.n_max)
        x = torch.as_tensor(self.features(raw), dtype=torch.float32)
        rayleigh = torch.as_tensor(np.exp(raw[:, 11:13]), dtype=torch.float32)
        on_grid = freqs is not None and np.shape(freqs)[-1] == len(self.net.freqs)
        if on_grid and np.array_equal(np.asarray(freqs), np.broadcast_to(self.metadata["freqs"], np.shape(freqs))):
            freqs = None  # the band grid itself: no interpolation
        f = None if freqs is None else torch.tensor(np.asarray(freqs), dtype=torch.float32)
        with torch.inference_mode():
            if self.net.head == "mlp" and f is not None:
                a, p, ar, pr = (_interp_torch(v, self.net.freqs, f) for v in self.net(x, rayleigh))
            else:
                a, p, ar, pr = self.net(x, rayleigh, f)
            t, r = (
                torch.polar(torch.exp(torch.clamp(m, _LOG_T_FLOOR, 5.0).double()), q.double())
                for m, q in ((a, p), (ar, pr))
            )
        return t.numpy(), r.numpy()

    def spectra(self, batch: thz.LoopArrayBatch, freqs: np.ndarray) -> thz.Spectrum:
        """The protocol call: Spectrum of every design (arrays (n_geom, n_freq)), all fields finite.

        Args:
            batch: loop arrays with the checkpoint's materials.
            freqs: (n_freq,) or (n_geom, n_freq) Hz, positive.

        Raises:
            ValueError: the batch's materials disagree with the checkpoint, or bad frequencies.
        """
        if not isinstance(batch, thz.LoopArrayBatch):
            batch = thz.LoopArrayBatch.from_arrays(list(batch))
        self._check_materials(batch)
        grid = np.asarray(freqs, dtype=np.float64)
        if grid.ndim not in (1, 2) or grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
            raise ValueError(
                f"freqs must be a non-empty (n_freq,) or (n_geom, n_freq) array of positive Hz; got {grid!r}"
            )
        n = len(batch)
        grid = np.broadcast_to(grid, (n, grid.shape[-1])) if grid.ndim == 1 else grid
        if grid.shape[0] != n:
            raise ValueError(f"freqs of shape (n_geom, n_freq) needs n_geom={n} rows; got shape {grid.shape}")
        lengths = self.design_columns(batch)
        inside = self.inside(lengths)
        lo, hi = self.band
        in_band = np.all((grid >= lo * (1 - 1e-12)) & (grid <= hi * (1 + 1e-12)), axis=1)
        use = inside & in_band
        self.out_of_bounds += int((~inside).sum())
        t = np.zeros(grid.shape, complex)
        r = np.zeros(grid.shape, complex)
        if use.any():
            t[use], r[use] = self.predict(lengths[use], np.ascontiguousarray(grid[use]))
            self.surrogate_evaluations += int(use.sum())
        if (~use).any():
            rows = np.flatnonzero(~use)
            physics = thz.spectra(thz_batch(lengths[rows], _config_of(batch)), grid[rows], k_periods=K_PERIODS)
            t[rows], r[rows] = physics.t, physics.r
            self.physics_evaluations += len(rows)
        return thz.Spectrum.from_amplitudes(batch, grid, t, r)


def _config_of(batch: thz.LoopArrayBatch) -> NanogapConfig:
    return NanogapConfig(
        eps_gap=batch.eps_gap,
        eps_substrate=batch.eps_substrate,
        eps_superstrate=batch.eps_superstrate,
        metal=batch.metal,
    )


def _targets(dataset: Dataset) -> tuple[np.ndarray, ...]:
    valid = dataset.responses["valid"]
    t = np.where(valid, dataset.responses["t"], 1.0)
    r = np.where(valid, dataset.responses["r"], 1.0)
    return np.log(np.abs(t)), np.angle(t), np.log(np.abs(r)), np.angle(r), valid.astype(np.float64)


def build_thz(dataset: Dataset, head: str, width: int, depth: int, seed: int) -> ThzSurrogate:
    """An untrained surrogate whose normalisation and metadata come from ``dataset`` (kind ``"thz"``)."""
    if dataset.kind != "thz":
        raise ValueError(f"dataset kind must be 'thz'; got {dataset.kind!r}")
    env = dataset.attrs["env"]
    config = config_from_settings("thz", env)
    eps = (complex(config.eps_gap), complex(config.eps_substrate), complex(config.eps_superstrate))
    raw = thz_features(dataset.designs, eps, config.n_max)
    grid = DesignGrid(config)
    torch.manual_seed(seed)
    net = ThzNet(raw.shape[1], dataset.freqs, head, width, depth)
    metadata = {
        "kind": "thz",
        "format": 1,
        "workbench_version": dataset.attrs["workbench_version"],
        "band": dataset.attrs["band"],
        "freqs": dataset.freqs.tolist(),
        "env": env,
        "model": dataset.attrs["model"],
        "bounds": {
            "low": grid.lengths(grid.low).tolist(),
            "high": grid.lengths(grid.high).tolist(),
            "columns": list(DESIGN_PARAMETERS),
        },
        "features": Standardiser.fit(raw).to_dict(),
        "network": {"head": head, "width": width, "depth": depth},
    }
    return ThzSurrogate(metadata, net)


def train_thz(
    dataset: Dataset,
    head: str = "hybrid",
    width: int = 256,
    depth: int = 4,
    epochs: int = 60,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    time_budget_s: float | None = None,
    progress: bool = False,
) -> ThzSurrogate:
    """Train a THz surrogate on ``dataset`` (10 % held out for model selection); see :func:`fit`."""
    surrogate = build_thz(dataset, head, width, depth, seed)
    result = surrogate.fit(dataset, epochs, batch_size, lr, seed, time_budget_s, progress)
    surrogate.net.eval()
    surrogate.metadata["training"] = {
        "designs": len(dataset),
        "dataset_seed": dataset.attrs["seed"],
        "seed": seed,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "seconds": round(result.seconds, 1),
        "best_val_loss": result.best_val_loss,
        "batch_size": batch_size,
        "lr": lr,
        "time_budget_s": time_budget_s,
        "torch_threads": torch.get_num_threads(),
    }
    return surrogate


def _peak(values: np.ndarray, valid: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (frequency of the max of ``values`` over valid points, parabola-refined; max value; interior flag)."""
    masked = np.where(valid, values, -np.inf)
    i = np.argmax(masked, axis=1)
    rows = np.arange(len(values))
    n_valid = valid.sum(axis=1)
    interior = (i > 0) & (i < n_valid - 1)
    j = np.clip(i, 1, len(freqs) - 2)
    y0, y1, y2 = masked[rows, j - 1], masked[rows, j], masked[rows, j + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(interior & (denom < 0), 0.5 * (y0 - y2) / denom, 0.0)
    df = freqs[1] - freqs[0]
    return freqs[i] + np.clip(np.nan_to_num(shift), -1, 1) * df, masked[rows, i], interior


def evaluate_thz(surrogate: ThzSurrogate, dataset: Dataset) -> dict[str, Any]:
    """Accuracy of ``surrogate`` on the band grid of held-out ``dataset`` designs.

    Returns:
        ``median_abs_log10_fe_error``, ``p95_abs_log10_fe_error`` (over every valid band point;
        |Δlog10 FE| = |Δlog10 |t|| since β is exact), ``resonance_rel_error_p95`` (frequency of
        max |t| over the valid band, parabola-refined, designs whose true maximum is interior),
        ``peak_fe_rel_error_p95`` (max FE over the valid band, every design), and counts.
    """
    if not np.allclose(dataset.freqs, surrogate.metadata["freqs"], rtol=1e-12):
        raise ValueError("dataset frequencies differ from the surrogate's band grid")
    valid = dataset.responses["valid"]
    t_true = np.abs(np.where(valid, dataset.responses["t"], 1.0))
    t_pred = np.abs(surrogate.predict(dataset.designs)[0])
    err = np.abs(np.log10(t_pred) - np.log10(t_true))[valid]
    f_true, peak_true, interior = _peak(np.log(t_true), valid, dataset.freqs)
    f_pred, peak_pred, _ = _peak(np.log(t_pred), valid, dataset.freqs)
    res_err = np.abs(f_pred - f_true)[interior] / f_true[interior]
    peak_err = np.abs(np.exp(peak_pred - peak_true) - 1.0)
    return {
        "designs": len(dataset),
        "band_points": int(valid.sum()),
        "resonant_designs": int(interior.sum()),
        "median_abs_log10_fe_error": float(np.median(err)),
        "p95_abs_log10_fe_error": float(np.percentile(err, 95)),
        "resonance_rel_error_median": float(np.median(res_err)) if res_err.size else None,
        "resonance_rel_error_p95": float(np.percentile(res_err, 95)) if res_err.size else None,
        "peak_fe_rel_error_median": float(np.median(peak_err)),
        "peak_fe_rel_error_p95": float(np.percentile(peak_err, 95)),
    }
