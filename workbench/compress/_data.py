"""Randomly initialised MLPs of surrogate-like shapes, for kernel benchmarks (no training here).

* ``thz``: 6 inputs → 4 hidden layers of 256 SiLU units → 128 outputs;
* ``acoustic``: 11 inputs → 3 hidden layers of 128 SiLU units → 1 output.

The compression of the real surrogates lives in ``_surrogate`` (their networks, data and training).
"""

from __future__ import annotations

import torch
from torch import nn

KINDS = ("thz", "acoustic")
THZ_POINTS = 128


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")


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
