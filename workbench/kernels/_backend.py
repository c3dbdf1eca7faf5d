"""Backend choice, the :class:`FusedMLP` module and the autograd wrapper.

Backends:

* ``"triton"``: the compiled fused kernel; needs triton and a CUDA tensor;
* ``"interpret"``: the same kernel under the Triton interpreter (numpy, slow; for tests on any
  machine). Triton must be imported with ``TRITON_INTERPRET=1`` (this backend sets it when triton
  is not imported yet), and a process then runs in that mode only;
* ``"torch"``: the CPU fast path (``_cpu.run_fast``), the reference evaluated with weights
  dequantized once, W8A8 dots by ``torch._int_mm`` between Numba quantize / rescale loops, on
  cache-sized blocks of rows.

``backend=None`` reads ``WORKBENCH_KERNEL_BACKEND``, and if that is unset picks ``"triton"`` for
CUDA tensors when triton imports and ``"torch"`` otherwise.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from types import ModuleType

import torch
from torch import nn

from ._reference import PreparedLayer, prepare, run_prepared
from ._spec import FusedLayer, Unsupported, check_width, extract_layers

BACKENDS = ("triton", "interpret", "torch")
ENV_VAR = "WORKBENCH_KERNEL_BACKEND"
log = logging.getLogger("workbench.kernels")
# the torch path runs the whole MLP on blocks of rows whose widest activation has this many
# elements, so that a block's activations stay in cache between layers (as on chip in the Triton
# kernel). Best of 32 Ki to 1 Mi elements at batch 4,096 on one core (widths 128 and 256): 64 Ki
# for float and weight-only models, 32 Ki for models with W8A8 layers, whose blocks also hold
# int8 codes and int32 dots (2,944 vs 3,128 µs at width 128; 9,717 vs 9,773 µs at 256)
CPU_BLOCK_ELEMENTS = 65536
CPU_BLOCK_ELEMENTS_W8A8 = 32768


def triton_available() -> bool:
    """Whether the ``triton`` package can be imported (it is in the ``gpu`` extra)."""
    return importlib.util.find_spec("triton") is not None


def triton_mode() -> str | None:
    """How the imported triton runs ``@triton.jit`` code: ``"interpret"``, ``"compiled"``, or None if not imported.

    Triton fixes this for its own library functions when it is first imported, from
    ``TRITON_INTERPRET``, so one process runs in one mode only.
    """
    if "triton" not in sys.modules:
        return None
    from triton.language import standard
    from triton.runtime.interpreter import InterpretedFunction

    return "interpret" if isinstance(standard.sigmoid, InterpretedFunction) else "compiled"


def load_triton(interpret: bool) -> ModuleType:
    """The kernel module (imports triton, under ``TRITON_INTERPRET=1`` for the interpreter).

    Raises:
        RuntimeError: triton cannot be imported, or it was already imported in the other mode.
    """
    if not triton_available():
        raise RuntimeError("the triton and interpret backends need triton (the 'gpu' extra: pip install triton)")
    want = "interpret" if interpret else "compiled"
    if triton_mode() is None and interpret:
        os.environ["TRITON_INTERPRET"] = "1"
    from . import _triton

    if triton_mode() != want:
        raise RuntimeError(
            f"backend {'interpret' if interpret else 'triton'!r} needs triton imported in {want} mode "
            f"(TRITON_INTERPRET={'1' if interpret else 'unset'} before the first import of triton); "
            f"got {triton_mode()} mode in this process"
        )
    return _triton


def select_backend(backend: str | None, device: torch.device) -> str:
    """The backend to run on ``device``: ``backend``, else ``$WORKBENCH_KERNEL_BACKEND``, else automatic."""
    choice = backend or os.environ.get(ENV_VAR) or "auto"
    if choice not in (*BACKENDS, "auto"):
        raise ValueError(f"backend must be one of {(*BACKENDS, 'auto')}; got backend={choice!r}")
    if choice == "auto":
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if choice == "triton" and device.type != "cuda":
        raise ValueError(f"backend 'triton' needs a CUDA tensor; got device={device}")
    return choice


class _Fused(torch.autograd.Function):
    """Kernel forward; backward through the torch reference (straight-through activation rounding)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, mlp: FusedMLP, backend: str) -> torch.Tensor:
        ctx.mlp = mlp
        ctx.save_for_backward(x)
        return mlp.run(x, backend)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            y = run_prepared(leaf, ctx.mlp.prepared(x.device), ste=True)
            (grad_x,) = torch.autograd.grad(y, leaf, grad)
        return grad_x, None, None


class FusedMLP(nn.Module):
    """An MLP (``nn.Sequential`` of Linear / CompressedLinear layers and activations) run by the fused kernels.

    A model the kernels cannot run (see ``extract_layers``) is run by its own forward, and the
    reason is logged once at construction (``strict=True`` raises it as ``Unsupported`` instead).
    Layers wider than ``MAX_WIDTH`` run on the ``"torch"`` backend only: the Triton backends use
    the model's own forward for them (``kernel_reason``; logged once, raised with ``strict``).
    Weights are read at construction; build a new ``FusedMLP`` after changing the model.
    Gradients flow to the input x only (the weights are constants here, as in inverse design);
    train through the model itself.

    Args:
        model: the network; its forward is the general path.
        backend: ``"triton"``, ``"interpret"``, ``"torch"`` or None (module docstring).
        bf16: bf16 tensor-core dots in the float and weight-only layers (``"triton"`` backend only).
        strict: raise instead of falling back.
    """

    def __init__(self, model: nn.Module, backend: str | None = None, bf16: bool = False, strict: bool = False) -> None:
        super().__init__()
        if backend is not None and backend not in (*BACKENDS, "auto"):
            raise ValueError(f"backend must be one of {(*BACKENDS, 'auto')}; got backend={backend!r}")
        self.general = model
        self.backend, self.bf16 = backend, bf16
        self.strict = strict
        self.layers: list[FusedLayer] | None = None
        self.reason: str | None = None
        self.kernel_reason: str | None = None
        try:
            self.layers = extract_layers(model, max_width=None)
            check_width(self.layers)
        except Unsupported as error:
            if self.layers is None:
                if strict:
                    raise
                self.reason = str(error)
                log.warning("fused MLP kernels cannot run this model, using its own forward: %s", error)
            else:
                self.kernel_reason = str(error)
                if backend in ("triton", "interpret"):
                    self._kernel_fallback()
        self._prepared: dict[torch.device, list[PreparedLayer]] = {}
        self._packed: dict[torch.device, dict] = {}
        self._work: dict[int, list] = {}  # CPU row-block buffers (``_cpu.workspace``) by block rows

    def _kernel_fallback(self) -> None:
        """Raise (strict) or log once that the Triton kernel leaves this model to its own forward."""
        if self.strict:
            raise Unsupported(self.kernel_reason)
        if self.reason is None:
            self.reason = self.kernel_reason
            log.warning("the fused Triton kernel cannot run this model, using its own forward: %s", self.reason)

    def prepared(self, device: torch.device) -> list[PreparedLayer]:
        """The reference's dequantized layers on ``device`` (cached)."""
        if device not in self._prepared:
            self._prepared[device] = prepare(self.layers, device)
        return self._prepared[device]

    def run(self, x: torch.Tensor, backend: str) -> torch.Tensor:
        """The fused forward of x (M, d_in) float32 contiguous on one backend, without autograd."""
        if backend == "torch":
            from ._cpu import run_fast, workspace  # numba compiles (or loads) its loops on first use

            layers = self.prepared(x.device)
            elements = CPU_BLOCK_ELEMENTS_W8A8 if any(layer.mode == "w8a8" for layer in layers) else CPU_BLOCK_ELEMENTS
            rows = max(1, elements // max(layer.weight.shape[1] for layer in layers))
            if x.device.type == "cpu" and rows not in self._work:
                self._work = {rows: workspace(layers, rows)}
            work = self._work[rows] if x.device.type == "cpu" else None
            y = torch.empty(x.shape[0], self.layers[-1].c_out, dtype=torch.float32, device=x.device)
            with torch.no_grad():
                for start in range(0, x.shape[0], rows):
                    run_fast(x[start : start + rows], layers, y[start : start + rows], work)
            return y
        if self.bf16 and backend != "triton":
            raise ValueError(f"bf16 needs backend 'triton'; got backend={backend!r}")
        kernels = load_triton(interpret=backend == "interpret")
        if x.device not in self._packed:
            self._packed[x.device] = kernels.pack(self.layers, x.device)
        return kernels.run(self._packed[x.device], x, bf16=self.bf16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., d_in) → (..., d_out) float32; differentiable in x."""
        if self.layers is None:
            return self.general(x)
        d_in, d_out = self.layers[0].c_in, self.layers[-1].c_out
        if x.dim() < 1 or x.shape[-1] != d_in:
            raise ValueError(f"x must have last dimension d_in={d_in}; got shape {tuple(x.shape)}")
        backend = select_backend(self.backend, x.device)
        if backend != "torch" and self.kernel_reason is not None:
            self._kernel_fallback()
            return self.general(x)
        flat = x.reshape(-1, d_in).float().contiguous()
        if torch.is_grad_enabled() and flat.requires_grad:
            y = _Fused.apply(flat, self, backend)
        else:
            y = self.run(flat, backend)
        return y.reshape(*x.shape[:-1], d_out)


def fused_forward(model: nn.Module, x: torch.Tensor, backend: str | None = None) -> torch.Tensor:
    """One forward of ``model`` (an MLP or a :class:`FusedMLP`) on x (..., d_in) through the fused kernels.

    Builds the packed weights on every call; keep a :class:`FusedMLP` to reuse them.
    """
    mlp = model if isinstance(model, FusedMLP) else FusedMLP(model, backend)
    if backend is not None and mlp.backend != backend:
        mlp = FusedMLP(mlp.general, backend, mlp.bf16)
    return mlp(x)
