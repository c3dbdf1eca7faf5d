"""The compressed layer and model: packed weights, a fake-quant torch forward, save and load.

:func:`compress_model` deep-copies a network and swaps each chosen ``nn.Linear`` (or 1×1
``nn.Conv1d`` / ``nn.Conv2d``) for a :class:`CompressedLinear`, so the result is a drop-in torch
module with the original's call signature. Packed layouts are described in ``_pack``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from ._pack import from_blocks, pack_bits, pack_int4, to_blocks, to_panels, unpack_bits, unpack_int4
from ._quant import QuantSpec, bcq_weight, dequantize, expand

FORMAT_VERSION = 1


def quantizable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Linear and 1×1 convolution (groups = 1), in registration order."""
    found = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            found.append((name, module))
        elif (
            isinstance(module, nn.Conv1d | nn.Conv2d)
            and all(k == 1 for k in module.kernel_size)
            and module.groups == 1
            and all(s == 1 for s in module.stride)
            and all(p == 0 for p in module.padding)
        ):
            found.append((name, module))
    return found


def weight_matrix(layer: nn.Module) -> torch.Tensor:
    """The (C_out, C_in) weight of a Linear or 1×1 convolution."""
    return layer.weight.detach().reshape(layer.weight.shape[0], -1)


@dataclass(frozen=True)
class LayerPayload:
    """What a compressed layer stores, before packing (all weights (C_out, C_in)).

    Exactly one of ``weight`` (float), ``codes`` (int16, with ``spec``, ``scale``, ``zero``) or
    ``alpha`` + ``planes`` (BCQ) is given. ``mask`` (bool) with ``block`` marks 1×N block sparsity;
    ``act_bits`` = 8 quantizes the layer's input per row on the fly (W8A8), on a symmetric grid or,
    with ``act_symmetric`` False, an asymmetric one with a per-row zero point; ``smooth`` (C_in,) > 0
    divides the input per channel (before it is quantized, if it is), the codes holding W·diag(smooth)
    (SmoothQuant's migration of activation outliers into the weights); ``rotate`` then multiplies
    the (smoothed) input by the orthonormal Hadamard matrix H (C_in a power of two), the codes
    holding W·diag(smooth)·H, so outliers spread over every channel before the per-row grid is set
    (QuaRot's online rotation; H is rebuilt, not stored).
    """

    weight: torch.Tensor | None = None
    codes: torch.Tensor | None = None
    spec: QuantSpec | None = None
    scale: torch.Tensor | None = None
    zero: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    planes: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    block: int | None = None
    act_bits: int | None = None
    act_symmetric: bool = True
    smooth: torch.Tensor | None = None
    rotate: bool = False


def hadamard(n: int) -> torch.Tensor:
    """The (n, n) orthonormal Hadamard matrix (Sylvester), n a power of two: H·Hᵀ = I."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n & (n - 1):
        raise ValueError(f"n must be a power of two >= 1; got n={n!r}")
    return torch.as_tensor(scipy.linalg.hadamard(n) / math.sqrt(n), dtype=torch.float32)


def row_grid(x: torch.Tensor, bits: int, dim: int, symmetric: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic per-row activation grid of x (any shape, float) along ``dim``: (scale s > 0, integer
    zero point z), each shaped like x with ``dim`` reduced to 1; s is in the units of x per code.

    Symmetric: s = amax|x|/(2^(b−1)−1), z = 0. Asymmetric: the row's range [min(x, 0), max(x, 0)]
    is spread over all 2^b signed codes, s = (hi − lo)/(2^b − 1) and z = round(−lo/s) − 2^(b−1), so a
    one-sided row (e.g. after SiLU, whose minimum is −0.278) keeps the resolution the sign bit would waste.
    Codes are clamp(round(x/s) + z, −2^(b−1), 2^(b−1)−1) and x ≈ s·(codes − z).
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer in [2, 8]; got bits={bits!r}")
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if symmetric:
        scale = (x.abs().amax(dim=dim, keepdim=True) / qmax).clamp_min(1e-12)
        return scale, torch.zeros_like(scale)
    lo = x.amin(dim=dim, keepdim=True).clamp_max(0.0)
    hi = x.amax(dim=dim, keepdim=True).clamp_min(0.0)
    scale = ((hi - lo) / (qmax - qmin)).clamp_min(1e-12)
    return scale, torch.clamp(torch.round(-lo / scale) + qmin, qmin, qmax)


def quantize_rows(x: torch.Tensor, bits: int, dim: int, symmetric: bool = True) -> torch.Tensor:
    """Dynamic per-row fake quantization s·(clamp(round(x/s) + z) − z) on the grid of :func:`row_grid`."""
    scale, zero = row_grid(x, bits, dim, symmetric)
    codes = torch.clamp(torch.round(x / scale) + zero, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return (codes - zero) * scale


class CompressedLinear(nn.Module):
    """A Linear / 1×1 convolution whose weight lives in packed form.

    The forward unpacks the codes once (cached, not saved), dequantizes with the current scales
    (so PEQA and AlphaTuning can train them) and calls ``F.linear`` / ``F.conv*d``.

    Attributes:
        kind: ``"linear"``, ``"conv1d"`` or ``"conv2d"``.
        shape: (C_out, C_in).
        fmt: ``"float"``, ``"int8"``, ``"int4"`` or ``"bcq"``.
        config: JSON-able description (spec, block, act_bits, format) saved with the tensors.
    """

    def __init__(self, kind: str, shape: tuple[int, int], config: dict[str, Any]) -> None:
        super().__init__()
        self.kind, self.shape, self.config = kind, (int(shape[0]), int(shape[1])), config
        self.fmt = config["format"]
        self.spec = QuantSpec(**config["spec"]) if config.get("spec") else None
        self.block = config.get("block")
        self.act_bits = config.get("act_bits")
        self.act_symmetric = config.get("act_symmetric", True)
        self.rotation = hadamard(self.shape[1]) if config.get("rotate") else None
        self._cache: torch.Tensor | None = None

    @classmethod
    def from_payload(cls, layer: nn.Module, payload: LayerPayload) -> CompressedLinear:
        """Pack ``payload`` for ``layer`` (whose bias is copied)."""
        shape = tuple(weight_matrix(layer).shape)
        kind = "linear" if isinstance(layer, nn.Linear) else type(layer).__name__.lower()
        sparse = payload.mask is not None
        if payload.codes is not None:
            fmt = "int4" if payload.spec.bits <= 4 and not sparse else "int8"
        else:
            fmt = "bcq" if payload.alpha is not None else "float"
        config = {
            "format": fmt,
            "spec": asdict(payload.spec) if payload.spec else None,
            "block": payload.block if sparse else None,
            "act_bits": payload.act_bits,
            "act_symmetric": payload.act_symmetric,
            "rotate": payload.rotate,
        }
        module = cls(kind, shape, config)
        tensors: dict[str, torch.Tensor] = {}
        if fmt == "bcq":
            tensors["planes"] = pack_bits(payload.planes.transpose(1, 2).contiguous())
            tensors["alpha"] = payload.alpha.detach().clone()
        elif payload.codes is not None:
            tensors["scale"], tensors["zero"] = payload.scale.detach().clone(), payload.zero.detach().clone()
            codes_t = payload.codes.t().contiguous()
            if sparse:
                centred = payload.codes.to(torch.int16) - expand(payload.zero, payload.spec, shape).to(torch.int16)
                dtype = torch.int8 if centred.abs().max() <= 127 else torch.int16
                tensors |= to_blocks(centred.to(dtype), payload.mask, payload.block)
            else:
                dtype = torch.int8 if payload.spec.symmetric else torch.uint8
                tensors["codes"] = pack_int4(codes_t) if fmt == "int4" else codes_t.to(dtype)
        elif sparse:
            tensors |= to_blocks(payload.weight.detach().float(), payload.mask, payload.block)
        else:
            tensors["weight"] = payload.weight.detach().float().clone()
        if layer.bias is not None:
            tensors["bias"] = layer.bias.detach().clone()
        if payload.smooth is not None:
            tensors["smooth"] = payload.smooth.detach().float().clone()
        module.load_tensors(tensors)
        if kind != "linear":
            module.conv_shape = tuple(layer.weight.shape)
        return module

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Register the packed tensors; ``scale`` and ``alpha`` become frozen parameters."""
        for name, value in tensors.items():
            if name in ("scale", "alpha"):
                self.register_parameter(name, nn.Parameter(value, requires_grad=False))
            else:
                self.register_buffer(name, value)

    def _unpacked(self) -> torch.Tensor:
        """Integer codes (C_out, C_in) (centred when sparse), BCQ planes, or the float weight; cached."""
        if self._cache is None:
            c_out, c_in = self.shape
            if self.block is not None:
                self._cache = from_blocks(self._blocks(), c_in)
            elif self.fmt == "bcq":
                self._cache = unpack_bits(self.planes, c_in).transpose(1, 2).contiguous()
            elif self.fmt == "int4":
                self._cache = unpack_int4(self.codes, c_in, self.spec.symmetric).t().contiguous()
            elif self.fmt == "int8":
                self._cache = self.codes.t().contiguous()
            else:
                self._cache = self.weight
        return self._cache

    def _blocks(self) -> dict[str, torch.Tensor]:
        return {"block_ptr": self.block_ptr, "block_cols": self.block_cols, "block_values": self.block_values}

    def tile_panels(self) -> dict[str, torch.Tensor]:
        """The block-sparse weight in the gather form of ``_pack.to_panels`` (stored values: float or centred codes)."""
        if self.block is None:
            raise ValueError(f"tile_panels needs a block-sparse layer; got format {self.fmt!r} without blocks")
        mask = from_blocks(self._blocks() | {"block_values": torch.ones_like(self.block_values)}, self.shape[1])
        return to_panels(self._unpacked().t(), mask.t() != 0, self.block)

    def dense_weight(self) -> torch.Tensor:
        """The (C_out, C_in) float weight the forward uses (differentiable in ``scale`` / ``alpha``)."""
        stored = self._unpacked()
        if self.fmt == "bcq":
            return bcq_weight(self.alpha, stored)
        if self.fmt == "float":
            return stored
        if self.block is not None:
            return expand(self.scale, self.spec, self.shape) * stored.to(self.scale.dtype)
        return dequantize(stored, self.scale, self.zero, self.spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.dense_weight()
        bias = getattr(self, "bias", None)
        if self.kind == "linear":
            return F.linear(self._input(x, -1), w, bias)
        x = self._input(x, 1)
        conv = F.conv1d if self.kind == "conv1d" else F.conv2d
        return conv(x, w.reshape(self.conv_shape), bias)

    def _input(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """The input as the weight expects it: smoothed and rotated if the codes hold those transforms, then
        quantized per row (W8A8, see :func:`row_grid`) if ``act_bits`` is set; unchanged for a plain layer."""
        smooth = getattr(self, "smooth", None)
        if not self.act_bits and smooth is None and self.rotation is None:
            return x
        x = x.movedim(dim, -1)
        if smooth is not None:
            x = x / smooth
        if self.rotation is not None:
            x = x @ self.rotation
        if self.act_bits:
            x = quantize_rows(x, self.act_bits, dim=-1, symmetric=self.act_symmetric)
        return x.movedim(-1, dim)

    def nbytes(self) -> int:
        """Bytes of everything stored for this layer (packed weights, scales, indices, bias)."""
        return sum(t.numel() * t.element_size() for t in (*self.buffers(), *self.parameters()))


def compress_model(model: nn.Module, payloads: dict[str, LayerPayload]) -> nn.Module:
    """A deep copy of ``model`` with each named layer replaced by its :class:`CompressedLinear`."""
    known = dict(quantizable_layers(model))
    for name in payloads:
        if name not in known:
            raise ValueError(f"payload layer must be one of {sorted(known)}; got {name!r}")
    out = copy.deepcopy(model)
    for name, payload in payloads.items():
        set_module(out, name, CompressedLinear.from_payload(known[name], payload))
    return out


def set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    """Replace the submodule called ``name`` (dotted path) of ``model`` by ``module``."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def compressed_layers(model: nn.Module) -> list[tuple[str, CompressedLinear]]:
    """(name, layer) of every :class:`CompressedLinear` in ``model``."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, CompressedLinear)]


def model_bytes(model: nn.Module) -> int:
    """Stored bytes: packed compressed layers plus every other parameter and buffer at its dtype."""
    packed = {id(t) for _, m in compressed_layers(model) for t in (*m.buffers(), *m.parameters())}
    rest = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()) if id(t) not in packed)
    return rest + sum(m.nbytes() for _, m in compressed_layers(model))


def save_compressed(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write a compressed model (its compressed layers and the rest of its state) to ``path`` (torch format).

    ``meta`` (JSON-able, e.g. ``{"model": "thz", ...}``) is stored and checked again on load.
    """
    layers = {}
    for name, layer in compressed_layers(model):
        tensors = {k: v.detach().clone() for k, v in (*layer.named_buffers(), *layer.named_parameters())}
        layers[name] = {"kind": layer.kind, "shape": layer.shape, "config": layer.config, "tensors": tensors}
        if layer.kind != "linear":
            layers[name]["conv_shape"] = layer.conv_shape
    names = {n for n in layers}
    rest = {k: v for k, v in model.state_dict().items() if k.rpartition(".")[0] not in names}
    path = Path(path)
    torch.save({"format_version": FORMAT_VERSION, "meta": meta, "layers": layers, "rest": rest}, path)
    return path


def load_compressed(path: str | Path, model: nn.Module, expect: dict[str, Any] | None = None) -> nn.Module:
    """Rebuild a saved compressed model on top of ``model`` (the fp32 architecture it came from).

    Args:
        path: file written by :func:`save_compressed`.
        model: an instance of the original network (its weights are replaced).
        expect: metadata the checkpoint must match, e.g. ``{"model": "thz"}``.

    Raises:
        ValueError: another format version, metadata that disagrees with ``expect``, or layers
            missing from / shaped differently in ``model`` (the message names field and values).
    """
    blob = torch.load(Path(path), weights_only=True)
    if blob.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format_version must be {FORMAT_VERSION}; got format_version={blob.get('format_version')!r}")
    for key, value in (expect or {}).items():
        if blob["meta"].get(key) != value:
            raise ValueError(f"checkpoint {key} must be {value!r}; got {key}={blob['meta'].get(key)!r} in {path}")
    known = dict(quantizable_layers(model))
    out = copy.deepcopy(model)
    for name, entry in blob["layers"].items():
        if name not in known:
            raise ValueError(f"checkpoint layer {name!r} must be one of the model's layers {sorted(known)}")
        shape = tuple(weight_matrix(known[name]).shape)
        if tuple(entry["shape"]) != shape:
            raise ValueError(f"layer {name} shape must be {shape}; got shape={tuple(entry['shape'])} in {path}")
        layer = CompressedLinear(entry["kind"], shape, entry["config"])
        layer.load_tensors(entry["tensors"])
        if entry["kind"] != "linear":
            layer.conv_shape = tuple(entry["conv_shape"])
        set_module(out, name, layer)
    out.load_state_dict(blob["rest"], strict=False)
    return out
