"""Training, prediction and checkpoints of MPIPN surrogates (one geometry family per checkpoint).

Loss (all terms per cloud, averaged over the batch):

* ``data``: relative squared error Σ|û − u|²/Σ|u|² on the labelled points, per domain (cavity, plate),
  averaged over the two; the labelled points are a fixed random fraction of each domain's points (at
  least one per domain). û comes from the whole model: the plate head's modal solve and Σ W_b G_b.
* the physics terms, on the per-mode cavity fields G_b of the network (:mod:`._network`), each b = 1…K a
  well-posed problem whose unique solution the residuals pin down without any label:

  * ``helmholtz``: |(∇̂²G_b + k̂²G_b)·l̂x/(bπ)|² on cavity points;
  * ``wall``: |n·∇̂G_b|² on the rigid walls;
  * ``interface``: |∂G_b/∂ẑ − sin(bπx/lx)|² on the cavity side of the plate (∂p̂/∂n̂ = ŵ, mode by mode).

  The plate equation holds exactly in its projected form (the plate head), so it has no residual term.

Weighting: total = data + w·Σ_i λ_i·L_i, with w = ``physics_weight`` and λ_i the :class:`~._balance.ReLoBRaLo`
weights of the three physics terms (sum 3). The terms are O(1) at the start (the interface term is the
mean of sin², 1/2) and vanish at the exact G_b: the zero field is not a minimum of any of them.
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
from ._scaling import REFERENCE_LENGTH, cavity_features, coefficients, geometry

PHYSICS_TERMS = ("helmholtz", "wall", "interface")

FORMAT = "mpipn-2"
"""Checkpoint format: the modal plate head and per-mode cavity fields."""


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Attributes:
        physics: add the physics terms to the data term.
        supervised_fraction: fraction of each domain's points with labels, in (0, 1].
        steps: optimiser steps. batch: clouds per step. lr: Adam learning rate (cosine decay to lr/100).
        physics_weight: w, the weight of the physics group against the data term, > 0.
        physics_batch: clouds of each batch on which the physics terms are evaluated.
        collocation: random non-interface cavity points per cloud per step for the residuals (every
            interface point is always used).
        seed: seed of the network initialisation, the labels and the batches.
    """

    physics: bool = True
    supervised_fraction: float = 0.1
    steps: int = 2000
    batch: int = 16
    lr: float = 2e-3
    physics_weight: float = 0.1
    physics_batch: int = 4
    collocation: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.supervised_fraction, float | int) and 0 < self.supervised_fraction <= 1):
            raise ValueError(
                f"supervised_fraction must lie in (0, 1]; got supervised_fraction={self.supervised_fraction!r}"
            )
        for name in ("steps", "batch", "physics_batch", "collocation"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1; got {name}={value!r}")
        for name in ("lr", "physics_weight"):
            value = getattr(self, name)
            if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number; got {name}={value!r}")


@dataclass
class _Tensors:
    """Training/prediction tensors of a set of clouds (hat variables, float32/complex64)."""

    x: torch.Tensor  # (n, N, 2)
    quantities: torch.Tensor  # (n, Q) per-cloud quantities of the cavity network (cavity_features)
    geometry: torch.Tensor  # (n, 3) (l̂x, l̂z, tilt)
    plate: torch.Tensor  # (N,) bool
    normal: torch.Tensor  # (n, N, 2)
    k2: torch.Tensor  # (n,) complex
    alpha: torch.Tensor  # (n,) complex
    beta: torch.Tensor  # (n,)
    p_scale: np.ndarray  # (n,) p̂ per Pa
    w_scale: np.ndarray  # (n,) ŵ per m

    def cloud(self, idx: torch.Tensor | slice) -> tuple[torch.Tensor, ...]:
        """(geometry, quantities, k̂², α, β) of the clouds ``idx``."""
        return self.geometry[idx], self.quantities[idx], self.k2[idx], self.alpha[idx], self.beta[idx]


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
        torch.as_tensor(cavity_features(names, params), dtype=torch.float32),
        torch.as_tensor(geometry(names, params), dtype=torch.float32),
        torch.as_tensor(plate, dtype=torch.bool),
        torch.as_tensor(normal, dtype=torch.float32),
        torch.as_tensor(coef["k2"], dtype=torch.complex64),
        torch.as_tensor(coef["alpha"], dtype=torch.complex64),
        torch.as_tensor(coef["beta"], dtype=torch.float32),
        coef["p_scale"],
        coef["w_scale"],
    )


def _hat_targets(fields: FieldSet, t: _Tensors) -> torch.Tensor:
    """(n, N) complex64: p̂ on cavity points and ŵ on plate points."""
    scale = np.where(fields.plate_mask[None, :], t.w_scale[:, None], t.p_scale[:, None])
    return torch.as_tensor(fields.value * scale, dtype=torch.complex64)


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
                outs.append(self.network(t.x[sl], t.plate, *t.cloud(sl)).to(torch.complex128).numpy())
        hat = np.concatenate(outs)
        if not np.all(np.isfinite(hat)):
            raise RuntimeError(
                "the network returned non-finite fields (a singular plate system); refusing to return them"
            )
        scale = np.where(t.plate.numpy()[None, :], t.w_scale[:, None], t.p_scale[:, None])
        return hat / scale

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
                "format": FORMAT,
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
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise ValueError(
                f"checkpoint {str(path)!r} is not an MPIPN checkpoint of this version (format {FORMAT!r}); retrain it with `workbench surrogate train mpipn`"
            )
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
    rng: np.random.Generator,
    collocation: int,
) -> dict[str, torch.Tensor]:
    """The physics terms (module docstring) on the clouds ``idx``, (B,) each: at ``collocation`` random
    interior and wall points and at every interface point."""
    interior = np.flatnonzero((domain == CAVITY) | (domain == WALL))
    interface = np.flatnonzero(domain == INTERFACE)
    chosen = rng.choice(interior, size=min(collocation, interior.size), replace=False)
    points = torch.as_tensor(np.concatenate([chosen, interface]))
    geom, quantities, k2, _, _ = t.cloud(idx)
    x = t.x[idx][:, points]
    value, grad, lap = phys.derivatives(lambda y: network.learned(context, y, geom, quantities), x)
    g, grad_g, lap_g = phys.as_complex(value), phys.as_complex(grad), phys.as_complex(lap)
    offset = network.mean_offset(geom, k2)  # (B, K): k̂²·offset = −F_b/Â
    helm = (lap_g + k2[:, None, None] * (g + offset[:, None, :])) * network.mode_scale(geom)
    wall = np.flatnonzero(domain[chosen] == WALL)
    normal = t.normal[idx][:, torch.as_tensor(chosen[wall])]  # (B, n_wall, 2)
    wall_res = (grad_g[:, wall] * normal[..., None].to(grad_g.dtype)).sum(-2)
    n_c = chosen.size
    inter = grad_g[:, n_c:, 1] - network.mode_shapes(x[:, n_c:, 0], geom)
    return {
        "helmholtz": (helm.abs() ** 2).mean((1, 2)),
        "wall": (wall_res.abs() ** 2).mean((1, 2)) if wall.size else torch.zeros(len(idx)),
        "interface": (inter.abs() ** 2).mean((1, 2)),
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
    target_sq = target.abs() ** 2
    labels, n_cav_labels = label_points(data.domain, len(data), config.supervised_fraction, rng)
    labels = torch.as_tensor(labels)
    labelled_plate = t.plate[labels[0]]  # (K,): the same domain pattern in every cloud
    cavity = ~t.plate
    network = MPIPN(t.quantities.shape[1], data.cells[0])
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, config.steps, eta_min=config.lr / 100)
    terms = ("data", *PHYSICS_TERMS) if config.physics else ("data",)
    balance = ReLoBRaLo(len(PHYSICS_TERMS), seed=config.seed)
    history = []
    start = time.perf_counter()
    for step in range(config.steps):
        idx = torch.as_tensor(rng.choice(len(data), size=min(config.batch, len(data)), replace=False))
        cloud = t.cloud(idx)
        context = network.encode(t.x[idx][:, cavity], *cloud[:2])
        modal = network.amplitudes(context, *cloud)
        lab = labels[idx]
        out = network.fields(context, modal, t.x[idx[:, None], lab], labelled_plate, *cloud[:3])
        err = (out - target[idx[:, None], lab]).abs() ** 2
        ref = target_sq[idx[:, None], lab]
        cav, plate_part = slice(0, n_cav_labels), slice(n_cav_labels, None)
        losses = {
            "data": 0.5 * (_relative(err[:, cav], ref[:, cav]) + _relative(err[:, plate_part], ref[:, plate_part]))
        }
        if config.physics:
            sub = slice(0, config.physics_batch)
            losses |= _physics_losses(network, context[sub], t, idx[sub], data.domain, rng, config.collocation)
        means = torch.stack([losses[k].mean() for k in terms])
        total = means[0]
        if config.physics:
            weights = torch.as_tensor(balance.update(means[1:].detach().numpy()), dtype=torch.float32)
            total = total + config.physics_weight * (weights * means[1:]).sum()
        optimiser.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == config.steps - 1:
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
