"""Derivatives of the network with respect to the coordinates, by forward-mode automatic differentiation.

The network's value at a point depends on that point's coordinates only (the cloud's global feature is
computed with the coordinates detached), so a Jacobian-vector product with the tangent e_x at every point
gives ∂u/∂x̂ at every point, and a product of products gives ∂²u/∂x̂². ``torch.func.jvp`` propagates the
tangents through the same graph as the value, so losses built on the derivatives train by ordinary
backpropagation. Forward mode costs one pass per direction for all the network's outputs at once, where
reverse mode would cost one pass per output (here 2K = 32).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jvp


def derivatives(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Value (B, M, C), gradient (B, M, 2, C) and Laplacian (B, M, C) of the pointwise map f: x̂ (B, M, 2) → (B, M, C)."""
    grads, seconds = [], []
    for axis in range(2):
        tangent = torch.zeros_like(x)
        tangent[..., axis] = 1.0

        def along(y: torch.Tensor, tangent: torch.Tensor = tangent) -> torch.Tensor:
            return jvp(f, (y,), (tangent,))[1]

        first, second = jvp(along, (x,), (tangent,))
        grads.append(first)
        seconds.append(second)
    return f(x), torch.stack(grads, dim=-2), seconds[0] + seconds[1]


def as_complex(u: torch.Tensor) -> torch.Tensor:
    """(…, 2K) real (Re parts, then Im parts) → (…, K) complex."""
    half = u.shape[-1] // 2
    return torch.complex(u[..., :half], u[..., half:])
