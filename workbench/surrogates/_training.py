"""Shared pieces of the surrogate networks: MLP trunk, standardisation, the training loop."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm


def mlp(n_in: int, n_out: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` SiLU units, then a linear layer to ``n_out``."""
    layers: list[nn.Module] = []
    size = n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.SiLU()]
        size = width
    layers.append(nn.Linear(size, n_out))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class Standardiser:
    """Per-column affine map x → (x − mean)/std, fitted on training data (float64 arrays (k,))."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardiser:
        """Column means and standard deviations of (n, k) ``x`` (a constant column gets std 1)."""
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready form (stored in checkpoints)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Sequence[float]]) -> Standardiser:
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(data["mean"], float), np.asarray(data["std"], float))


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`: epochs run, wall time (s), best validation loss and its epoch."""

    epochs: int
    seconds: float
    best_val_loss: float
    best_epoch: int


def fit(
    model: nn.Module,
    loss: Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor],
    train: tuple[torch.Tensor, ...],
    val: tuple[torch.Tensor, ...],
    epochs: int,
    batch_size: int = 256,
    lr: float = 2e-3,
    seed: int = 0,
    time_budget_s: float | None = None,
    progress: bool = False,
    weight_decay: float = 0.0,
) -> FitResult:
    """Adam (AdamW when ``weight_decay`` > 0) with a cosine learning-rate decay; keeps the best validation epoch's weights.

    Args:
        model: the network (trained in place; the best-validation weights are loaded at the end).
        loss: (model, batch tensors) → scalar loss.
        train, val: tensors whose first axis is the sample axis.
        epochs: epochs, ≥ 1 (the schedule's length). batch_size: samples per step.
        lr: peak learning rate. seed: shuffling seed.
        time_budget_s: stop when this wall time has passed (the cosine schedule then follows
            elapsed time instead of epochs), for comparisons at equal training time; None runs
            every epoch (reproducible from the seed).
        progress: show a tqdm bar (stderr).
        weight_decay: decoupled weight decay of AdamW, ≥ 0 (0: plain Adam).
    """
    if epochs < 1 or batch_size < 1 or not lr > 0 or not weight_decay >= 0:
        raise ValueError(
            f"need epochs >= 1, batch_size >= 1, lr > 0, weight_decay >= 0; "
            f"got {epochs}, {batch_size}, {lr}, {weight_decay}"
        )
    generator = torch.Generator().manual_seed(seed)
    if weight_decay > 0:
        optimiser: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    n = train[0].shape[0]
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    start = time.perf_counter()
    epoch = 0
    bar = tqdm(total=epochs, desc="training", unit="epoch", disable=not progress)
    while epoch < epochs:
        elapsed = time.perf_counter() - start
        if time_budget_s is not None and elapsed >= time_budget_s:
            break
        fraction = elapsed / time_budget_s if time_budget_s is not None else epoch / epochs
        for group in optimiser.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * min(fraction, 1.0)))
        model.train()
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            rows = order[i : i + batch_size]
            optimiser.zero_grad()
            value = loss(model, tuple(t[rows] for t in train))
            value.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss(model, val))
        epoch += 1
        if val_loss < best[0]:
            best = (val_loss, epoch, copy.deepcopy(model.state_dict()))
        bar.update(1)
        bar.set_postfix(val=f"{val_loss:.3g}")
    bar.close()
    model.load_state_dict(best[2])
    return FitResult(epoch, time.perf_counter() - start, best[0], best[1])


def split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, validation) row indices of n samples; ``fraction`` of them (at least 1) validate."""
    order = np.random.default_rng(seed).permutation(n)
    k = max(1, int(round(fraction * n)))
    return order[k:], order[:k]
