"""What the fused kernels consume: a chain of :class:`FusedLayer` read from an MLP.

An MLP is an ``nn.Sequential`` of ``nn.Linear`` / linear :class:`~workbench.compress.CompressedLinear`
layers, each optionally followed by one activation. Every weight is kept in the transposed
[K, N] = [C_in, C_out] layout of ``workbench.compress``:

* ``"float"``: ``weight`` (K, N) float32 (plain Linear, float block-sparse layers and BCQ
  layers, whose dense weight is formed once);
* ``"w8a8"``: symmetric int8 ``codes`` (K, N) with one scale per output channel; the layer's input
  is quantized per row on the fly (s = amax|h|/127) and the dot is accumulated in int32;
* ``"int8"`` / ``"int4"``: weight-only codes, int8/uint8 (K, N) or two 4-bit codes per byte
  (⌈K/2⌉, N), dequantized as s·(c − z) with per-tensor, per-channel or per-group scales.

``scale`` and ``zero`` are (G, N) float32: G = 1 for per-tensor / per-channel grids, G = K/g for
groups of g input channels (``group`` = g, or K when G = 1).

Block-sparse layers (``workbench.compress`` 1×N block lists, aligned or unaligned) carry ``keep``
(K, N) bool, True on the kept weights, and their weight is zero elsewhere: ``"float"`` layers, or
``"int8"`` layers whose ``codes`` are the stored centred codes (zero point already subtracted, so
``zero`` is 0 and W = s·c). The kernels turn ``keep`` into tile panels and skip pruned blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from workbench.compress import CompressedLinear, from_blocks

MAX_WIDTH = 256
MAX_LINEAR = 5  # up to four hidden layers
ACTIVATIONS = ("none", "silu", "gelu_tanh", "relu", "tanh")
MODES = ("float", "w8a8", "int8", "int4")


class Unsupported(ValueError):
    """A model the fused kernels cannot run (the message names the parameter, bound and value)."""


@dataclass(frozen=True)
class FusedLayer:
    """One linear layer and the activation after it (shapes in the module docstring)."""

    mode: str
    c_in: int
    c_out: int
    bias: torch.Tensor
    act: str = "none"
    weight: torch.Tensor | None = None
    codes: torch.Tensor | None = None
    signed: bool = True
    scale: torch.Tensor | None = None
    zero: torch.Tensor | None = None
    group: int = 1
    keep: torch.Tensor | None = None


def _activation(module: nn.Module) -> str:
    if isinstance(module, nn.SiLU):
        return "silu"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.GELU) and module.approximate == "tanh":
        return "gelu_tanh"
    raise Unsupported(
        f"activation must be one of SiLU, ReLU, Tanh, GELU(approximate='tanh'); got {module!r} "
        "(exact GELU needs erf, which the kernels do not build)"
    )


def _scale_rows(param: torch.Tensor, granularity: str, c_out: int) -> torch.Tensor:
    """A compress scale / zero point (C_out, G) or (1, 1) → (G, C_out) float32."""
    if granularity == "tensor":
        return param.detach().float().reshape(1, 1).expand(1, c_out).contiguous()
    return param.detach().float().t().contiguous()


def _from_compressed(layer: CompressedLinear) -> FusedLayer:
    c_out, c_in = layer.shape
    if layer.kind != "linear":
        raise Unsupported(f"layer kind must be 'linear'; got kind={layer.kind!r}")
    if any(p.requires_grad for p in layer.parameters()):
        raise Unsupported("compressed scales must be frozen (requires_grad=False); got trainable scales")
    bias = getattr(layer, "bias", None)
    bias = torch.zeros(c_out) if bias is None else bias.detach().float()
    smooth, rotate = getattr(layer, "smooth", None), bool(layer.config.get("rotate"))
    if smooth is not None or rotate:
        raise Unsupported(
            "layer input transforms are not fused: smooth must be None and rotate False; got "
            f"smooth={'a per-channel tensor' if smooth is not None else None}, rotate={rotate}"
        )
    spec = layer.spec
    if layer.block is not None and layer.act_bits is None and layer.fmt in ("float", "int8"):
        return _from_block_sparse(layer, bias)
    plain_codes = layer.fmt in ("int8", "int4") and layer.block is None
    if layer.act_bits is not None:
        if layer.act_bits != 8 or not plain_codes or layer.fmt != "int8":
            raise Unsupported(
                f"activation quantization needs act_bits=8 with dense int8 codes; got act_bits={layer.act_bits}, "
                f"format={layer.fmt!r}, block={layer.block}"
            )
        if not layer.act_symmetric:
            raise Unsupported(
                "W8A8 inputs are quantized on a symmetric per-row grid in the kernels: act_symmetric must be True; "
                "got act_symmetric=False (a per-row zero point)"
            )
        if not spec.symmetric or spec.granularity not in ("tensor", "channel"):
            raise Unsupported(
                "W8A8 needs symmetric per-tensor or per-channel weight scales; got "
                f"symmetric={spec.symmetric}, granularity={spec.granularity!r}"
            )
        scale = _scale_rows(layer.scale, spec.granularity, c_out)
        return FusedLayer("w8a8", c_in, c_out, bias, codes=layer.codes, scale=scale, group=c_in)
    if not plain_codes:
        return FusedLayer("float", c_in, c_out, bias, weight=layer.dense_weight().detach().float().t().contiguous())
    if spec.granularity == "ic":
        raise Unsupported("weight scale granularity must be 'tensor', 'channel' or 'group'; got granularity='ic'")
    scale = _scale_rows(layer.scale, spec.granularity, c_out)
    zero = _scale_rows(layer.zero, spec.granularity, c_out)
    group = spec.group_size if spec.granularity == "group" else c_in
    return FusedLayer(
        layer.fmt, c_in, c_out, bias, codes=layer.codes, signed=spec.symmetric, scale=scale, zero=zero, group=group
    )


def _from_block_sparse(layer: CompressedLinear, bias: torch.Tensor) -> FusedLayer:
    """A block-list layer: float weights, or int8 centred codes with their scales (dense int16 codes run as float)."""
    c_out, c_in = layer.shape
    blocks = {"block_ptr": layer.block_ptr, "block_cols": layer.block_cols}
    keep = from_blocks(blocks | {"block_values": torch.ones_like(layer.block_values, dtype=torch.bool)}, c_in)
    keep = keep.t().contiguous()
    spec = layer.spec
    if layer.fmt == "float" or layer.block_values.dtype != torch.int8 or spec.granularity == "ic":
        weight = layer.dense_weight().detach().float().t().contiguous()
        return FusedLayer("float", c_in, c_out, bias, weight=weight, keep=keep)
    codes = from_blocks(blocks | {"block_values": layer.block_values}, c_in).t().contiguous()
    scale = _scale_rows(layer.scale, spec.granularity, c_out)
    group = spec.group_size if spec.granularity == "group" else c_in
    zero = torch.zeros_like(scale)
    return FusedLayer(
        "int8", c_in, c_out, bias, codes=codes, signed=True, scale=scale, zero=zero, group=group, keep=keep
    )


def _from_linear(layer: nn.Linear) -> FusedLayer:
    c_out, c_in = layer.weight.shape
    bias = torch.zeros(c_out) if layer.bias is None else layer.bias.detach().float()
    return FusedLayer("float", c_in, c_out, bias, weight=layer.weight.detach().float().t().contiguous())


def check_width(layers: list[FusedLayer], max_width: int = MAX_WIDTH) -> None:
    """Raise ``Unsupported`` naming the first layer wider than ``max_width`` (C_in or C_out)."""
    for i, layer in enumerate(layers):
        if max(layer.c_in, layer.c_out) > max_width:
            raise Unsupported(
                f"layer {i} width must be <= {max_width}; got (C_out, C_in)=({layer.c_out}, {layer.c_in})"
            )


def extract_layers(model: nn.Module, max_width: int | None = MAX_WIDTH) -> list[FusedLayer]:
    """The fused-layer chain of an MLP (``nn.Sequential`` of linear layers and activations).

    ``max_width``: the widest layer allowed (the Triton kernel's ``MAX_WIDTH``; None for the
    torch path, which runs any width).

    Raises:
        Unsupported: another module type, more than ``MAX_LINEAR`` linear layers, a width above
            ``max_width``, mismatched layer shapes, two activations in a row or a layer format the
            kernels do not run (the message names the parameter, its bound and the value).
    """
    if not isinstance(model, nn.Sequential):
        raise Unsupported(
            f"model must be an nn.Sequential of linear layers and activations; got {type(model).__name__}"
        )
    layers: list[FusedLayer] = []
    for module in model:
        if isinstance(module, CompressedLinear):
            layers.append(_from_compressed(module))
        elif isinstance(module, nn.Linear):
            layers.append(_from_linear(module))
        elif isinstance(module, nn.Identity | nn.Dropout):
            continue
        else:
            act = _activation(module)
            if not layers or layers[-1].act != "none":
                raise Unsupported(
                    f"each activation must follow a linear layer; got {module!r} after {len(layers)} layers"
                )
            layers[-1] = replace(layers[-1], act=act)
    if not 1 <= len(layers) <= MAX_LINEAR:
        raise Unsupported(f"number of linear layers must be in [1, {MAX_LINEAR}]; got {len(layers)}")
    if max_width is not None:
        check_width(layers, max_width)
    for i, layer in enumerate(layers):
        if i and layer.c_in != layers[i - 1].c_out:
            raise Unsupported(f"layer {i} C_in must equal layer {i - 1} C_out={layers[i - 1].c_out}; got {layer.c_in}")
    return layers
