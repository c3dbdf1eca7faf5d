"""The MPIPN network: quantities stacking, shared per-point MLP, max-pooled global feature, a cavity head of
per-mode pressure fields and a modal plate head.

**Cavity head.** By linearity the cavity pressure is p̂ = Σ_b W_b·G_b, where G_b(x̂) is the pressure that the
b-th simply supported plate mode sin(bπx/lx), moving with unit amplitude, drives in the cavity: the solution
of ∇̂²G_b + k̂²G_b = 0 with ∂G_b/∂n̂ = sin(bπx/lx) on the plate and 0 on the rigid walls. G_b depends on the
geometry and on k̂² only, not on the plate, and is smooth in every parameter in the training band (the band
lies below the cavity's first acoustic mode). The network learns G_b for b = 1…K. Integrating the Helmholtz
equation over the cavity fixes the mean of G_b exactly, −F_b/(k̂²Â) (F_b = ∫ sin(bπx/lx) dx̂, Â the area),
which grows as 1/k̂² towards low frequencies; the network adds to it a learned part scaled by l̂x/(bπ), the
size of the field near the plate that the mode's Neumann data drives.

**Plate head.** The plate displacement is ŵ = Σ_a W_a·sin(aπx/lx), so w = 0 and w'' = 0 hold at the edges.
The amplitudes W solve the plate equation α ŵ'''' − β ŵ = −2 + p̂ projected on the modes (Galerkin) at the
n − 1 interior nodes of the plate grid of the training data (n cells), where the sines are exactly
orthogonal and the fourth-order finite-difference bending operator has the exact eigenvalue μ̂_a²:

    [(α μ̂_a² − β)·n/2]·W_a − Σ_b [Σ_i sin(aπx_i/lx)·G_b(x_i, l̂z)]·W_b = −2·Σ_i sin(aπx_i/lx).

A (K, K) complex solve per cloud: the plate resonances, which make the response span orders of magnitude
and move with E, ρ, h and η, come out of the solve instead of being learned. The plate equation thus holds
exactly in its projected form; the network carries the cavity. With the finite-element G_b this solve
reproduces the finite-element fields to 1e-13 (K = n − 1) and 1e-3 (K = 16, the truncation of the high modes).

**PointNet.** Per point the input stacks the non-dimensional coordinates (x̂, ẑ), the mapped coordinates
ξ = x/lx and ζ (the depth fraction between back wall and plate), Fourier features sin/cos(mπξ) for
m = 1…K, decay features exp(−mπ(lz − z)/lx) for m = 1, 2, 4, 8, 16 (the evanescent depth profiles of the
plate modes), cos(πζ), cos(2πζ) and the per-cloud explicit quantities (:func:`._scaling.cavity_features`).
A shared per-point MLP (tanh) gives the local feature; a second shared layer lifts it and a max over the
cloud's cavity points gives the global feature. Local feature and per-cloud context (global feature and
quantities) are combined per point and mapped to the 2K real outputs (Re, Im of the learned part of G_b).
The global feature is computed with the coordinates detached: a field value is u(x; cloud), and the PDE
derivatives are ∂u/∂x with the cloud held fixed.

Two choices of ours:

* No T-Net. A T-Net learns an alignment of the cloud; here every cloud is already in one frame (cavity on
  the x axis, plate on top) and the PDE residuals are not rotation invariant.
* The plate quantities (E, ρ, h, the material class through ν) are not fed to the cavity network: G_b
  does not depend on them, and they enter the plate head through α and β. The material class is an
  implicit parameter only of the plate, and a learned embedding of it would give the cavity network an
  input that the true field ignores.
"""

from __future__ import annotations

import torch
from torch import nn

PLATE_MODES = 16
"""Simply supported plate modes sin(aπx/lx), a = 1…16, in both heads."""

DECAY_ORDERS = (1, 2, 4, 8, 16)
"""Orders m of the decay features exp(−mπ(lz − z)/lx)."""


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers)


def bending_eigenvalues(cells: int, length: torch.Tensor, modes: int = PLATE_MODES) -> torch.Tensor:
    """μ̂_a, (B, modes): eigenvalues of minus the fourth-order five-point second difference on ``cells``
    equal cells of ``length`` (B,) (odd-reflected ghosts), for the sines a = 1…modes; the bending operator's
    are μ̂_a²."""
    theta = torch.pi * torch.arange(1, modes + 1, dtype=length.dtype) / cells
    step = length[:, None] / cells
    return (30.0 - 32.0 * torch.cos(theta) + 2.0 * torch.cos(2.0 * theta)) / (12.0 * step**2)


def plate_sines(cells: int, modes: int, dtype: torch.dtype) -> torch.Tensor:
    """sin(aπi/n) at the interior plate-grid nodes i = 1…n − 1 for a = 1…modes, (n − 1, modes)."""
    i = torch.arange(1, cells, dtype=dtype)
    return torch.sin(torch.pi * i[:, None] * torch.arange(1, modes + 1, dtype=dtype) / cells)


def plate_amplitudes(
    green: torch.Tensor, length: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, cells: int
) -> torch.Tensor:
    """Plate modal amplitudes W, (B, K) complex, from the projected plate equation (module docstring).

    Args:
        green: G_b at the n − 1 interior plate-grid nodes, (B, n − 1, K) complex, p̂ per unit ŵ amplitude.
        length: l̂x, (B,). alpha: α, (B,) complex. beta: β, (B,) real. cells: n.
    """
    modes = green.shape[-1]
    sines = plate_sines(cells, modes, length.dtype).to(green.dtype)
    mu = bending_eigenvalues(cells, length, modes)
    stiffness = (alpha[:, None] * mu**2 - beta[:, None]) * (cells / 2.0)
    system = torch.diag_embed(stiffness) - torch.einsum("ia,bik->bak", sines, green)
    load = (-2.0 * sines.sum(0)).expand(green.shape[0], modes)
    return torch.linalg.solve(system, load)


class MPIPN(nn.Module):
    """Multi physics-informed PointNet for one geometry family.

    Args:
        n_quantities: per-cloud explicit quantities of the cavity network (:func:`._scaling.cavity_features`).
        interface_cells: n, cells of the plate grid on which the plate head projects (that of the training data).
        local: width of the local feature. global_: width of the global feature. head: width of the trunk.
    """

    def __init__(
        self, n_quantities: int, interface_cells: int = 32, local: int = 96, global_: int = 64, head: int = 128
    ) -> None:
        super().__init__()
        if not (isinstance(interface_cells, int) and PLATE_MODES < interface_cells <= 4096):
            raise ValueError(
                f"interface_cells must be an integer in ({PLATE_MODES}, 4096]; got interface_cells={interface_cells!r}"
            )
        self.config = {
            "n_quantities": n_quantities,
            "interface_cells": interface_cells,
            "local": local,
            "global_": global_,
            "head": head,
        }
        n_point = 4 + 2 * PLATE_MODES + len(DECAY_ORDERS) + 2
        self.local = _mlp([n_point + n_quantities, local, local])
        self.lift = _mlp([local, global_])
        self.point_in = nn.Linear(local, head)
        self.cloud_in = nn.Linear(global_ + n_quantities, head, bias=False)
        self.trunk = _mlp([head, head])
        self.out = nn.Linear(head, 2 * PLATE_MODES)
        order = torch.arange(1, PLATE_MODES + 1, dtype=torch.float64)
        self.register_buffer("order", order, persistent=False)

    def _features(self, coords: torch.Tensor, geometry: torch.Tensor, quantities: torch.Tensor) -> torch.Tensor:
        """Per-point input (B, M, n_point + n_quantities) at x̂ (B, M, 2); geometry (B, 3) = (l̂x, l̂z, tilt)."""
        x, z = coords[..., 0], coords[..., 1]
        lx, lz, tilt = (geometry[:, k, None] for k in range(3))
        xi = x / lx
        base = tilt * lz * xi
        zeta = (z - base) / (lz - base)
        depth = (lz - z) / lx
        phase = torch.pi * xi[..., None] * self.order.to(coords.dtype)
        decay = torch.exp(-torch.pi * depth[..., None] * torch.tensor(DECAY_ORDERS, dtype=coords.dtype))
        vertical = torch.stack([torch.cos(torch.pi * zeta), torch.cos(2.0 * torch.pi * zeta)], dim=-1)
        b, m = x.shape
        return torch.cat(
            [
                torch.stack([x, z, xi, zeta], dim=-1),
                torch.sin(phase),
                torch.cos(phase),
                decay,
                vertical,
                quantities[:, None, :].expand(b, m, quantities.shape[1]),
            ],
            dim=-1,
        )

    def encode(self, cavity: torch.Tensor, geometry: torch.Tensor, quantities: torch.Tensor) -> torch.Tensor:
        """Per-cloud context (B, head): the global feature of the cavity points x̂ (B, N, 2) (detached) with the
        explicit quantities (B, Q), projected for the trunk."""
        return self._context(self.local(self._features(cavity.detach(), geometry, quantities)), quantities)

    def _context(self, local: torch.Tensor, quantities: torch.Tensor) -> torch.Tensor:
        pooled = self.lift(local).amax(dim=1)
        return self.cloud_in(torch.cat([pooled, quantities], dim=-1))

    def learned(
        self, context: torch.Tensor, coords: torch.Tensor, geometry: torch.Tensor, quantities: torch.Tensor
    ) -> torch.Tensor:
        """Learned part of G_b, real (B, M, 2K) = (Re, Im) for b = 1…K at x̂ (B, M, 2); each point's value
        depends on its own coordinates only."""
        return self._head(context, self.local(self._features(coords, geometry, quantities)), geometry)

    def _head(self, context: torch.Tensor, local: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        hidden = self.trunk(torch.tanh(self.point_in(local) + context[:, None, :]))
        scale = self.mode_scale(geometry)
        return self.out(hidden) * torch.cat([scale, scale], dim=-1)

    def mode_scale(self, geometry: torch.Tensor) -> torch.Tensor:
        """l̂x/(bπ), (B, 1, K): the size of G_b near the plate per unit Neumann data, and the scale of the
        learned part of G_b."""
        return geometry[:, None, :1] / (torch.pi * self.order.to(geometry.dtype))

    def mode_shapes(self, x: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """sin(aπx/lx) for a = 1…K at x̂ (B, M): (B, M, K), the plate modes."""
        return torch.sin(torch.pi * (x / geometry[:, :1])[..., None] * self.order.to(x.dtype))

    def mean_offset(self, geometry: torch.Tensor, k2: torch.Tensor) -> torch.Tensor:
        """−F_b/(k̂²Â), (B, K) complex: the exact mean of G_b, with F_b the plate grid's trapezoidal
        ∫ sin(bπx/lx) dx̂ (that of the finite-element interface) and Â = l̂x·l̂z·(1 − tilt/2)."""
        lx, lz, tilt = geometry[:, 0], geometry[:, 1], geometry[:, 2]
        cells = self.config["interface_cells"]
        flux = (lx / cells)[:, None] * plate_sines(cells, PLATE_MODES, lx.dtype).sum(0)  # (B, K)
        area = lx * lz * (1.0 - 0.5 * tilt)
        return -flux / (k2 * area)[:, None]

    def green(
        self,
        context: torch.Tensor,
        coords: torch.Tensor,
        geometry: torch.Tensor,
        quantities: torch.Tensor,
        k2: torch.Tensor,
    ) -> torch.Tensor:
        """G_b at x̂ (B, M, 2): (B, M, K) complex, pressure per unit amplitude of plate mode b."""
        return self._complex(self.learned(context, coords, geometry, quantities), geometry, k2)

    def _complex(self, out: torch.Tensor, geometry: torch.Tensor, k2: torch.Tensor) -> torch.Tensor:
        learned = torch.complex(out[..., :PLATE_MODES], out[..., PLATE_MODES:])
        return learned + self.mean_offset(geometry, k2)[:, None]

    def interface(self, geometry: torch.Tensor) -> torch.Tensor:
        """x̂ of the interior plate-grid nodes on the plate, (B, n − 1, 2)."""
        cells = self.config["interface_cells"]
        i = torch.arange(1, cells, dtype=geometry.dtype)
        x = geometry[:, :1] * i / cells
        return torch.stack([x, geometry[:, 1:2].expand_as(x)], dim=-1)

    def amplitudes(
        self,
        context: torch.Tensor,
        geometry: torch.Tensor,
        quantities: torch.Tensor,
        k2: torch.Tensor,
        alpha: torch.Tensor,
        beta: torch.Tensor,
    ) -> torch.Tensor:
        """Plate modal amplitudes W, (B, K) complex: the projected plate equation (module docstring) with the
        cavity pressure Σ_b W_b G_b; α (B,) complex, β (B,) real."""
        g = self.green(context, self.interface(geometry), geometry, quantities, k2)  # (B, n−1, K)
        return plate_amplitudes(g, geometry[:, 0], alpha, beta, self.config["interface_cells"])

    def fields(
        self,
        context: torch.Tensor,
        modal: torch.Tensor,
        coords: torch.Tensor,
        plate: torch.Tensor,
        geometry: torch.Tensor,
        quantities: torch.Tensor,
        k2: torch.Tensor,
        local: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, M) complex at x̂ (B, M, 2) with plate mask (M,) bool: p̂ = Σ W_b G_b on cavity points and
        ŵ = Σ W_a sin(aπx/lx) on plate points; ``modal`` (B, K) from :meth:`amplitudes`; ``local``: the
        cavity points' local features when already computed (:meth:`forward`)."""
        out = torch.zeros(coords.shape[:2], dtype=modal.dtype)
        cavity = ~plate
        if bool(cavity.any()):
            if local is None:
                local = self.local(self._features(coords[:, cavity], geometry, quantities))
            g = self._complex(self._head(context, local, geometry), geometry, k2)
            out[:, cavity] = torch.einsum("bmk,bk->bm", g, modal)
        if bool(plate.any()):
            shapes = self.mode_shapes(coords[:, plate, 0], geometry)
            out[:, plate] = torch.einsum("bmk,bk->bm", shapes.to(modal.dtype), modal)
        return out

    def forward(
        self,
        coords: torch.Tensor,
        plate: torch.Tensor,
        geometry: torch.Tensor,
        quantities: torch.Tensor,
        k2: torch.Tensor,
        alpha: torch.Tensor,
        beta: torch.Tensor,
    ) -> torch.Tensor:
        """(B, N) complex fields at every point of the clouds x̂ (B, N, 2) with plate mask (N,) bool; the cavity
        points' local features serve both the global feature and the cavity head (one pass, as the
        coordinates are the cloud's own)."""
        local = self.local(self._features(coords[:, ~plate], geometry, quantities))
        context = self._context(local, quantities)
        modal = self.amplitudes(context, geometry, quantities, k2, alpha, beta)
        return self.fields(context, modal, coords, plate, geometry, quantities, k2, local)
