"""Residual operators of the non-dimensional equations (see :mod:`._scaling`), by autograd on coordinates.

Derivatives take real and imaginary parts as (B, M) tensors computed from x̂ (B, M, 2) with
``requires_grad``, where the value at a point depends on that point's coordinates only (so the gradient
of a sum over points is the per-point gradient). Residuals are complex (B, M) tensors; the graphs are
kept so that losses built on them can be trained.
"""

from __future__ import annotations

import torch


def gradient(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """∇̂u, (B, M, 2), of u (B, M) with respect to x̂ (B, M, 2)."""
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return grad


def cavity_derivatives(p_re: torch.Tensor, p_im: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇̂p̂ (B, M, 2) complex, ∇̂²p̂ (B, M) complex)."""
    parts = []
    for u in (p_re, p_im):
        g = gradient(u, x)
        lap = gradient(g[..., 0], x)[..., 0] + gradient(g[..., 1], x)[..., 1]
        parts.append((g, lap))
    (g_re, lap_re), (g_im, lap_im) = parts
    return torch.complex(g_re, g_im), torch.complex(lap_re, lap_im)


def plate_derivatives(w_re: torch.Tensor, w_im: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂²ŵ/∂x̂², ∂⁴ŵ/∂x̂⁴) along the plate, each (B, M) complex."""
    parts = []
    for u in (w_re, w_im):
        d = [u]
        for _ in range(4):
            d.append(gradient(d[-1], x)[..., 0])
        parts.append((d[2], d[4]))
    (d2_re, d4_re), (d2_im, d4_im) = parts
    return torch.complex(d2_re, d2_im), torch.complex(d4_re, d4_im)


def helmholtz(lap: torch.Tensor, p: torch.Tensor, k2: torch.Tensor) -> torch.Tensor:
    """∇̂²p̂ + k̂²p̂ with k̂² complex (B,)."""
    return lap + k2[:, None] * p


def normal_derivative(grad: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """n·∇̂p̂ with the unit normals (B, M, 2) real."""
    return (grad * normal.to(grad.dtype)).sum(-1)


def plate(w4: torch.Tensor, w: torch.Tensor, p: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """(α ŵ'''' − β ŵ + 2 − p̂)/β: the plate equation under the blocked load, per unit β; p̂ (B, M) is the
    cavity pressure at the plate points, α complex (B,), β real (B,)."""
    return (alpha[:, None] * w4 - beta[:, None] * w + 2.0 - p) / beta[:, None]
