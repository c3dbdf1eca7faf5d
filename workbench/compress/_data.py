"""Small physics-trained MLPs of the surrogates' shapes, used to measure the compression methods.

* ``thz``: design (6 grid positions in [0, 1], ``envs.nanogap`` order) → log10 gap-averaged field
  enhancement at 128 frequencies, 0.05–0.5 THz; 4 hidden layers of 256, SiLU. Points above the
  first diffraction order are masked in the loss and the error.
* ``acoustic``: design (11 grid positions: material, thickness, lx, ly, lz and two point masses)
  → band level J (dB); 3 hidden layers of 128, SiLU. The physics runs at a small mode count
  (``n_plate = n_transverse = 4``) to stay cheap.

Designs are drawn uniformly from each environment's valid design space; targets come from the
analytic models. Targets are standardised by one mean and standard deviation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from analytic import acoustic, thz
from envs.nanogap import DesignGrid, NanogapConfig
from envs.plate_cavity import CavityGrid, PlateCavityConfig

KINDS = ("thz", "acoustic")
THZ_BAND = (0.05e12, 0.5e12)
THZ_POINTS = 128
_ACOUSTIC = {"n_masses": 2, "n_plate": 4, "n_transverse": 4}


@dataclass
class PhysicsData:
    """Inputs and standardised targets of one surrogate kind.

    Attributes:
        kind: ``"thz"`` or ``"acoustic"``.
        x: (n, d_in) float32 grid positions in [0, 1].
        y: (n, d_out) float32 standardised targets, (target − mean)/std.
        valid: (n, d_out) bool, False where a target is masked (THz above diffraction).
        mean, std: standardisation of the targets (log10 FE, or J in dB).
    """

    kind: str
    x: torch.Tensor
    y: torch.Tensor
    valid: torch.Tensor
    mean: float
    std: float

    def split(self, n_first: int) -> tuple[PhysicsData, PhysicsData]:
        """The first ``n_first`` rows and the rest, sharing the standardisation."""
        head = PhysicsData(self.kind, self.x[:n_first], self.y[:n_first], self.valid[:n_first], self.mean, self.std)
        tail = PhysicsData(self.kind, self.x[n_first:], self.y[n_first:], self.valid[n_first:], self.mean, self.std)
        return head, tail


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")


def design_inputs(kind: str, n: int, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    """``n`` valid designs: (n, d) int64 grid indices and their (n, d) float32 inputs in [0, 1]."""
    _check_kind(kind)
    grid = DesignGrid(NanogapConfig()) if kind == "thz" else CavityGrid(PlateCavityConfig.from_mapping(_ACOUSTIC))
    index = grid.sample_many(np.random.default_rng(seed), n)
    return index, torch.as_tensor(grid.normalise(index), dtype=torch.float32)


def physics_data(
    kind: str,
    n: int,
    seed: int,
    metal: str = "gold",
    eps_gap: float = 9.0,
    stats: tuple[float, float] | None = None,
) -> PhysicsData:
    """Designs and their physics targets.

    Args:
        kind: ``"thz"`` or ``"acoustic"``.
        n: number of designs, ≥ 1.
        seed: seed of the design sampler.
        metal: THz loop metal (``thz.METALS``); ignored for acoustic.
        eps_gap: THz gap permittivity; ignored for acoustic.
        stats: (mean, std) to standardise with; None computes them from this data.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; got n={n}")
    index, x = design_inputs(kind, n, seed)
    if kind == "thz":
        lengths = DesignGrid(NanogapConfig()).lengths(index)
        batch = thz.LoopArrayBatch(
            side_x=lengths[:, 0],
            side_y=lengths[:, 1],
            period_x=lengths[:, 2],
            period_y=lengths[:, 3],
            gap=lengths[:, 4],
            thickness=lengths[:, 5],
            metal=metal,
            eps_gap=eps_gap,
        )
        spectra = thz.spectra(batch, np.linspace(*THZ_BAND, THZ_POINTS))
        target = np.log10(spectra.fe_avg)
        valid = ~spectra.above_diffraction
    else:
        config = PlateCavityConfig.from_mapping(_ACOUSTIC)
        batch = CavityGrid(config).batch(index)
        target = acoustic.band_level(acoustic.responses(batch, config.band_frequencies, config.n_plate, config.n_transverse))[
            :, None
        ]
        valid = np.ones_like(target, dtype=bool)
    mean, std = stats if stats is not None else (float(target[valid].mean()), float(target[valid].std()))
    y = torch.as_tensor((target - mean) / std, dtype=torch.float32)
    return PhysicsData(kind, x, y, torch.as_tensor(valid), mean, std)


def make_mlp(kind: str, seed: int = 0) -> nn.Sequential:
    """The fp32 MLP of a surrogate kind (module docstring), initialised from ``seed``."""
    _check_kind(kind)
    torch.manual_seed(seed)
    d_in, width, depth, d_out = (6, 256, 4, THZ_POINTS) if kind == "thz" else (11, 128, 3, 1)
    layers: list[nn.Module] = [nn.Linear(d_in, width), nn.SiLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.SiLU()]
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


def masked_mse(pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the valid entries."""
    return ((pred - y).pow(2) * valid).sum() / valid.sum().clamp_min(1)


def fit(
    model: nn.Module,
    data: PhysicsData,
    steps: int,
    lr: float,
    seed: int = 0,
    batch_size: int = 256,
    params: list[nn.Parameter] | None = None,
    after_step: Callable[[], None] | None = None,
) -> nn.Module:
    """Train ``params`` (default: all of ``model``'s) on the masked MSE with Adam and a cosine schedule.

    ``after_step``, if given, is called with no argument after every optimiser step (used to
    re-apply pruning masks). Returns ``model``, trained in place.
    """
    params = [p for p in model.parameters() if p.requires_grad] if params is None else params
    optimiser = torch.optim.Adam(params, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(steps, 1))
    gen = torch.Generator().manual_seed(seed)
    n = data.x.shape[0]
    model.train()
    for _ in range(steps):
        idx = torch.randint(n, (min(batch_size, n),), generator=gen)
        loss = masked_mse(model(data.x[idx]), data.y[idx], data.valid[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if after_step is not None:
            after_step()
    model.eval()
    return model


@torch.no_grad()
def surrogate_error(model: nn.Module, data: PhysicsData) -> float:
    """Error against the physics: median |Δlog10 FE| over valid points (THz), J MAE in dB (acoustic)."""
    diff = (model(data.x) - data.y).abs() * data.std
    if data.kind == "thz":
        return float(diff[data.valid].median())
    return float(diff.mean())
