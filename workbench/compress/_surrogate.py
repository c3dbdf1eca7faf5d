"""Compression of the shipped surrogates (``workbench.surrogates``): their trunk networks, calibration
designs from the env's design space, task losses on physics data, accuracy against the physics,
and compressed surrogate checkpoints.

The compressed network is the MLP inside a surrogate: the trunk of a :class:`ThzSurrogate` (design
features → rational-form coefficients and per-frequency outputs) and every member of an
:class:`AcousticSurrogate` ensemble. The compressed surrogate is an object of the same class with
the same metadata whose network holds :class:`CompressedLinear` layers, so it serves the physics
protocols (``spectra``; ``band_level``, ``first_coupled_frequency``) and plugs into the envs as
``model=`` unchanged.
"""

from __future__ import annotations

import copy
import json
import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..surrogates import AcousticSurrogate, Dataset, ThzSurrogate, evaluate_acoustic, evaluate_thz, sobol_indices
from ..surrogates._acoustic import _loss as acoustic_loss
from ..surrogates._acoustic import _outputs as acoustic_outputs
from ..surrogates._acoustic import acoustic_features
from ..surrogates._checkpoints import _rebuild
from ..surrogates._datasets import config_from_settings
from ..surrogates._thz import _loss as thz_loss
from ..surrogates._thz import _targets as thz_targets
from ..surrogates._thz import thz_features
from ._layers import load_compressed, quantizable_layers, save_compressed
from ._methods import bcq, prune, ptq, sparse_model, tune_scales, w8a8
from ._quant import QuantSpec

KINDS = ("thz", "acoustic")
METHODS = (
    "rtn",
    "adadim",
    "flexround",
    "lrq",
    "peqa",
    "bcq",
    "alphatuning",
    "w8a8",
    "prune-aligned",
    "prune-bed",
    "prune-dp",
)
"""Methods of :func:`compress_surrogate`."""
NEEDS_DATA = ("peqa", "alphatuning", "prune-aligned", "prune-bed", "prune-dp")
"""Methods that train on physics data (scales only, or fine-tuning after pruning)."""
ERROR_NAMES = {"thz": "median_abs_log10_fe_error", "acoustic": "j_mae_db"}
"""The accuracy metric of each surrogate kind: median |Δlog10 FE| over valid band points (THz), J MAE in dB (acoustic)."""

Surrogate = ThzSurrogate | AcousticSurrogate


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")


def trunk(surrogate: Surrogate) -> nn.Module:
    """The network that is compressed: the THz trunk MLP, or the whole acoustic ensemble."""
    return surrogate.net.net if surrogate.kind == "thz" else surrogate.net


def hidden_layers(module: nn.Module) -> list[str]:
    """Names of the hidden Linear layers of every MLP in ``module`` (each ``nn.Sequential``'s Linears but its first and last)."""
    names = []
    for prefix, seq in module.named_modules():
        if isinstance(seq, nn.Sequential):
            linears = [name for name, m in seq.named_children() if isinstance(m, nn.Linear)]
            names += [f"{prefix}.{name}" if prefix else name for name in linears[1:-1]]
    return names


def with_trunk(surrogate: Surrogate, network: nn.Module, compression: Mapping[str, Any] | None = None) -> Surrogate:
    """A new surrogate of the same class and metadata whose trunk is ``network`` (``surrogate`` is unchanged).

    ``compression`` (JSON-able), if given, is stored as ``metadata["compression"]``.
    """
    metadata = copy.deepcopy(surrogate.metadata)
    if compression is not None:
        metadata["compression"] = dict(compression)
    if surrogate.kind == "thz":
        net = copy.deepcopy(surrogate.net)
        net.net = network
        return ThzSurrogate(metadata, net.eval())
    return AcousticSurrogate(metadata, network.eval())


def thz_log_t(surrogate: ThzSurrogate, calib: torch.Tensor) -> Callable[[nn.Module], torch.Tensor]:
    """For trunk inputs ``calib`` (n, n_features) of a THz surrogate: trunk → predicted ln|t| (n, m) on the band grid.

    The surrogate's error is |Δlog10 FE| = |Δlog10 |t||, which the rational-form head can amplify
    far beyond the trunk outputs' own change; the Rayleigh frequencies the head needs are read back
    from the standardised features.
    """
    std = torch.as_tensor(surrogate.features.std[11:13], dtype=torch.float32)
    mean = torch.as_tensor(surrogate.features.mean[11:13], dtype=torch.float32)

    def log_t(network: nn.Module) -> torch.Tensor:
        return with_trunk(surrogate, network).net(calib, torch.exp(calib[:, 11:13] * std + mean))[0]

    return log_t


def design_grid(surrogate: Surrogate) -> Any:
    """The env design grid of the surrogate's training box (``DesignGrid`` or ``CavityGrid``)."""
    from envs.nanogap import DesignGrid

    if surrogate.kind == "thz":
        return DesignGrid(config_from_settings("thz", surrogate.metadata["env"]))
    return surrogate.grid


def network_inputs(surrogate: Surrogate, index: np.ndarray) -> torch.Tensor:
    """(n, d) int64 grid indices of valid designs → (n, n_features) float32 standardised trunk inputs."""
    grid = design_grid(surrogate)
    if surrogate.kind == "thz":
        raw = thz_features(grid.lengths(index), surrogate.eps, surrogate.n_max)
    else:
        raw = acoustic_features(grid.columns(index), index[:, 0], surrogate.config)
    return torch.as_tensor(surrogate.features(raw), dtype=torch.float32)


def calibration_inputs(surrogate: Surrogate, n: int, seed: int) -> torch.Tensor:
    """Trunk inputs of ``n`` scrambled-Sobol designs of the env's valid design space, (n, n_features) float32.

    No physics is run: post-training quantization reconstructs the fp32 network's outputs.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got n={n!r}")
    return network_inputs(surrogate, sobol_indices(design_grid(surrogate), n, seed))


def task_loss(surrogate: Surrogate, data: Dataset) -> tuple[Callable[[nn.Module, torch.Tensor], torch.Tensor], int]:
    """The surrogate's own training loss on physics ``data``, as (loss(net, rows), n_rows).

    ``net`` is a network shaped like ``surrogate.net`` (a ``ThzNet`` or an ensemble; the acoustic
    loss averages the members'); ``rows`` is a (batch,) int64 index into the data.
    """
    if data.kind != surrogate.kind:
        raise ValueError(f"data kind must be {surrogate.kind!r}; got {data.kind!r}")
    if surrogate.kind == "thz":
        raw = thz_features(data.designs, surrogate.eps, surrogate.n_max)
        arrays = [surrogate.features(raw), np.exp(raw[:, 11:13]), *thz_targets(data)]
        tensors = [torch.as_tensor(a, dtype=torch.float32) for a in arrays]
        return (lambda net, rows: thz_loss(net, tuple(t[rows] for t in tensors))), len(data)
    x = network_inputs(surrogate, data.index)
    y = torch.as_tensor(
        surrogate.outputs(acoustic_outputs(data, surrogate.components, surrogate.curve_mean)), dtype=torch.float32
    )

    def loss(net: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        return torch.stack([acoustic_loss(member, (x[rows], y[rows])) for member in net.members]).mean()

    return loss, len(data)


def surrogate_error(surrogate: Surrogate, test: Dataset) -> float:
    """Error against the physics on held-out ``test`` designs (:data:`ERROR_NAMES`)."""
    evaluate = evaluate_thz if surrogate.kind == "thz" else evaluate_acoustic
    return float(evaluate(surrogate, test)[ERROR_NAMES[surrogate.kind]])


def fine_tune_pruned(
    surrogate: Surrogate, masks: dict[str, torch.Tensor], data: Dataset, epochs: int, seed: int
) -> None:
    """Fine-tune a pruned surrogate in place with its own training (``surrogate.fit``), pruned weights held at 0.

    ``masks`` maps trunk layer names to (C_out, C_in) keep masks. The gradient of every pruned
    weight is zeroed, so Adam never moves it (its moments stay 0).
    """
    layers = dict(quantizable_layers(trunk(surrogate)))
    handles = [layers[name].weight.register_hook(lambda g, m=mask: g * m.to(g.dtype)) for name, mask in masks.items()]
    try:
        surrogate.fit(data, epochs, lr=5e-4, seed=seed)
    finally:
        for handle in handles:
            handle.remove()


def save_surrogate(surrogate: Surrogate, path: str | Path) -> Path:
    """Write a compressed surrogate (packed trunk and the surrogate's metadata) to ``path``."""
    meta = {"model": surrogate.kind, "surrogate": json.dumps(surrogate.metadata, allow_nan=False, sort_keys=True)}
    return save_compressed(trunk(surrogate), path, meta)


def load_surrogate(kind: str, path: str | Path, env: Any = None) -> Surrogate:
    """Read a compressed surrogate written by :func:`save_surrogate`.

    Args:
        kind: ``"thz"`` or ``"acoustic"``; a checkpoint of the other kind is refused.
        path: the file.
        env: an env config (mapping or config object) the checkpoint must agree with.

    Raises:
        ValueError: an unreadable file, a checkpoint of another kind, or env settings that disagree.
    """
    _check_kind(kind)
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"compressed surrogate {file} does not exist")
    try:
        blob = torch.load(file, map_location="cpu", weights_only=True)
        metadata = json.loads(blob["meta"]["surrogate"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f"compressed surrogate {file} is not a readable compressed surrogate: {error}") from None
    if blob["meta"].get("model") != kind or metadata.get("kind") != kind:
        raise ValueError(f"compressed surrogate {file} holds model={blob['meta'].get('model')!r}; asked for {kind!r}")
    shell = _rebuild(metadata)
    surrogate = with_trunk(shell, load_compressed(file, trunk(shell), expect={"model": kind}))
    if env is not None:
        from envs.nanogap import NanogapConfig
        from envs.plate_cavity import PlateCavityConfig

        config_class = NanogapConfig if kind == "thz" else PlateCavityConfig
        surrogate.check(env if isinstance(env, config_class) else config_class.from_mapping(env))
    return surrogate


def _with_net(surrogate: Surrogate, net: nn.Module) -> Surrogate:
    return type(surrogate)(copy.deepcopy(surrogate.metadata), net.eval())


def compress_surrogate(
    surrogate: Surrogate,
    method: str = "flexround",
    spec: QuantSpec | None = None,
    calib: torch.Tensor | None = None,
    *,
    iters: int = 500,
    sparsity: float = 0.0,
    block: int = 16,
    data: Dataset | None = None,
    steps: int = 300,
    epochs: int = 10,
    smooth: float | None = None,
    rotate: bool = False,
    float_inputs: int = 0,
    rounding: str = "rtn",
    act_symmetric: bool = True,
    seed: int = 0,
) -> tuple[Surrogate, float]:
    """Compress the network inside ``surrogate`` (not modified); returns (compressed surrogate, seconds).

    Args:
        surrogate: a loaded surrogate (``workbench.surrogates.load``).
        method: one of :data:`METHODS`. PTQ methods reconstruct the whole trunk's output on
            ``calib``; ``"peqa"`` / ``"alphatuning"`` start from RTN / BCQ and train only the
            scales for ``steps`` steps with the surrogate's own loss on ``data``; ``"prune-*"``
            prune the hidden layers of every MLP in 1×N blocks (aligned, BED, exact optimum) to
            ``sparsity`` and fine-tune with the surrogate's own training for ``epochs`` epochs on
            ``data``, pruned weights held at 0. ``"rtn"`` with ``sparsity`` > 0 prunes with BED,
            fine-tunes, then stores RTN codes of the kept weights.
        spec: the integer grid (default 4-bit asymmetric per channel); for ``"bcq"`` /
            ``"alphatuning"`` its ``bits`` is the number of bit planes.
        calib: (n, n_features) trunk inputs (:func:`calibration_inputs`), for the methods that calibrate.
        iters: FlexRound / LRQ reconstruction steps.
        sparsity, block: pruning fraction of each hidden layer, in [0, 1), and N.
        data: physics data of the surrogate's kind (:data:`NEEDS_DATA` methods).
        steps, epochs: scale-tuning steps; fine-tuning epochs after pruning.
        smooth: ``"w8a8"`` only: SmoothQuant's migration strength α (None: off).
        rotate: ``"w8a8"`` only: Hadamard rotation of the inputs of power-of-two width.
        float_inputs: ``"w8a8"`` only: how many layers keep float inputs, those whose 8-bit
            input adds the most error on ``calib`` (mixed precision; 0: none), scored on the
            predicted ln|t| for THz (:func:`thz_log_t`), on the ensemble output for acoustic.
        rounding: ``"w8a8"`` only: ``"rtn"`` or ``"flexround"`` (learned rounding of the int8
            weights against each layer's fp32 output, ``iters`` steps per layer; see :func:`w8a8`).
        act_symmetric: ``"w8a8"`` only: False quantizes each input row on an asymmetric grid
            with a zero point (for the one-sided inputs that follow SiLU).
        seed: minibatch seed.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got method={method!r}")
    if not (isinstance(sparsity, float | int) and not isinstance(sparsity, bool) and 0.0 <= sparsity < 1.0):
        raise ValueError(f"sparsity must be in [0, 1); got sparsity={sparsity!r}")
    pruning = method.startswith("prune-") or sparsity > 0
    if pruning and method not in ("rtn", "prune-aligned", "prune-bed", "prune-dp"):
        raise ValueError(f"sparsity > 0 needs method rtn or prune-*; got method={method!r}, sparsity={sparsity}")
    if method.startswith("prune-") and sparsity == 0:
        raise ValueError(f"method {method} needs sparsity in (0, 1); got sparsity={sparsity}")
    if (method in NEEDS_DATA or pruning) and data is None:
        raise ValueError(f"method {method!r} (sparsity {sparsity}) needs physics data; got data=None")
    if (smooth is not None or rotate or float_inputs or rounding != "rtn" or not act_symmetric) and method != "w8a8":
        raise ValueError(
            f"smooth, rotate, float_inputs, rounding and act_symmetric are w8a8 options; got smooth={smooth}, "
            f"rotate={rotate}, float_inputs={float_inputs}, rounding={rounding!r}, act_symmetric={act_symmetric} "
            f"with {method=}"
        )
    spec = QuantSpec(bits=4) if spec is None else spec
    network = trunk(surrogate)
    for name, layer in quantizable_layers(network):
        spec.check_shape(tuple(layer.weight.shape), name)
    bits = 32 if method.startswith("prune-") else 8 if method == "w8a8" else spec.bits
    record = {"method": method, "bits": bits, "sparsity": sparsity, "spec": asdict(spec), "seed": seed}
    start = time.perf_counter()
    if pruning:
        selector = "bed" if method == "rtn" else method.removeprefix("prune-")
        pruned, masks, _ = prune(network, sparsity, selector, block, layers=hidden_layers(network))
        tuned = with_trunk(surrogate, pruned)
        fine_tune_pruned(tuned, masks, data, epochs, seed)
        packed = sparse_model(trunk(tuned), masks, block, spec if method == "rtn" else None)
        out = with_trunk(surrogate, packed, record | {"block": block})
    elif method == "w8a8":
        outputs = thz_log_t(surrogate, calib) if float_inputs and surrogate.kind == "thz" else None
        network = w8a8(
            network,
            smooth=smooth,
            calib=calib,
            rotate=rotate,
            float_inputs=float_inputs,
            outputs=outputs,
            rounding=rounding,
            iters=iters,
            act_symmetric=act_symmetric,
            seed=seed,
        )[0]
        options = {
            "smooth": smooth,
            "rotate": rotate,
            "float_inputs": float_inputs,
            "rounding": rounding,
            "act_symmetric": act_symmetric,
        }
        out = with_trunk(surrogate, network, record | options)
    elif method in ("bcq", "alphatuning"):
        out = with_trunk(surrogate, bcq(network, q=spec.bits)[0], record)
    else:
        ptq_method = "rtn" if method == "peqa" else method

        def reconstruct(mlp: nn.Module) -> nn.Module:
            return ptq(mlp, spec, ptq_method, calib, iters=iters, blocks="model", seed=seed)[0]

        if surrogate.kind == "thz":
            compressed = reconstruct(network)
        else:  # each ensemble member reconstructs its own output
            compressed = copy.deepcopy(network)
            compressed.members = nn.ModuleList(reconstruct(member) for member in network.members)
        out = with_trunk(surrogate, compressed, record)
    if method in ("peqa", "alphatuning"):
        loss, n = task_loss(out, data)
        out = _with_net(out, tune_scales(out.net, loss, n, steps, seed=seed)[0])
    return out, time.perf_counter() - start
