"""Compression of small surrogate networks: learned-rounding quantization, scale-only fine-tuning,
binary-coding quantization, W8A8 and unaligned 1×N block pruning, with packed storage.

Methods (each works on any network built from ``nn.Linear`` and 1×1 convolutions):

* round-to-nearest (:func:`ptq` ``method="rtn"``; per tensor / channel / group / input channel,
  symmetric or asymmetric, :class:`QuantSpec`);
* AdaDim (``method="adadim"``): per layer, per-output- or per-input-channel grid, whichever
  reconstructs the layer output better on calibration inputs;
* FlexRound (``method="flexround"``): Ŵ = s₁·(clamp(⌊W ⊘ (s₁⊙S₂⊙s₃⊙s₄)⌉ + z) − z), every factor a
  learned log starting at 0 (so the start is RTN bit for bit), trained by layer-wise or
  whole-model output reconstruction on calibration inputs;
* LRQ (``method="lrq"``): FlexRound with log S₂ = L·U + r + c of rank k;
* PEQA and AlphaTuning (:func:`tune_scales`): only the scales (or BCQ α) of a compressed model
  are trained on task data; integer codes and bit planes stay frozen;
* BCQ (:func:`bcq`): W ≈ Σᵢ diag(αᵢ)·Bᵢ, greedy start plus alternating refinement;
* W8A8 (:func:`w8a8`): int8 weights and dynamic per-row int8 activations on a symmetric grid or
  an asymmetric one with a per-row zero point (:func:`row_grid`), optionally with the layers whose
  8-bit input matters most on calibration data (:func:`act_sensitivity`) kept float;
* 1×N block pruning (:func:`prune`): aligned blocks, BED (:func:`bed_select`) or the exact
  optimum (:func:`optimal_select`); fine-tune with :func:`apply_masks`, pack with :func:`sparse_model`.

The shipped surrogates (``workbench.surrogates``) are compressed by :func:`compress_surrogate`
(the network inside: the THz trunk, every acoustic ensemble member; :func:`trunk`), calibrated on
Sobol designs of the env's design space (:func:`calibration_inputs`), scored against the physics
(:func:`surrogate_error`), saved and loaded (:func:`save_surrogate`, :func:`load_surrogate`; also
``workbench.surrogates.load``), and compared inside the search loop (:func:`compare_in_loop`).

Compressed networks are ordinary ``nn.Module`` copies of the original whose layers are
:class:`CompressedLinear` (packed int8 / two int4 per byte / BCQ bit planes / unaligned block
lists, with the tile-panel gather form for kernels; layouts in ``workbench.compress._pack``); :func:`save_compressed` and
:func:`load_compressed` store and rebuild them.
"""

from ._bed import BlockSelection, aligned_select, bed_select, optimal_select
from ._layers import (
    CompressedLinear,
    LayerPayload,
    compress_model,
    compressed_layers,
    hadamard,
    load_compressed,
    model_bytes,
    quantizable_layers,
    row_grid,
    save_compressed,
)
from ._loop import compare_in_loop
from ._methods import (
    PRUNE_METHODS,
    PTQ_METHODS,
    Report,
    act_sensitivity,
    apply_masks,
    bcq,
    prune,
    ptq,
    select_blocks,
    sparse_model,
    tune_scales,
    w8a8,
)
from ._pack import from_blocks, from_panels, pack_bits, pack_int4, to_blocks, to_panels, unpack_bits, unpack_int4
from ._quant import (
    FlexRoundQuantizer,
    LRQQuantizer,
    QuantSpec,
    adadim_choice,
    bcq_init,
    bcq_weight,
    dequantize,
    quantize,
    rtn_params,
)
from ._surrogate import (
    ERROR_NAMES,
    calibration_inputs,
    compress_surrogate,
    load_surrogate,
    save_surrogate,
    surrogate_error,
    trunk,
)

__all__ = [
    "act_sensitivity",
    "hadamard",
    "row_grid",
    "compare_in_loop",
    "trunk",
    "surrogate_error",
    "save_surrogate",
    "load_surrogate",
    "compress_surrogate",
    "calibration_inputs",
    "ERROR_NAMES",
    "PRUNE_METHODS",
    "PTQ_METHODS",
    "BlockSelection",
    "CompressedLinear",
    "FlexRoundQuantizer",
    "LRQQuantizer",
    "LayerPayload",
    "QuantSpec",
    "Report",
    "adadim_choice",
    "aligned_select",
    "apply_masks",
    "bcq",
    "bcq_init",
    "bcq_weight",
    "bed_select",
    "compress_model",
    "compressed_layers",
    "dequantize",
    "from_blocks",
    "from_panels",
    "load_compressed",
    "model_bytes",
    "optimal_select",
    "pack_bits",
    "pack_int4",
    "prune",
    "ptq",
    "quantizable_layers",
    "quantize",
    "rtn_params",
    "save_compressed",
    "select_blocks",
    "sparse_model",
    "to_blocks",
    "to_panels",
    "tune_scales",
    "unpack_bits",
    "unpack_int4",
    "w8a8",
]
