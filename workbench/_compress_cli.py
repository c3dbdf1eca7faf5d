"""Typer commands: ``workbench compress thz|acoustic ...`` and ``workbench bench compress``.

Torch, the physics models and ``workbench.compress`` are imported inside the commands, so that
registering them keeps ``workbench --help`` and the other commands fast.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

PTQ = ("rtn", "adadim", "flexround", "lrq")
METHODS = (*PTQ, "w8a8", "bcq", "alphatuning", "peqa", "prune-aligned", "prune-bed", "prune-dp")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _validate(kind: str, method: str, bits: int, sparsity: float, n: int, out: Path | None, model: Path | None) -> None:
    from .compress._data import KINDS
    from .compress._quant import MAX_BITS, MIN_BITS

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got method={method!r}")
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in [{MIN_BITS}, {MAX_BITS}]; got bits={bits}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got sparsity={sparsity}")
    if sparsity > 0 and method not in ("rtn", "prune-aligned", "prune-bed", "prune-dp"):
        raise ValueError(f"sparsity > 0 needs method rtn or prune-*; got method={method!r}, sparsity={sparsity}")
    if method.startswith("prune-") and sparsity == 0:
        raise ValueError(f"method {method} needs sparsity in (0, 1); got sparsity={sparsity}")
    if n < 64:
        raise ValueError(f"designs must be >= 64; got designs={n}")
    if out is not None and not out.parent.is_dir():
        raise ValueError(f"out must be in an existing folder; got out={out}")
    if model is not None and not model.is_file():
        raise ValueError(f"model must be an existing state-dict file; got model={model}")


def compress(
    kind: Annotated[str, typer.Argument(help="thz or acoustic: the surrogate shape and physics data.")],
    method: Annotated[str, typer.Option(help=f"One of {', '.join(METHODS)}.")] = "flexround",
    bits: Annotated[int, typer.Option(help="Weight bits (BCQ: bit planes).")] = 4,
    granularity: Annotated[
        str, typer.Option(help="Grid of rtn/flexround/lrq/peqa: tensor, channel, group, ic.")
    ] = "channel",
    group_size: Annotated[int | None, typer.Option(help="Input channels per group (granularity group).")] = None,
    symmetric: Annotated[bool, typer.Option(help="Signed codes, zero point 0.")] = False,
    sparsity: Annotated[float, typer.Option(help="Fraction of hidden-layer weights pruned in 1×N blocks.")] = 0.0,
    block: Annotated[int, typer.Option(help="N, output channels per pruning block.")] = 16,
    model: Annotated[Path | None, typer.Option(help="State dict of the kind's fp32 MLP; default: train one.")] = None,
    designs: Annotated[int, typer.Option(help="Physics designs (train + 25 % held out).")] = 2048,
    steps: Annotated[int, typer.Option(help="Training / fine-tuning / calibration steps.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of data, training and calibration.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the compressed model here (torch file).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compress the MLP of one surrogate kind and score it against held-out physics."""
    import torch

    from .compress import (
        QuantSpec,
        apply_masks,
        bcq,
        model_bytes,
        prune,
        ptq,
        quantizable_layers,
        save_compressed,
        sparse_model,
        tune_scales,
        w8a8,
    )
    from .compress._data import design_inputs, fit, make_mlp, masked_mse, physics_data, surrogate_error
    from .compress._layers import weight_matrix

    try:
        _validate(kind, method, bits, sparsity, designs, out, model)
        spec = QuantSpec(bits=bits, symmetric=symmetric, granularity=granularity, group_size=group_size)
        for name, layer in quantizable_layers(make_mlp(kind)):
            spec.check_shape(tuple(weight_matrix(layer).shape), name)
    except ValueError as error:
        raise _fail(str(error)) from None
    torch.set_num_threads(1)
    train, test = physics_data(kind, designs, seed).split(designs - designs // 4)
    fp32 = make_mlp(kind, seed)
    if model is None:
        fit(fp32, train, steps, 2e-3, seed)
    else:
        try:
            fp32.load_state_dict(torch.load(model, weights_only=True))
        except RuntimeError as error:
            raise _fail(f"model {model} does not fit the {kind} MLP: {error}") from None
        fp32.eval()
    _, calib = design_inputs(kind, 1024, seed + 1)
    start = time.perf_counter()
    task = (lambda m, i: masked_mse(m(train.x[i]), train.y[i], train.valid[i]), len(train.x))
    if method.startswith("prune-") or sparsity > 0:
        pruned, masks, _ = prune(fp32, sparsity, method.removeprefix("prune-") if method != "rtn" else "bed", block)
        fit(pruned, train, steps, 5e-4, seed, after_step=apply_masks(pruned, masks))
        compressed = sparse_model(pruned, masks, block, spec if method == "rtn" else None)
    elif method in PTQ or method == "peqa":
        compressed, _ = ptq(fp32, spec, "rtn" if method == "peqa" else method, calib, iters=steps)
        if method == "peqa":
            compressed, _ = tune_scales(compressed, *task, steps, seed=seed)
    elif method == "w8a8":
        compressed, _ = w8a8(fp32)
    else:
        compressed, _ = bcq(fp32, q=bits)
        if method == "alphatuning":
            compressed, _ = tune_scales(compressed, *task, steps, seed=seed)
    seconds = time.perf_counter() - start
    base, error = surrogate_error(fp32, test), surrogate_error(compressed, test)
    result = {
        "model": kind,
        "method": method,
        "bits": 32 if method.startswith("prune-") else 8 if method == "w8a8" else bits,
        "sparsity": sparsity,
        "error": error,
        "fp32_error": base,
        "added_error": error - base,
        "bytes": model_bytes(compressed),
        "fp32_bytes": model_bytes(fp32),
        "calibration_s": seconds,
    }
    if out is not None:
        meta = {"model": kind, "method": method, "bits": result["bits"], "sparsity": sparsity, "seed": seed}
        result["path"] = str(save_compressed(compressed, out, meta))
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    table = Table(title=f"compress {kind} ({method})")
    for key in result:
        table.add_column(key)
    table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in result.values()))
    Console().print(table)


def bench_compress(
    kinds: Annotated[str, typer.Option(help="Comma-separated surrogate kinds.")] = "thz,acoustic",
    size: Annotated[str, typer.Option(help="default (minutes on one core) or large.")] = "default",
    seed: Annotated[int, typer.Option(help="Seed of data, training and calibration.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for compress.json, compress.md and compress.png.")] = Path(
        "runs/bench/compress"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Methods × bits (8, 4, 3, 2) × sparsity (0, 50, 70, 80 %): error vs physics, bytes, calibration time."""
    from .compress._bench import markdown_table, run_bench, write_outputs
    from .compress._data import KINDS

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    bad = [k for k in chosen if k not in KINDS]
    if bad or not chosen or size not in ("default", "large"):
        raise _fail(f"kinds must be drawn from {KINDS} and size default|large; got kinds={kinds!r}, size={size!r}")
    log = (lambda _msg: None) if as_json else (lambda msg: Console(stderr=True).print(msg))
    result = run_bench(chosen, size, seed, log)
    result["paths"] = write_outputs(result, out)
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    typer.echo(markdown_table(result["rows"]))
    typer.echo(json.dumps({"goals": result["goals"], "peqa": result["peqa"], "paths": result["paths"]}, indent=2))


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the ``compress`` command to the main app and to the bench app."""
    app.command("compress")(compress)
    bench_app.command("compress")(bench_compress)
