"""Typer command ``workbench bench kernels``.

Torch and ``workbench.kernels`` are imported inside the command, so that registering it keeps
``workbench --help`` and the other commands fast.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def bench_kernels(
    kinds: Annotated[str, typer.Option(help="Comma-separated surrogate shapes: thz (4×256), acoustic (3×128).")] = (
        "thz,acoustic"
    ),
    batch: Annotated[int, typer.Option(help="Rows per call of the CPU rows.")] = 4096,
    repeats: Annotated[int, typer.Option(help="Timed calls per candidate (best is reported).")] = 20,
    compile_: Annotated[
        bool, typer.Option("--compile/--no-compile", help="Also time torch.compile of the fp32 model on the CPU.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of weights and inputs.")] = 0,
    num_envs: Annotated[int, typer.Option(help="Sub-environments of the end-to-end surrogate-env rows.")] = 256,
    env_steps: Annotated[int, typer.Option(help="Timed vector steps per end-to-end row (0: skip them).")] = 10,
    as_json: JsonFlag = False,
) -> None:
    """Fused MLP fast paths vs the fp32 torch surrogate (CPU; Triton rows on a CUDA GPU)."""
    from .kernels._bench import run_bench

    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    log = (lambda _msg: None) if as_json else (lambda msg: Console(stderr=True).print(msg))
    try:
        result = run_bench(chosen, batch, repeats, compile_, seed, log, num_envs, env_steps)
    except ValueError as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    table = Table(title=f"bench kernels (CPU: {result['cpu_clock']}; GPU: {result['gpu']})")
    for key in result["rows"][0]:
        table.add_column(key)
    for row in result["rows"]:
        table.add_row(*("-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    Console().print(table)
    if result["env_rows"]:
        env_table = Table(title="surrogate env steps/s, with and without the kernels (CPU process time)")
        for key in result["env_rows"][0]:
            env_table.add_column(key)
        for row in result["env_rows"]:
            env_table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
        Console().print(env_table)
    typer.echo(json.dumps({"cpu_goal": result["cpu_goal_fast_path_not_slower_than_fp32_eager"]}, indent=2))


def register(bench_app: typer.Typer) -> None:
    """Add ``kernels`` to the bench app."""
    bench_app.command("kernels")(bench_kernels)
