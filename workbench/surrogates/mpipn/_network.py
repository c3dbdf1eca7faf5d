"""The MPIPN network: quantities stacking, shared per-point MLP, max-pooled global feature, two heads.

Per point the input stacks the non-dimensional coordinates (x̂, ẑ), Fourier features of the coordinates
relative to the cavity, sin/cos(mπx/lx) for m = 1…8 and sin/cos(mπz/lz) for m = 1, 2 (the plate's
simply supported modes are sin(mπx/lx); without them a tanh MLP learns oscillatory fields slowly), the
per-cloud explicit quantities (see :func:`._scaling.cloud_features`) and a domain one-hot (cavity, plate). A shared per-point MLP (tanh) gives a local feature; a second shared MLP lifts it and a max over
the points gives the global feature of the cloud, i.e. of the geometry and parameters. The implicit
parameter (the material class) is encoded by a learned embedding. Local feature, global feature,
embedding and explicit parameters are concatenated per point and passed to the cavity head (Re p̂, Im p̂).
The plate head maps the per-cloud context to the complex amplitudes of the first 16 simply supported
modes, and (Re ŵ, Im ŵ) at a point is their sum Σ_a W_a·sin(aπx/lx): the edge conditions w = 0 and
w'' = 0 hold exactly, and ŵ'''' is that of a smooth series (with a per-point plate head the
fourth-derivative residual dominated and the training collapsed to w = 0). Derivatives are still
taken by autograd on the coordinates.

Two choices of ours:

* No T-Net. A T-Net learns a rotation/affine alignment of the cloud; here every cloud is already in one
  frame (cavity on the x axis, plate on top) and the PDE residuals are not rotation invariant, so an
  alignment would only add parameters.
* An amplitude gate: the fields span orders of magnitude between off-resonance and resonant problems
  (the peaks grow as 1/η), which a tanh network's O(1) outputs represent poorly. A per-cloud MLP on the
  global feature, the parameters and the embedding predicts a log-amplitude per head, and each head's
  output is multiplied by its exponential.

The global feature is computed from the cloud with its coordinates detached: a field value is
u(x; cloud), and the PDE derivatives are ∂u/∂x with the cloud held fixed; so each point's output depends
on its own coordinates only through the local path, and autograd of a sum over points gives per-point
derivatives.
"""

from __future__ import annotations

import torch
from torch import nn

FOURIER_X = 8
"""Harmonics of x/lx in the point input."""

FOURIER_Z = 2
"""Harmonics of z/lz in the point input."""

PLATE_MODES = 16
"""Simply supported plate modes sin(aπx/lx), a = 1…16, of the plate head."""


def _mlp(sizes: list[int], last_activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if last_activation or k < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class MPIPN(nn.Module):
    """Multi physics-informed PointNet for one geometry family.

    Args:
        n_params: explicit parameters per cloud.
        n_classes: material classes (implicit parameter).
        local: width of the local feature. global_: width of the global feature. head: width of the heads.
        embed: width of the material embedding.
    """

    def __init__(
        self, n_params: int, n_classes: int = 3, local: int = 64, global_: int = 128, head: int = 128, embed: int = 4
    ) -> None:
        super().__init__()
        self.config = {
            "n_params": n_params,
            "n_classes": n_classes,
            "local": local,
            "global_": global_,
            "head": head,
            "embed": embed,
        }
        n_in = 2 + 2 * (FOURIER_X + FOURIER_Z) + n_params + 2
        self.local = _mlp([n_in, local, local])
        self.lift = _mlp([local, 128, global_])
        self.embed = nn.Embedding(n_classes, embed)
        n_cat = local + global_ + embed + n_params
        self.trunk = _mlp([n_cat, head, head])
        self.cavity = _mlp([head, head // 2, 2], last_activation=False)
        self.plate = _mlp([global_ + embed + n_params, head, 2 * PLATE_MODES], last_activation=False)
        self.gate = _mlp([global_ + embed + n_params, 64, 2], last_activation=False)

    @staticmethod
    def stack(coords: torch.Tensor, params: torch.Tensor, plate: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Per-point input from x̂ (B, N, 2), the per-cloud quantities (B, P), the plate mask (N,) bool and
        the cavity size (lx, lz)/L0 (B, 2)."""
        b, n, _ = coords.shape
        onehot = torch.stack([~plate, plate], dim=-1).to(coords.dtype).expand(b, n, 2)
        xi = coords[..., :1] / lengths[:, None, :1] * torch.pi * torch.arange(1, FOURIER_X + 1, dtype=coords.dtype)
        zeta = coords[..., 1:] / lengths[:, None, 1:] * torch.pi * torch.arange(1, FOURIER_Z + 1, dtype=coords.dtype)
        waves = [torch.sin(xi), torch.cos(xi), torch.sin(zeta), torch.cos(zeta)]
        return torch.cat([coords, *waves, params[:, None, :].expand(b, n, params.shape[1]), onehot], dim=-1)

    def encode(
        self,
        coords: torch.Tensor,
        params: torch.Tensor,
        plate: torch.Tensor,
        lengths: torch.Tensor,
        material: torch.Tensor,
    ) -> torch.Tensor:
        """Per-cloud context (B, global_ + embed + n_params): global feature of the cloud (coordinates
        detached), material embedding and explicit quantities."""
        local = self.local(self.stack(coords.detach(), params, plate, lengths))
        pooled = self.lift(local).amax(dim=1)
        return torch.cat([pooled, self.embed(material), params], dim=-1)

    def decode(
        self,
        context: torch.Tensor,
        coords: torch.Tensor,
        params: torch.Tensor,
        plate: torch.Tensor,
        lengths: torch.Tensor,
    ) -> torch.Tensor:
        """Fields at query points: (B, M, 4) = (Re p̂, Im p̂, Re ŵ, Im ŵ) at x̂ (B, M, 2) with plate mask (M,)."""
        local = self.local(self.stack(coords, params, plate, lengths))
        b, m, _ = local.shape
        features = self.trunk(torch.cat([local, context[:, None, :].expand(b, m, context.shape[1])], dim=-1))
        amplitude = torch.exp(self.gate(context))  # (B, 2)
        p = self.cavity(features) * amplitude[:, None, :1]
        modal = (self.plate(context) * amplitude[:, 1:]).view(b, 2, PLATE_MODES)  # (B, Re/Im, mode)
        order = torch.arange(1, PLATE_MODES + 1, dtype=coords.dtype)
        shapes = torch.sin(torch.pi * order * coords[..., :1] / lengths[:, None, :1])  # (B, M, modes)
        w = torch.einsum("bmk,bck->bmc", shapes, modal)
        return torch.cat([p, w], dim=-1)

    def forward(
        self,
        coords: torch.Tensor,
        params: torch.Tensor,
        plate: torch.Tensor,
        lengths: torch.Tensor,
        material: torch.Tensor,
    ) -> torch.Tensor:
        """(B, N, 4) fields at every point of the clouds x̂ (B, N, 2)."""
        return self.decode(self.encode(coords, params, plate, lengths, material), coords, params, plate, lengths)
