"""Typer commands: ``workbench compress thz|acoustic ...`` and ``workbench bench compress``.

Torch, the physics models and ``workbench.compress`` are imported inside the commands, so that
registering them keeps ``workbench --help`` and the other commands fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _validate(
    kind: str,
    method: str,
    bits: int,
    sparsity: float,
    n: int,
    out: Path | None,
    model: Path | None,
    rounding: str,
    act_asymmetric: bool,
) -> None:
    from .compress._methods import W8A8_ROUNDINGS
    from .compress._quant import MAX_BITS, MIN_BITS
    from .compress._surrogate import KINDS, METHODS

    if rounding not in W8A8_ROUNDINGS:
        raise ValueError(f"rounding must be one of {W8A8_ROUNDINGS}; got rounding={rounding!r}")
    if rounding != "rtn" and method != "w8a8":
        raise ValueError(f"rounding={rounding!r} needs method w8a8; got method={method!r}")
    if act_asymmetric and method != "w8a8":
        raise ValueError(f"act_asymmetric needs method w8a8; got method={method!r}")

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got method={method!r}")
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in [{MIN_BITS}, {MAX_BITS}]; got bits={bits}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got sparsity={sparsity}")
    if n < 16:
        raise ValueError(f"designs must be >= 16; got designs={n}")
    if out is not None and not out.parent.is_dir():
        raise ValueError(f"out must be in an existing folder; got out={out}")
    if model is not None and not model.is_file():
        raise ValueError(f"model must be an existing surrogate checkpoint; got model={model}")


def compress(
    kind: Annotated[str, typer.Argument(help="thz or acoustic: which surrogate.")],
    method: Annotated[
        str,
        typer.Option(
            help="rtn, adadim, flexround, lrq, peqa, bcq, alphatuning, w8a8, prune-aligned, prune-bed or prune-dp."
        ),
    ] = "flexround",
    bits: Annotated[int, typer.Option(help="Weight bits (BCQ: bit planes).")] = 4,
    granularity: Annotated[
        str, typer.Option(help="Grid of rtn/flexround/lrq/peqa: tensor, channel, group, ic.")
    ] = "channel",
    group_size: Annotated[int | None, typer.Option(help="Input channels per group (granularity group).")] = None,
    symmetric: Annotated[bool, typer.Option(help="Signed codes, zero point 0.")] = False,
    sparsity: Annotated[float, typer.Option(help="Fraction of hidden-layer weights pruned in 1×N blocks.")] = 0.0,
    block: Annotated[int, typer.Option(help="N, output channels per pruning block.")] = 16,
    smooth: Annotated[
        float | None, typer.Option(help="w8a8: SmoothQuant migration strength α in [0, 1] (default off).")
    ] = None,
    rotate: Annotated[bool, typer.Option(help="w8a8: Hadamard rotation of the inputs of power-of-two width.")] = False,
    float_inputs: Annotated[
        int,
        typer.Option(
            help="w8a8: layers that keep float inputs, those whose 8-bit input adds the most output error "
            "on the calibration designs (0: none)."
        ),
    ] = 0,
    rounding: Annotated[
        str,
        typer.Option(help="w8a8: rtn or flexround (learned rounding of the int8 weights, --iters steps per layer)."),
    ] = "rtn",
    act_asymmetric: Annotated[
        bool, typer.Option(help="w8a8: quantize each input row on an asymmetric grid with a zero point.")
    ] = False,
    model: Annotated[Path | None, typer.Option(help="Surrogate checkpoint; default: the shipped one.")] = None,
    designs: Annotated[
        int, typer.Option(help="Held-out physics designs for the error (and as many for tuning).")
    ] = 512,
    calib: Annotated[int, typer.Option(help="Sobol designs (no physics) for post-training calibration.")] = 1024,
    iters: Annotated[int, typer.Option(help="FlexRound / LRQ reconstruction steps.")] = 500,
    steps: Annotated[int, typer.Option(help="PEQA / AlphaTuning scale-tuning steps.")] = 300,
    epochs: Annotated[int, typer.Option(help="Fine-tuning epochs after pruning.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the designs and the calibration.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the compressed surrogate here (loadable as --model).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Compress the network inside a surrogate and score it against held-out physics designs."""
    import torch

    from .compress import (
        QuantSpec,
        calibration_inputs,
        compress_surrogate,
        model_bytes,
        save_surrogate,
        surrogate_error,
    )
    from .compress._surrogate import ERROR_NAMES, NEEDS_DATA, trunk
    from .surrogates import load, make_dataset

    try:
        _validate(kind, method, bits, sparsity, designs, out, model, rounding, act_asymmetric)
        spec = QuantSpec(bits=bits, symmetric=symmetric, granularity=granularity, group_size=group_size)
        fp32 = load(kind, model)
        for name, layer in trunk(fp32).named_modules():
            if isinstance(layer, torch.nn.Linear):
                spec.check_shape(tuple(layer.weight.shape), name)
    except ValueError as error:
        raise _fail(str(error)) from None
    torch.set_num_threads(1)
    env = fp32.metadata["env"]
    test = make_dataset(kind, designs, seed + 1, env=env)
    tune = make_dataset(kind, designs, seed + 2, env=env) if method in NEEDS_DATA or sparsity > 0 else None
    inputs = calibration_inputs(fp32, calib, seed + 3)
    try:
        compressed, seconds = compress_surrogate(
            fp32,
            method,
            spec,
            inputs,
            iters=iters,
            sparsity=sparsity,
            block=block,
            data=tune,
            steps=steps,
            epochs=epochs,
            smooth=smooth,
            rotate=rotate,
            float_inputs=float_inputs,
            rounding=rounding,
            act_symmetric=not act_asymmetric,
            seed=seed,
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    base, error = surrogate_error(fp32, test), surrogate_error(compressed, test)
    result = {
        "model": kind,
        "method": method,
        "bits": compressed.metadata["compression"]["bits"],
        "sparsity": sparsity,
        "metric": ERROR_NAMES[kind],
        "error": error,
        "fp32_error": base,
        "added_error": error - base,
        "bytes": model_bytes(trunk(compressed)),
        "fp32_bytes": model_bytes(trunk(fp32)),
        "calibration_s": seconds,
    }
    if out is not None:
        result["path"] = str(save_surrogate(compressed, out))
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
    size: Annotated[str, typer.Option(help="default (tens of minutes on one core) or large.")] = "default",
    bits: Annotated[str, typer.Option(help="Comma-separated weight bit widths of the quantization rows.")] = "8,4,3,2",
    sparsities: Annotated[
        str, typer.Option(help="Comma-separated pruning sparsities, each in (0, 1).")
    ] = "0.5,0.7,0.8",
    seed: Annotated[int, typer.Option(help="Seed of data, training and calibration.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for compress.json, compress.md and compress.png.")] = Path(
        "runs/bench/compress"
    ),
    as_json: JsonFlag = False,
) -> None:
    """The shipped surrogates compressed: methods × bits × sparsity: error vs physics, bytes, calibration time."""
    import dataclasses

    from .compress._bench import BenchSize, markdown_table, run_bench, write_outputs
    from .compress._quant import QuantSpec
    from .compress._surrogate import KINDS

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    bad = [k for k in chosen if k not in KINDS]
    try:
        if bad or not chosen:
            raise ValueError(f"kinds must be drawn from {KINDS}; got kinds={kinds!r}")
        widths = tuple(int(b) for b in bits.split(","))
        for width in (*widths, 4):
            QuantSpec(bits=width)  # 4 bits always runs: the goals compare against RTN-4
        fractions = tuple(float(f) for f in sparsities.split(","))
        if not all(0.0 < f < 1.0 for f in fractions):
            raise ValueError(f"sparsities must lie in (0, 1); got sparsities={sparsities!r}")
        grid = dataclasses.replace(BenchSize.named(size), bits=tuple(dict.fromkeys((*widths, 4))), sparsities=fractions)
    except ValueError as error:
        raise _fail(str(error)) from None
    log = (lambda _msg: None) if as_json else (lambda msg: Console(stderr=True).print(msg))
    result = run_bench(chosen, grid, seed, log)
    result["paths"] = write_outputs(result, out)
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    typer.echo(markdown_table(result["rows"]))
    typer.echo(json.dumps({"goals": result["goals"], "peqa": result["peqa"], "paths": result["paths"]}, indent=2))


def bench_compress_search(
    kind: Annotated[str, typer.Argument(help="thz (field_enhancement) or acoustic (quiet).")],
    seeds: Annotated[int, typer.Option(help="Seeds 0…seeds − 1, each searched with both surrogates.")] = 3,
    method: Annotated[str, typer.Option(help="flexround or lrq: the quantizer of the compressed arm.")] = "flexround",
    bits: Annotated[int, typer.Option(help="Weight bits of the compressed arm.")] = 4,
    agent: Annotated[
        str | None, typer.Option(help="Agent searching the surrogate (default: cmaes THz, ddqn acoustic).")
    ] = None,
    physics_budget: Annotated[int | None, typer.Option(help="Physics budget (default 1000 THz, 600 acoustic).")] = None,
    verify: Annotated[
        int | None, typer.Option(help="Designs verified per round (default 100 THz, 50 acoustic).")
    ] = None,
    round_steps: Annotated[int | None, typer.Option(help="Agent iterations per round (default 5000 / 2000).")] = None,
    runs_root: Annotated[Path, typer.Option(help="Parent folder of the run folders.")] = Path(
        "runs/bench-compress-search"
    ),
    out: Annotated[Path | None, typer.Option(help="Also write the JSON here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Surrogate-assisted search served by the fp32 surrogate and by its quantized copy: same seeds and budget."""
    from .compress._loop import compare_in_loop

    try:
        if method not in ("flexround", "lrq"):
            raise ValueError(f"method must be flexround or lrq; got method={method!r}")
        if out is not None and not out.parent.is_dir():
            raise ValueError(f"out must be in an existing folder; got out={out}")
        log = (lambda _msg: None) if as_json else (lambda msg: Console(stderr=True).print(msg))
        result = compare_in_loop(
            kind, seeds, method, bits, physics_budget, verify, round_steps, agent, runs_root=str(runs_root), log=log
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    if out is not None:
        out.write_text(json.dumps(result, indent=2, allow_nan=False))
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    arm = f"{method}{bits}"
    table = Table(title=f"{kind}: best physics-verified objective, {result['physics_budget']} physics evaluations")
    for column in ("seed", "fp32 surrogate", f"{arm} surrogate", f"difference ({result['difference_unit']})"):
        table.add_column(column)
    for row in result["seeds"]:
        table.add_row(
            str(row["seed"]),
            f"{row['fp32']['objective']:.6g}",
            f"{row[arm]['objective']:.6g}",
            f"{row['difference']:+.3g}",
        )
    table.add_row(
        "mean",
        f"{result['mean_fp32_objective']:.6g}",
        f"{result['mean_compressed_objective']:.6g}",
        f"{result['mean_difference']:+.3g}",
    )
    Console().print(table)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``compress`` to the main app and ``compress``, ``compress-search`` to the bench app."""
    app.command("compress")(compress)
    bench_app.command("compress")(bench_compress)
    bench_app.command("compress-search")(bench_compress_search)
