"""Uniform quantization grids (round-to-nearest), FlexRound / LRQ learnable rounding, BCQ and AdaDim.

A weight matrix W has shape (C_out, C_in). Scales and zero points are 2-D tensors whose shape
depends on the granularity:

    tensor  (1, 1)            one scale for the matrix
    channel (C_out, 1)        one per output channel (row)
    group   (C_out, C_in/g)   one per row and run of g consecutive input channels
    ic      (1, C_in)         one per input channel (column): groups run along the output dimension

Symmetric grids hold signed codes in [−2^(b−1), 2^(b−1)−1] with zero point 0; asymmetric grids
hold unsigned codes in [0, 2^b−1] with an integer zero point. Dequantization is S·(codes − Z),
with S and Z expanded to (C_out, C_in).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

GRANULARITIES = ("tensor", "channel", "group", "ic")
MIN_BITS, MAX_BITS = 2, 8
_EPS = 1e-12


@dataclass(frozen=True)
class QuantSpec:
    """A uniform integer grid.

    Attributes:
        bits: code width b, 2 ≤ b ≤ 8.
        symmetric: signed codes and zero point 0 (else unsigned codes and an integer zero point).
        granularity: ``"tensor"``, ``"channel"``, ``"group"`` or ``"ic"`` (see the module docstring).
        group_size: g, input channels per group; required (and only allowed) for ``"group"``.
    """

    bits: int = 4
    symmetric: bool = False
    granularity: str = "channel"
    group_size: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not MIN_BITS <= self.bits <= MAX_BITS:
            raise ValueError(f"bits must be an integer in [{MIN_BITS}, {MAX_BITS}]; got bits={self.bits!r}")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {GRANULARITIES}; got granularity={self.granularity!r}")
        if self.granularity == "group":
            if isinstance(self.group_size, bool) or not isinstance(self.group_size, int) or self.group_size < 1:
                raise ValueError(
                    f"group_size must be an integer >= 1 for granularity 'group'; got group_size={self.group_size!r}"
                )
        elif self.group_size is not None:
            raise ValueError(
                f"group_size is only allowed with granularity 'group'; got group_size={self.group_size!r} "
                f"with granularity={self.granularity!r}"
            )

    @property
    def qmin(self) -> int:
        """Smallest code."""
        return -(2 ** (self.bits - 1)) if self.symmetric else 0

    @property
    def qmax(self) -> int:
        """Largest code."""
        return 2 ** (self.bits - 1) - 1 if self.symmetric else 2**self.bits - 1

    def check_shape(self, shape: tuple[int, int], name: str = "weight") -> None:
        """Raise ValueError if a (C_out, C_in) matrix cannot use this grid (group size must divide C_in)."""
        if self.granularity == "group" and shape[1] % self.group_size:
            raise ValueError(
                f"group_size must divide the input channels of {name}; got group_size={self.group_size}, "
                f"C_in={shape[1]}"
            )

    def param_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """Shape of the scale / zero-point tensor of a (C_out, C_in) matrix."""
        c_out, c_in = shape
        return {
            "tensor": (1, 1),
            "channel": (c_out, 1),
            "group": (c_out, c_in // (self.group_size or 1)),
            "ic": (1, c_in),
        }[self.granularity]


def expand(param: torch.Tensor, spec: QuantSpec, shape: tuple[int, int]) -> torch.Tensor:
    """A scale or zero point of :meth:`QuantSpec.param_shape` → broadcast to (C_out, C_in)."""
    if spec.granularity == "group":
        param = param.repeat_interleave(spec.group_size, dim=1)
    return param.expand(shape)


def _grouped(w: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """(C_out, C_in) → (*param_shape, n) with the reduction axis last."""
    c_out, c_in = w.shape
    if spec.granularity == "tensor":
        return w.reshape(1, 1, -1)
    if spec.granularity == "channel":
        return w.reshape(c_out, 1, c_in)
    if spec.granularity == "group":
        return w.reshape(c_out, c_in // spec.group_size, spec.group_size)
    return w.t().reshape(1, c_in, c_out)


def rtn_params(w: torch.Tensor, spec: QuantSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Round-to-nearest grid of a (C_out, C_in) matrix from its min/max (the range always holds 0).

    Returns:
        scale: float tensor of ``spec.param_shape``, > 0, weight units per code.
        zero: float tensor of the same shape holding integers (0 when symmetric).
    """
    spec.check_shape(tuple(w.shape))
    g = _grouped(w.detach(), spec)
    if spec.symmetric:
        scale = (g.abs().amax(dim=-1) / spec.qmax).clamp_min(_EPS)
        return scale, torch.zeros_like(scale)
    lo, hi = g.amin(dim=-1).clamp_max(0.0), g.amax(dim=-1).clamp_min(0.0)
    scale = ((hi - lo) / (spec.qmax - spec.qmin)).clamp_min(_EPS)
    zero = torch.clamp(torch.round(-lo / scale) + spec.qmin, spec.qmin, spec.qmax)
    return scale, zero


def quantize(w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """Integer codes clamp(⌊W ⊘ S⌉ + Z, qmin, qmax) as int16, shape of ``w``."""
    shape = tuple(w.shape)
    codes = torch.round(w / expand(scale, spec, shape)) + expand(zero, spec, shape)
    return torch.clamp(codes, spec.qmin, spec.qmax).to(torch.int16)


def dequantize(codes: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """S·(codes − Z), float, shape of ``codes``."""
    shape = tuple(codes.shape)
    return expand(scale, spec, shape) * (codes.to(scale.dtype) - expand(zero, spec, shape))


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round to nearest with the straight-through gradient (identity)."""
    return x + (torch.round(x) - x).detach()


class FlexRoundQuantizer(nn.Module):
    """FlexRound: Ŵ = s₁·(clamp(⌊W ⊘ S⌉ + z, qmin, qmax) − z) with S = s₁ ⊙ S₂ ⊙ s₃ ⊙ s₄.

    Every factor is learned as a log: s₁ = s₁⁰·exp(δ₁) with s₁⁰, z from round-to-nearest and
    δ₁ = log S₂ = log s₃ = log s₄ = 0 at the start, so the first forward equals RTN bit for bit.
    Rounding is by element-wise division, and ∂Ŵ/∂log S₂ = −s₁·W/S inside the clamp range (STE).

    Args:
        weight: (C_out, C_in) float tensor (a copy is kept, never trained).
        spec: the integer grid; s₁ has ``spec.param_shape``.
        learn_s2: learn the element-wise S₂ (C_out, C_in).
        learn_row: learn s₃ (C_out, 1).
        learn_col: learn s₄ (1, C_in) (FlexRound uses it for convolutions).
    """

    def __init__(
        self,
        weight: torch.Tensor,
        spec: QuantSpec,
        learn_s2: bool = True,
        learn_row: bool = True,
        learn_col: bool = False,
    ) -> None:
        super().__init__()
        if weight.dim() != 2:
            raise ValueError(f"weight must be a (C_out, C_in) matrix; got weight of shape {tuple(weight.shape)}")
        self.spec = spec
        self.shape = (int(weight.shape[0]), int(weight.shape[1]))
        scale, zero = rtn_params(weight, spec)
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("scale0", scale)
        self.register_buffer("zero", zero)
        self.log_s1 = nn.Parameter(torch.zeros_like(scale))
        c_out, c_in = self.shape
        self.log_s2 = nn.Parameter(torch.zeros(c_out, c_in)) if learn_s2 else None
        self.log_s3 = nn.Parameter(torch.zeros(c_out, 1)) if learn_row else None
        self.log_s4 = nn.Parameter(torch.zeros(1, c_in)) if learn_col else None

    def extra_log(self) -> torch.Tensor | float:
        """log(S₂ ⊙ s₃ ⊙ s₄), broadcastable to (C_out, C_in)."""
        total: torch.Tensor | float = 0.0
        for p in (self.log_s2, self.log_s3, self.log_s4):
            if p is not None:
                total = total + p
        return total

    def scale(self) -> torch.Tensor:
        """s₁ = s₁⁰·exp(δ₁), ``spec.param_shape``."""
        return self.scale0 * torch.exp(self.log_s1)

    def _divisor(self) -> torch.Tensor:
        return expand(self.scale0, self.spec, self.shape) * torch.exp(
            expand(self.log_s1, self.spec, self.shape) + self.extra_log()
        )

    def forward(self) -> torch.Tensor:
        """Fake-quantized weight Ŵ, (C_out, C_in), differentiable in every learnable log."""
        z = expand(self.zero, self.spec, self.shape)
        codes = torch.clamp(round_ste(self.weight / self._divisor()) + z, self.spec.qmin, self.spec.qmax)
        return expand(self.scale(), self.spec, self.shape) * (codes - z)

    @torch.no_grad()
    def export(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(codes int16 (C_out, C_in), scale s₁, zero z): Ŵ = dequantize(codes, scale, zero)."""
        z = expand(self.zero, self.spec, self.shape)
        codes = torch.clamp(torch.round(self.weight / self._divisor()) + z, self.spec.qmin, self.spec.qmax)
        return codes.to(torch.int16), self.scale().detach().clone(), self.zero.clone()


class LRQQuantizer(FlexRoundQuantizer):
    """LRQ: FlexRound with log S₂ replaced by the low-rank L·U plus row and column vectors.

    S = s₁ ⊙ exp(L·U + r·1ᵀ + 1·cᵀ), with L (C_out, k) zeros, U (k, C_in) Kaiming-uniform (a=√5),
    r (C_out, 1) and c (1, C_in) zeros, so the start is RTN exactly. Learnables besides s₁:
    k·(C_out + C_in) + C_out + C_in.

    Args:
        weight, spec: as in :class:`FlexRoundQuantizer`.
        rank: k, 1 ≤ k ≤ min(C_out, C_in).
    """

    def __init__(self, weight: torch.Tensor, spec: QuantSpec, rank: int) -> None:
        super().__init__(weight, spec, learn_s2=False, learn_row=True, learn_col=True)
        c_out, c_in = self.shape
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(c_out, c_in):
            raise ValueError(f"rank must be an integer in [1, min(C_out, C_in)={min(c_out, c_in)}]; got rank={rank!r}")
        self.lrq_l = nn.Parameter(torch.zeros(c_out, rank))
        self.lrq_u = nn.Parameter(torch.empty(rank, c_in))
        nn.init.kaiming_uniform_(self.lrq_u, a=math.sqrt(5))

    def extra_log(self) -> torch.Tensor | float:
        """log S = L·U + r + c."""
        return self.lrq_l @ self.lrq_u + super().extra_log()


def bcq_init(
    w: torch.Tensor, q: int, rounds: int = 15, group_size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Binary-coding quantization W ≈ Σᵢ diag(αᵢ)·Bᵢ: greedy start, then alternating refinement.

    Greedy: α₁ = mean|w| and B₁ = sign(w) per row (or row group), repeated on the residual.
    Each round then solves least squares for α with B fixed and picks, per weight, the nearest of
    the 2^q levels Σᵢ ±αᵢ with α fixed; neither step can raise the squared error.

    Args:
        w: (C_out, C_in) float tensor.
        q: number of bit planes, 1 ≤ q ≤ 8.
        rounds: alternating rounds after the greedy start, ≥ 0.
        group_size: input channels sharing one α per row (None: the whole row); must divide C_in.

    Returns:
        alpha: (q, C_out, C_in/g) float scales.
        planes: (q, C_out, C_in) int8 in {−1, +1}.
        history: squared Frobenius error after the greedy start and after each round, length rounds + 1.
    """
    if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= MAX_BITS:
        raise ValueError(f"q must be an integer in [1, {MAX_BITS}]; got q={q!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"rounds must be an integer >= 0; got rounds={rounds!r}")
    c_out, c_in = w.shape
    g = c_in if group_size is None else group_size
    if g < 1 or c_in % g:
        raise ValueError(f"group_size must divide C_in={c_in}; got group_size={group_size!r}")
    rows = w.detach().double().reshape(c_out * (c_in // g), g)
    alpha = torch.zeros(rows.shape[0], q, dtype=torch.float64)
    planes = torch.zeros(rows.shape[0], q, g, dtype=torch.float64)
    residual = rows.clone()
    for i in range(q):
        planes[:, i] = torch.where(residual >= 0, 1.0, -1.0)
        alpha[:, i] = residual.abs().mean(dim=1)
        residual = residual - alpha[:, i : i + 1] * planes[:, i]
    history = [float(residual.pow(2).sum())]
    signs = torch.tensor(
        [[1.0 if (k >> i) & 1 else -1.0 for i in range(q)] for k in range(2**q)], dtype=torch.float64
    )  # (2^q, q)
    for _ in range(rounds):
        alpha = torch.linalg.lstsq(planes.transpose(1, 2), rows.unsqueeze(-1), driver="gelsd").solution.squeeze(-1)
        levels, order = torch.sort(alpha @ signs.t(), dim=1)  # (rows, 2^q) ascending
        upper = torch.searchsorted(levels, rows.contiguous()).clamp(1, 2**q - 1)
        lower = upper - 1
        pick_upper = (levels.gather(1, upper) - rows) < (rows - levels.gather(1, lower))
        nearest = order.gather(1, torch.where(pick_upper, upper, lower))  # (rows, g) combination index
        planes = signs[nearest].permute(0, 2, 1)
        history.append(float((rows - (alpha.unsqueeze(-1) * planes).sum(dim=1)).pow(2).sum()))
    alpha_out = alpha.t().reshape(q, c_out, c_in // g).to(w.dtype)
    planes_out = planes.permute(1, 0, 2).reshape(q, c_out, c_in).to(torch.int8)
    return alpha_out, planes_out, history


def bcq_weight(alpha: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
    """Σᵢ diag(αᵢ)·Bᵢ from alpha (q, C_out, G) and planes (q, C_out, C_in) → (C_out, C_in)."""
    g = planes.shape[2] // alpha.shape[2]
    return (alpha.repeat_interleave(g, dim=2) * planes.to(alpha.dtype)).sum(dim=0)


def adadim_choice(w: torch.Tensor, x: torch.Tensor, bits: int, symmetric: bool = False) -> str:
    """AdaDim's per-layer choice: ``"channel"`` (per output channel) or ``"ic"`` (per input channel).

    Picks the RTN grid with the smaller output reconstruction error ‖X·Wᵀ − X·Ŵᵀ‖² on the
    calibration inputs ``x`` (n, C_in).
    """
    errors = {}
    for granularity in ("channel", "ic"):
        spec = QuantSpec(bits=bits, symmetric=symmetric, granularity=granularity)
        scale, zero = rtn_params(w, spec)
        w_hat = dequantize(quantize(w, scale, zero, spec), scale, zero, spec)
        errors[granularity] = float((x @ (w - w_hat).t()).pow(2).sum())
    return min(errors, key=errors.get)
