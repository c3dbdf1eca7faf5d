"""Fused whole-MLP kernels for the (compressed) surrogates: Triton on a GPU, torch on a CPU.

:class:`FusedMLP` / :func:`fused_forward` run an ``nn.Sequential`` MLP (up to four hidden layers,
width ≤ 256, SiLU / GELU-tanh / ReLU / tanh) whose layers are ``nn.Linear`` or
``workbench.compress.CompressedLinear`` in one kernel launch, keeping activations on chip: fp32
(bf16 dots on a GPU), W8A8 int8 with per-row dynamic activation scales and int32 accumulation,
and int8 / packed-int4 weight-only layers with per-tensor, per-channel or per-group scales.
Block-sparse layers (aligned or unaligned 1×N blocks, float or int8 codes) run inside the same
kernel from tile panels that skip the pruned blocks; BCQ layers run with their dense weight. Gradients with respect to the input
flow through the pure-torch reference (``mlp_reference``).

:func:`accelerate` runs every MLP inside a network or a surrogate (``workbench.surrogates``,
compressed or not) through :class:`FusedMLP`, so that an env given it as ``model=`` evaluates its
batches with the kernels. Layers wider than ``MAX_WIDTH`` run on the torch path only.

Importing this package does not import triton; the ``triton`` and ``interpret`` backends do.
"""

from ._backend import BACKENDS, ENV_VAR, FusedMLP, fused_forward, select_backend, triton_available
from ._reference import error_bound, mlp_reference, quantize_rows
from ._spec import ACTIVATIONS, MAX_LINEAR, MAX_WIDTH, FusedLayer, Unsupported, extract_layers
from ._surrogate import accelerate

__all__ = [
    "ACTIVATIONS",
    "BACKENDS",
    "ENV_VAR",
    "MAX_LINEAR",
    "MAX_WIDTH",
    "FusedLayer",
    "FusedMLP",
    "Unsupported",
    "accelerate",
    "error_bound",
    "extract_layers",
    "fused_forward",
    "mlp_reference",
    "quantize_rows",
    "select_backend",
    "triton_available",
]
