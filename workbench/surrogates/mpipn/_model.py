"""Training, prediction and checkpoints of MPIPN surrogates (one geometry family per checkpoint).

Loss (all terms per cloud, averaged over the batch; the physics terms on every cavity point of the
interface and plate and a random subset of the other cavity points, redrawn each step):

* ``data``: relative squared error Σ|û − u|²/Σ|u|² on the labelled points, per domain (cavity, plate);
  the labelled points are a fixed random fraction of each domain's points (at least one per domain);
* ``helmholtz``: |∇̂²p̂ + k̂²p̂|² on cavity points;
* ``wall``: |n·∇̂p̂|² on the rigid walls;
* ``interface``: |∂p̂/∂ẑ − ŵ|² on the interface (ŵ at the coincident plate point);
* ``plate``: |(αŵ'''' − βŵ + 2 − p̂)/β|² on the interior plate points (the simply supported
  edge conditions hold exactly through the plate head's modal basis).

Pressure residuals are divided by the cloud's mean |p̂|² (predicted, detached) times the square of the
derivative scale ((π/l̂x)² for gradients, |k̂²| + (π/l̂x)² for the Laplacian); the plate residual by
the mean |ŵ|². So every term is a relative error, whatever the response level.

Weighting: total = data + 0.02·Σ_i λ_i·L_i/L_i(t₀), t₀ the first physics step (after a data-only
warm-up), λ_i the :class:`~._balance.ReLoBRaLo` weights of the four physics terms (sum 4). Each physics
term enters at 1 whatever its magnitude, and ReLoBRaLo shifts weight towards the terms that progress
least. The physics group is held at PIPN's 1 : 50 against the data: with an adaptive weight on the data
term too, the residuals (all satisfied by p = w = 0 except the plate load) pulled every run we tried
to the zero field; for the same reason the plate residual is relative to the predicted |ŵ|² alone,
so that the zero field is not a minimum of it. Even so, 800 steps with physics on the trapezoid
family ended at the zero field (docs/mpipn.md, ablation).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import _physics as phys
from ._balance import ReLoBRaLo
from ._data import FieldSet
from ._fe import CAVITY, INTERFACE, PLATE, PLATE_EDGE, WALL
from ._network import MPIPN
from ._problem import MATERIAL_CLASSES, check_family, material_bounds, parameter_names
from ._problem import RANGES as PARAMETER_RANGES
from ._scaling import FEATURE_GROUPS, REFERENCE_LENGTH, cloud_features, coefficients

PHYSICS_TERMS = ("helmholtz", "wall", "interface", "plate")

PHYSICS_WEIGHT = 0.02
"""Weight of the physics group against the data term (PIPN's 1 : 50, Kashefi & Mukerji 2022)."""


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Attributes:
        physics: add the physics terms to the data term.
        supervised_fraction: fraction of each domain's points with labels, in (0, 1].
        steps: optimiser steps. batch: clouds per step. lr: Adam learning rate (cosine decay to lr/20).
        warmup: fraction of the steps trained on the data term alone before the physics terms start
            (then the ReLoBRaLo reference losses are those of a network that already fits the data, not
            of the random initialisation, whose fourth derivatives dwarf every other term).
        physics_batch: clouds of each batch on which the physics terms are evaluated.
        collocation: random non-interface cavity points per cloud per step for the residuals.
        seed: seed of the network initialisation, the labels and the batches.
    """

    physics: bool = True
    supervised_fraction: float = 0.1
    steps: int = 800
    batch: int = 8
    lr: float = 2e-3
    warmup: float = 0.4
    physics_batch: int = 4
    collocation: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.supervised_fraction, float | int) and 0 < self.supervised_fraction <= 1):
            raise ValueError(
                f"supervised_fraction must lie in (0, 1]; got supervised_fraction={self.supervised_fraction!r}"
            )
        if not (isinstance(self.warmup, float | int) and 0 <= self.warmup < 1):
            raise ValueError(f"warmup must lie in [0, 1) (fraction of the steps); got warmup={self.warmup!r}")
        for name in ("steps", "batch", "physics_batch", "collocation"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
        if not (isinstance(self.lr, float | int) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number; got lr={self.lr!r}")


@dataclass
class _Tensors:
    """Training/prediction tensors of a set of clouds (hat variables, float32/complex64)."""

    x: torch.Tensor  # (n, N, 2)
    params: torch.Tensor  # (n, F) per-cloud quantities (cloud_features)
    lengths: torch.Tensor  # (n, 2) (lx, lz)/L0
    material: torch.Tensor  # (n,) long
    plate: torch.Tensor  # (N,) bool
    normal: torch.Tensor  # (n, N, 2)
    k2: torch.Tensor  # (n,) complex
    alpha: torch.Tensor  # (n,) complex
    beta: torch.Tensor  # (n,)
    p_scale: np.ndarray  # (n,) p̂ per Pa
    w_scale: np.ndarray  # (n,) ŵ per m


def _tensors(
    names: tuple[str, ...],
    coords: np.ndarray,
    normal: np.ndarray,
    plate: np.ndarray,
    params: np.ndarray,
    material: np.ndarray,
) -> _Tensors:
    coef = coefficients(names, params, material)
    return _Tensors(
        torch.as_tensor(coords / REFERENCE_LENGTH, dtype=torch.float32),
        torch.as_tensor(cloud_features(names, params, material), dtype=torch.float32),
        torch.as_tensor(params[:, [names.index("lx"), names.index("lz")]] / REFERENCE_LENGTH, dtype=torch.float32),
        torch.as_tensor(material, dtype=torch.long),
        torch.as_tensor(plate, dtype=torch.bool),
        torch.as_tensor(normal, dtype=torch.float32),
        torch.as_tensor(coef["k2"], dtype=torch.complex64),
        torch.as_tensor(coef["alpha"], dtype=torch.complex64),
        torch.as_tensor(coef["beta"], dtype=torch.float32),
        coef["p_scale"],
        coef["w_scale"],
    )


def _hat_targets(fields: FieldSet, t: _Tensors) -> torch.Tensor:
    """(n, N, 2) float32: (Re, Im) of p̂ on cavity points and ŵ on plate points."""
    scale = np.where(fields.plate_mask[None, :], t.w_scale[:, None], t.p_scale[:, None])
    value = fields.value * scale
    return torch.as_tensor(np.stack([value.real, value.imag], axis=-1), dtype=torch.float32)


def _select(out: torch.Tensor, plate: torch.Tensor) -> torch.Tensor:
    """(B, M, 2): the cavity head on cavity points and the plate head on plate points of out (B, M, 4)."""
    return torch.where(plate[None, :, None], out[..., 2:], out[..., :2])


def label_points(
    domain: np.ndarray, n_clouds: int, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Labelled points: (n_clouds, K) indices, per cloud ``max(1, round(fraction·count))`` random cavity points
    followed by as many (by the same rule) interior plate points (the edges, where w = 0, carry no scale);
    and the number of cavity ones."""
    parts = []
    for points in (np.flatnonzero(domain < PLATE), np.flatnonzero(domain == PLATE)):
        k = max(1, int(round(fraction * points.size)))
        parts.append(np.stack([rng.choice(points, size=k, replace=False) for _ in range(n_clouds)]))
    return np.concatenate(parts, axis=1), parts[0].shape[1]


@dataclass
class Surrogate:
    """A trained MPIPN of one geometry family, with the ranges it was trained on.

    Attributes:
        network: the :class:`~._network.MPIPN`.
        family: geometry family. cells: mesh of the training clouds.
        info: training settings, command, history and timings (JSON-able).
    """

    network: MPIPN
    family: str
    cells: tuple[int, int]
    info: dict = field(default_factory=dict)

    @property
    def param_names(self) -> tuple[str, ...]:
        return parameter_names(self.family)

    # --- checks ---------------------------------------------------------------------------------------------
    def check_family(self, family: str) -> None:
        if family != self.family:
            raise ValueError(
                f"family: this checkpoint is for the {self.family!r} geometry family; got family={family!r}"
            )

    def check_inputs(
        self, coords: np.ndarray, domain: np.ndarray, params: np.ndarray, material: np.ndarray, strict: bool = True
    ) -> None:
        """ValueError on malformed clouds or (``strict``) parameters outside the training ranges; else a warning."""
        coords, domain = np.asarray(coords), np.asarray(domain)
        params, material = np.asarray(params), np.asarray(material)
        if coords.ndim != 3 or coords.shape[-1] != 2 or coords.shape[1] != domain.size:
            raise ValueError(
                f"coords must be (n_clouds, n_points, 2) with n_points = len(domain) = {domain.size}; got shape {coords.shape}"
            )
        if not np.all(np.isfinite(coords)):
            c, p, _ = np.argwhere(~np.isfinite(coords))[0]
            raise ValueError(f"coords must be finite (m); got coords[{c}, {p}] = {coords[c, p].tolist()}")
        n_cavity, n_plate = int(np.sum(domain < PLATE)), int(np.sum(domain >= PLATE))
        if n_cavity == 0 or n_plate == 0:
            raise ValueError(
                f"domain must hold cavity points (tags {CAVITY}-{INTERFACE}) and plate points (tags {PLATE}-{PLATE_EDGE}), at least 1 each; got {n_cavity} cavity and {n_plate} plate points"
            )
        if params.shape != (coords.shape[0], len(self.param_names)):
            raise ValueError(
                f"params must be (n_clouds, {len(self.param_names)}) for {self.param_names}; got shape {params.shape}"
            )
        if not np.all(np.isfinite(params)):
            raise ValueError(f"params must be finite; got params={params.tolist()}")
        if material.shape != (coords.shape[0],) or not np.all((material >= 0) & (material < len(MATERIAL_CLASSES))):
            raise ValueError(
                f"material must be (n_clouds,) class codes in 0..{len(MATERIAL_CLASSES) - 1}; got material={material.tolist()}"
            )
        for c in range(params.shape[0]):
            for k, name in enumerate(self.param_names):
                low, high = PARAMETER_RANGES[name]
                if name in ("youngs_modulus", "density"):
                    low, high = material_bounds(MATERIAL_CLASSES[int(material[c])], name)
                value = float(params[c, k])
                if not low <= value <= high:
                    message = f"{name} must lie in [{low:g}, {high:g}] (training range of this checkpoint); got {name}={value:g}"
                    if strict:
                        raise ValueError(message)
                    warnings.warn(f"extrapolating: {message}", stacklevel=3)

    # --- prediction -----------------------------------------------------------------------------------------
    def predict(
        self,
        coords: np.ndarray,
        domain: np.ndarray,
        params: np.ndarray,
        material: np.ndarray,
        strict: bool = True,
        batch: int = 64,
    ) -> np.ndarray:
        """Fields of clouds of this family.

        Args:
            coords: (n_clouds, n_points, 2) float, m.
            domain: (n_points,) int tags (cavity 0–2, plate 3–4), shared by the clouds.
            params: (n_clouds, n_params) SI values in the order of :attr:`param_names`.
            material: (n_clouds,) material class codes.
            strict: parameters outside the training ranges raise ValueError (else warn).
            batch: clouds per forward pass.

        Returns:
            (n_clouds, n_points) complex128: p (Pa) on cavity points, w (m) on plate points.
        """
        self.check_inputs(coords, domain, params, material, strict)
        normal = np.zeros_like(coords)
        t = _tensors(
            self.param_names,
            np.asarray(coords, float),
            normal,
            np.asarray(domain) >= PLATE,
            np.asarray(params, float),
            np.asarray(material),
        )
        self.network.eval()
        outs = []
        with torch.no_grad():
            for s in range(0, t.x.shape[0], batch):
                sl = slice(s, s + batch)
                out = _select(self.network(t.x[sl], t.params[sl], t.plate, t.lengths[sl], t.material[sl]), t.plate)
                outs.append(out.double().numpy())
        hat = np.concatenate(outs)
        if not np.all(np.isfinite(hat)):
            raise RuntimeError(
                "the network returned non-finite fields (amplitude gate overflow); refusing to return them"
            )
        value = hat[..., 0] + 1j * hat[..., 1]
        scale = np.where(t.plate.numpy()[None, :], t.w_scale[:, None], t.p_scale[:, None])
        return value / scale

    def predict_fields(self, fields: FieldSet, strict: bool = True) -> np.ndarray:
        """:meth:`predict` on the clouds of ``fields`` (same family)."""
        self.check_family(fields.family)
        return self.predict(fields.coords, fields.domain, fields.params, fields.material, strict)

    # --- checkpoints ----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        torch.save(
            {
                "format": "mpipn-1",
                "family": self.family,
                "cells": list(self.cells),
                "config": self.network.config,
                "state": state,
                "info": self.info,
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path, family: str | None = None) -> Surrogate:
        """Load a checkpoint; with ``family`` given, ValueError unless it is that family's."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"checkpoint must be an existing file; got checkpoint={str(path)!r}")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises pickle, zip and runtime errors alike
            raise ValueError(f"checkpoint {str(path)!r} is not a readable torch file: {error}") from None
        if not isinstance(blob, dict) or blob.get("format") != "mpipn-1":
            raise ValueError(f"checkpoint {str(path)!r} is not an MPIPN checkpoint (format 'mpipn-1')")
        network = MPIPN(**blob["config"])
        network.load_state_dict(blob["state"])
        surrogate = cls(network, check_family(blob["family"]), tuple(blob["cells"]), blob["info"])
        if family is not None:
            surrogate.check_family(family)
        return surrogate


def _relative(err: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Per cloud Σ err / Σ ref over the points, (B,); err and ref (B, M) non-negative."""
    return err.sum(-1) / (ref.sum(-1) + 1e-12)


def _physics_losses(
    network: MPIPN,
    context: torch.Tensor,
    t: _Tensors,
    idx: torch.Tensor,
    domain: np.ndarray,
    partner: np.ndarray,
    rng: np.random.Generator,
    collocation: int,
) -> dict[str, torch.Tensor]:
    """The physics terms on a batch (see the module docstring).

    The cavity head is evaluated (and differentiated twice) on the chosen cavity points and the
    interface, the plate head (differentiated four times) on the plate points only.
    """
    interior = np.flatnonzero((domain == CAVITY) | (domain == WALL))
    interface = np.flatnonzero(domain == INTERFACE)
    plate_pts = np.flatnonzero(domain >= PLATE)
    chosen = rng.choice(interior, size=min(collocation, interior.size), replace=False)
    cav_q = torch.as_tensor(np.concatenate([chosen, interface]))
    x_c = t.x[idx][:, cav_q].clone().requires_grad_(True)
    x_p = t.x[idx][:, torch.as_tensor(plate_pts)].clone().requires_grad_(True)
    params = t.params[idx]
    lengths = t.lengths[idx]
    out_c = network.decode(context, x_c, params, t.plate[cav_q], lengths)
    out_p = network.decode(context, x_p, params, t.plate[torch.as_tensor(plate_pts)], lengths)
    p = torch.complex(out_c[..., 0], out_c[..., 1])
    w = torch.complex(out_p[..., 2], out_p[..., 3])
    grad_p, lap_p = phys.cavity_derivatives(out_c[..., 0], out_c[..., 1], x_c)
    _, w4 = phys.plate_derivatives(out_p[..., 2], out_p[..., 3], x_p)
    p_level = (p.abs() ** 2).mean(-1).detach() + 1e-8
    w_level = (w.abs() ** 2).mean(-1).detach() + 1e-12
    helm = phys.helmholtz(lap_p, p, t.k2[idx])
    wall_local = np.flatnonzero(domain[chosen] == WALL)
    wall = phys.normal_derivative(grad_p[:, wall_local], t.normal[idx][:, torch.as_tensor(chosen[wall_local])])
    n_c = chosen.size
    plate_of = torch.as_tensor(np.searchsorted(plate_pts, partner[interface]))  # plate position of each interface point
    inter = grad_p[:, n_c:, 1] - w[:, plate_of]
    inner = domain[partner[interface]] == PLATE
    pi, ii = plate_of[torch.as_tensor(inner)], torch.as_tensor(n_c + np.flatnonzero(inner))
    plate_res = phys.plate(w4[:, pi], w[:, pi], p[:, ii], t.alpha[idx], t.beta[idx])
    # characteristic scales per cloud: gradients ~ (π/l̂x)·p̂, Laplacian ~ (|k̂²| + (π/l̂x)²)·p̂; the plate
    # residual ~ ŵ. Relative to the predicted level, the load term 2/β makes p = w = 0 infinitely bad
    grad_sq = (torch.pi / lengths[:, 0]) ** 2
    lap_sq = (t.k2[idx].abs() + grad_sq) ** 2
    return {
        "helmholtz": (helm.abs() ** 2).mean(-1) / (p_level * lap_sq),
        "wall": (wall.abs() ** 2).mean(-1) / (p_level * grad_sq) if wall_local.size else torch.zeros_like(p_level),
        "interface": (inter.abs() ** 2).mean(-1) / (p_level * grad_sq),
        "plate": (plate_res.abs() ** 2).mean(-1) / w_level,
    }


def train(
    fields: FieldSet,
    config: TrainConfig = TrainConfig(),
    log: Callable[[str], None] | None = None,
    command: str = "",
) -> Surrogate:
    """Train an MPIPN on the ``train`` split of ``fields`` (module docstring).

    Args:
        fields: a :class:`~._data.FieldSet` with a non-empty ``train`` split.
        config: :class:`TrainConfig`.
        log: called with a progress line every 100 steps.
        command: the command line recorded in the checkpoint.
    """
    data = fields.select("train")
    if len(data) == 0:
        raise ValueError(f"fields must hold clouds of the 'train' split; got 0 of {len(fields)}")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    names = parameter_names(data.family)
    t = _tensors(names, data.coords, data.normal, data.plate_mask, data.params, data.material)
    target = _hat_targets(data, t)
    target_sq = (target**2).sum(-1)
    labels, n_cav_labels = label_points(data.domain, len(data), config.supervised_fraction, rng)
    labels = torch.as_tensor(labels)
    labelled_plate = t.plate[labels]  # (n, K)
    network = MPIPN(len(names) + FEATURE_GROUPS, len(MATERIAL_CLASSES))
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps, eta_min=config.lr / 20)
    first_physics = int(config.warmup * config.steps) if config.physics else config.steps
    terms: tuple[str, ...] = ("data",)
    balance = ReLoBRaLo(len(PHYSICS_TERMS), seed=config.seed)
    history = []
    start = time.perf_counter()
    scale: torch.Tensor | None = None  # each physics term's value at its first step
    for step in range(config.steps):
        if step == first_physics:
            terms = ("data", *PHYSICS_TERMS)
            balance = ReLoBRaLo(len(PHYSICS_TERMS), seed=config.seed)
        idx = torch.as_tensor(rng.choice(len(data), size=min(config.batch, len(data)), replace=False))
        context = network.encode(t.x[idx], t.params[idx], t.plate, t.lengths[idx], t.material[idx])
        lab = labels[idx]  # (B, K): the same domain pattern in every cloud
        out = _select(
            network.decode(context, t.x[idx[:, None], lab], t.params[idx], labelled_plate[0], t.lengths[idx]),
            labelled_plate[0],
        )
        err = ((out - target[idx[:, None], lab]) ** 2).sum(-1)
        ref = target_sq[idx[:, None], lab]
        cav = slice(0, n_cav_labels)
        plate_part = slice(n_cav_labels, None)
        losses = {
            "data": 0.5 * (_relative(err[:, cav], ref[:, cav]) + _relative(err[:, plate_part], ref[:, plate_part]))
        }
        if step >= first_physics:
            sub = slice(0, config.physics_batch)
            losses |= _physics_losses(
                network, context[sub], t, idx[sub], data.domain, data.partner, rng, config.collocation
            )
        means = torch.stack([losses[k].mean() for k in terms])
        total = means[0]
        if len(terms) > 1:
            if scale is None:
                scale = means[1:].detach().clamp_min(1e-12)
            weights = torch.as_tensor(balance.update(means[1:].detach().numpy()), dtype=torch.float32)
            total = total + PHYSICS_WEIGHT * (weights * means[1:] / scale).sum()
        optimiser.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 10.0)
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step in (first_physics, config.steps - 1):
            row = {"step": step, "seconds": time.perf_counter() - start} | {
                k: float(v) for k, v in zip(terms, means.detach())
            }
            history.append(row)
            if log is not None:
                log(" ".join(f"{k}={v:.4g}" for k, v in row.items()))
    info = {
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "train_clouds": len(data),
        "train_seconds": time.perf_counter() - start,
        "history": history,
        "command": command,
        "data_provenance": {k: str(v) for k, v in data.provenance.items()},
    }
    return Surrogate(network, data.family, data.cells, info)
