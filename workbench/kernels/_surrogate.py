"""Running a whole surrogate (or any network holding MLPs) through the fused kernels, unchanged otherwise."""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from torch import nn

from ._backend import FusedMLP
from ._spec import Unsupported, extract_layers

T = TypeVar("T")


def _fuse_module(module: nn.Module, backend: str | None) -> tuple[nn.Module, int]:
    """A copy of ``module`` whose MLPs (``nn.Sequential`` that ``extract_layers`` accepts) are :class:`FusedMLP`."""
    if isinstance(module, nn.Sequential):
        try:
            extract_layers(module, max_width=None)
            return FusedMLP(module, backend), 1
        except Unsupported:
            pass
    out = copy.copy(module)
    out._modules = dict(module._modules)
    count = 0
    for name, child in module.named_children():
        out._modules[name], found = _fuse_module(child, backend)
        count += found
    return out, count


def accelerate(model: T, backend: str | None = None) -> T:
    """``model`` with every MLP inside it run by :class:`FusedMLP` (the automatic backend by default).

    ``model`` is an ``nn.Module`` (e.g. a compressed surrogate network) or an object whose ``net``
    attribute is one (the surrogates of ``workbench.surrogates``, which an env takes as
    ``model=``). The result is a shallow copy that shares every weight with ``model``, in which
    each ``nn.Sequential`` of Linear / CompressedLinear layers and activations is replaced by a
    ``FusedMLP`` over it; ``model`` itself is not changed. Gradients with respect to the inputs
    still flow (through the reference).

    Raises:
        ValueError: ``model`` is neither an ``nn.Module`` nor has a ``net`` module, or holds no
            MLP the kernels can run.
    """
    net: Any = model if isinstance(model, nn.Module) else getattr(model, "net", None)
    if not isinstance(net, nn.Module):
        raise ValueError(f"model must be an nn.Module or have a 'net' nn.Module; got {type(model).__name__}")
    fused, count = _fuse_module(net, backend)
    if count == 0:
        raise ValueError(
            f"model must hold at least one nn.Sequential MLP the kernels can run; got none in {type(net).__name__}"
        )
    if net is model:
        return fused
    out = copy.copy(model)
    out.net = fused
    return out
